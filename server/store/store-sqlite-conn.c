/* store-sqlite-conn.c: connections, their statement caches and the reader pool.
 *
 * Connections are opened SQLITE_OPEN_NOMUTEX: each is used by one thread at a
 * time (the writer by the engine thread, a reader by whoever took it from the
 * pool), so SQLite's per-connection mutex would only cost time.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store-sqlite.h"

/* Bounded page caches keep the store's memory flat however many runs it
 * holds; the OS page cache does the rest. journal_size_limit stops a WAL that
 * once grew large (a burst of writes with a reader holding a snapshot) from
 * keeping its disk space forever. */
static int store_conn_pragmas(StoreConn *c, bool writer, bool sync_full, StoreError *e)
{
    char sql[256];

    if (writer)
        snprintf(sql, sizeof(sql),
                 "PRAGMA foreign_keys = ON; PRAGMA synchronous = %s; PRAGMA cache_size = -%d; "
                 "PRAGMA journal_size_limit = %d;",
                 sync_full ? "FULL" : "NORMAL", STORE_WRITER_CACHE_KIB, STORE_WAL_LIMIT_BYTES);
    else
        snprintf(sql, sizeof(sql), "PRAGMA query_only = ON; PRAGMA cache_size = -%d;", STORE_READER_CACHE_KIB);
    return store_conn_exec(c, sql, e);
}

/* DEFENSIVE refuses writes that could corrupt the file (writable_schema and
 * friends); the schema is trusted by nothing but this code. */
static void store_conn_harden(sqlite3 *db)
{
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
}

int store_conn_open(StoreConn *c, const char *path, bool writer, bool sync_full, StoreError *e)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    int rc;

    memset(c, 0, sizeof(*c));
    rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        int r = store_err_sqlite(e, c->db, rc, "cannot open");
        sqlite3_close(c->db);
        c->db = NULL;
        return r;
    }
    store_conn_harden(c->db);
    return store_conn_pragmas(c, writer, sync_full, e);
}

void store_conn_close(StoreConn *c)
{
    if (!c->db)
        return;
    for (size_t i = 0; i < _STORE_STMT_MAX; i++)
        sqlite3_finalize(c->stmts[i]);
    memset(c->stmts, 0, sizeof(c->stmts));
    sqlite3_close(c->db);
    c->db = NULL;
}

/* Returns a SQLite result code, so that the caller's error path can tell a
 * disk-full from anything else. PERSISTENT: the statement lives as long as
 * the connection, so SQLite takes its memory from the heap, not lookaside. */
int store_conn_stmt(StoreConn *c, StoreStmt id, sqlite3_stmt **ret)
{
    int rc;

    if (!c->stmts[id]) {
        rc = sqlite3_prepare_v3(c->db, store_sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id], NULL);
        if (rc != SQLITE_OK)
            return rc;
    }
    *ret = c->stmts[id];
    return SQLITE_OK;
}

/* Resetting at once matters for readers: a statement left un-reset keeps its
 * read transaction and so pins an old WAL snapshot, which stops checkpoints. */
void store_stmt_donep(sqlite3_stmt **st)
{
    if (!*st)
        return;
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
}

int store_conn_exec(StoreConn *c, const char *sql, StoreError *e)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return store_err_sqlite(e, c->db, rc, sql);
    return 0;
}

int store_pool_open(StoreSqlite *s, unsigned n, StoreError *e)
{
    int r;

    s->readers = calloc(n, sizeof(StoreConn));
    if (!s->readers)
        return store_err(e, -ENOMEM, "store %s: out of memory", s->path);
    for (unsigned i = 0; i < n; i++) {
        r = store_conn_open(&s->readers[i], s->path, false, false, e);
        if (r < 0) {
            s->n_readers = i + 1;
            return store_err_wrap(e, r, "store %s: reader connection", s->path);
        }
        s->readers[i].next_free = s->pool_free;
        s->pool_free = &s->readers[i];
    }
    s->n_readers = n;
    return 0;
}

/* The caller has stopped every thread that reads, so all readers are free. */
void store_pool_close(StoreSqlite *s)
{
    for (unsigned i = 0; i < s->n_readers; i++)
        store_conn_close(&s->readers[i]);
    free(s->readers);
    s->readers = NULL;
    s->n_readers = 0;
    s->pool_free = NULL;
}

StoreConn *store_reader_get(StoreSqlite *s)
{
    StoreConn *c;

    pthread_mutex_lock(&s->pool_lock);
    while (!s->pool_free)
        pthread_cond_wait(&s->pool_cond, &s->pool_lock);
    c = s->pool_free;
    s->pool_free = c->next_free;
    pthread_mutex_unlock(&s->pool_lock);
    return c;
}

void store_reader_put(StoreSqlite *s, StoreConn *c)
{
    pthread_mutex_lock(&s->pool_lock);
    c->next_free = s->pool_free;
    s->pool_free = c;
    pthread_cond_signal(&s->pool_cond);
    pthread_mutex_unlock(&s->pool_lock);
}

int store_reader_begin(StoreReader *rd)
{
    sqlite3_stmt *st = NULL;
    int rc;

    rc = store_conn_stmt(rd->c, STORE_STMT_BEGIN_READ, &st);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_OK)
        return store_errno_from_sqlite(rd->c->db, rc);
    sqlite3_reset(st);
    rd->in_tx = true;
    return 0;
}

void store_reader_donep(StoreReader *rd)
{
    sqlite3_stmt *st;

    if (!rd->c)
        return;
    if (rd->in_tx && store_conn_stmt(rd->c, STORE_STMT_ROLLBACK, &st) == SQLITE_OK) {
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    store_reader_put(rd->s, rd->c);
    rd->c = NULL;
}
