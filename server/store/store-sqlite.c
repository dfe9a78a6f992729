/* store-sqlite.c: the SQLite store: open, close, transactions, health.
 *
 * The tables' operations live in store-sqlite-runs.c, -events.c, -dlq.c and
 * -cache.c; connections in -conn.c; the schema in -schema.c. What is
 * committed when, and what survives a crash, is in docs/durability.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "store-sqlite.h"

static void store_sqlite_free(StoreSqlite *s)
{
    if (!s)
        return;
    store_pool_close(s);
    if (s->tx == STORE_TX_OPEN && s->writer.db && !sqlite3_get_autocommit(s->writer.db))
        (void)sqlite3_exec(s->writer.db, "ROLLBACK", NULL, NULL, NULL);
    store_conn_close(&s->writer);
    /* Only after SQLite has closed its own descriptors: closing any
     * descriptor of the file drops the process's POSIX locks on it. */
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    pthread_cond_destroy(&s->pool_cond);
    pthread_mutex_destroy(&s->pool_lock);
    store_tail_free(&s->tail);
    free(s->path);
    free(s);
}

static void store_sqlite_freep(StoreSqlite **s) { store_sqlite_free(*s); }

/* Two flowd processes on one file would both resume the same runs after a
 * crash, so the second is refused. The descriptor also creates the file with
 * mode 0600 (SQLite gives its -wal and -shm files the same mode): runs hold
 * tenants' inputs and outputs. flock() does not interact with SQLite's POSIX
 * locks. */
static int store_sqlite_lock(StoreSqlite *s, bool *ret_created, StoreError *e)
{
    bool created = true;
    int fd;

    fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {
        created = false;
        fd = open(s->path, O_RDWR | O_CLOEXEC);
    }
    if (fd < 0)
        return store_err(e, -errno, "store %s: cannot open: %s", s->path, strerror(errno));
    s->lock_fd = fd;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int r = errno == EWOULDBLOCK ? -EBUSY : -errno;
        return store_err(e, r, "store %s is in use by another flowd process", s->path);
    }
    *ret_created = created;
    return 0;
}

/* A new file's directory entry must reach the disk too, or a power loss
 * right after the first commit could lose the whole file. */
static int store_sqlite_sync_dir(StoreSqlite *s, StoreError *e)
{
    _cleanup_free_ char *copy = strdup(s->path);
    int fd, r = 0;

    if (!copy)
        return store_err(e, -ENOMEM, "store %s: out of memory", s->path);
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        r = store_err(e, -errno, "store %s: cannot sync its directory: %s", s->path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return r;
}

static int store_sqlite_new(const char *path, StoreSqlite **ret, StoreError *e)
{
    StoreSqlite *s;

    if (!sqlite3_threadsafe())
        return store_err(e, -ENOTSUP, "store %s: this SQLite library was built without thread support", path);
    s = calloc(1, sizeof(*s));
    if (!s)
        return store_err(e, -ENOMEM, "store %s: out of memory", path);
    s->base.ops = &store_sqlite_ops;
    s->lock_fd = -1;
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_cond_init(&s->pool_cond, NULL);
    store_tail_init(&s->tail);
    s->path = strdup(path);
    if (!s->path) {
        store_sqlite_free(s);
        return store_err(e, -ENOMEM, "store %s: out of memory", path);
    }
    *ret = s;
    return 0;
}

static unsigned store_sqlite_readers(const StoreOptions *o)
{
    unsigned n = o && o->readers ? o->readers : STORE_READERS_DEFAULT;
    return n > STORE_READERS_MAX ? STORE_READERS_MAX : n;
}

static int store_sqlite_open(const char *path, const StoreOptions *o, Store **ret, StoreError *e)
{
    _cleanup_(store_sqlite_freep) StoreSqlite *s = NULL;
    bool created = false;
    int r;

    if (!path || !*path)
        return store_err(e, -EINVAL, "store: empty path");
    if ((r = store_sqlite_new(path, &s, e)) < 0 || (r = store_sqlite_lock(s, &created, e)) < 0)
        return r;
    r = store_conn_open(&s->writer, path, true, o && o->sync_full, e);
    if (r < 0)
        return store_err_wrap(e, r, "store %s", path);
    if ((r = store_schema_migrate(&s->writer, path, e)) < 0)
        return r;
    if (created && (r = store_sqlite_sync_dir(s, e)) < 0)
        return r;
    if ((r = store_pool_open(s, store_sqlite_readers(o), e)) < 0)
        return r;
    *ret = &TAKE_PTR(s)->base;
    return 0;
}

static void store_sqlite_close(Store *s) { store_sqlite_free(store_sql(s)); }

static int store_sqlite_tx_step(StoreSqlite *s, StoreStmt id)
{
    sqlite3_stmt *st;
    int rc;

    rc = store_conn_stmt(&s->writer, id, &st);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int store_sqlite_begin(Store *store, StoreError *e)
{
    StoreSqlite *s = store_sql(store);
    int rc;

    if (s->tx != STORE_TX_NONE)
        return store_err(e, -EBUSY, "store %s: begin: a transaction is already open", s->path);
    rc = store_sqlite_tx_step(s, STORE_STMT_BEGIN);
    if (rc != SQLITE_OK)
        return store_write_failed(s, rc, e, "begin");
    s->tx = STORE_TX_OPEN;
    return 0;
}

static int store_sqlite_commit(Store *store, StoreError *e)
{
    StoreSqlite *s = store_sql(store);
    int rc, r;

    if (s->tx == STORE_TX_NONE)
        return store_err(e, -EINVAL, "store %s: commit without begin", s->path);
    if ((r = store_write_check(s, e)) < 0) {
        store_tail_discard(&s->tail);
        s->tx = STORE_TX_NONE;
        return r;
    }
    store_tail_commit_begin(&s->tail);
    rc = store_sqlite_tx_step(s, STORE_STMT_COMMIT);
    store_tail_commit_end(&s->tail, rc == SQLITE_OK);
    if (rc != SQLITE_OK) {
        r = store_write_failed(s, rc, e, "commit");
        s->tx = STORE_TX_NONE;
        return r;
    }
    s->tx = STORE_TX_NONE;
    atomic_store(&s->write_broken, false);
    return 0;
}

static int store_sqlite_rollback(Store *store)
{
    StoreSqlite *s = store_sql(store);

    if (s->tx == STORE_TX_OPEN && !sqlite3_get_autocommit(s->writer.db))
        (void)store_sqlite_tx_step(s, STORE_STMT_ROLLBACK);
    store_tail_discard(&s->tail);
    s->tx = STORE_TX_NONE;
    return 0;
}

/* Writable as far as the store knows: false from a write that failed with
 * ENOSPC or EIO until the next commit that succeeds. */
static bool store_sqlite_healthy(Store *store) { return !atomic_load(&store_sql(store)->write_broken); }

static void store_sqlite_abort_tx(StoreSqlite *s, int r, StoreError *e)
{
    size_t len = strlen(e->msg);

    if (!sqlite3_get_autocommit(s->writer.db))
        (void)sqlite3_exec(s->writer.db, "ROLLBACK", NULL, NULL, NULL);
    snprintf(e->msg + len, sizeof(e->msg) - len, "; transaction rolled back");
    store_tail_discard(&s->tail);
    e->err = -r;
    s->tx_error = *e;
    s->tx = STORE_TX_FAILED;
}

int store_write_failed(StoreSqlite *s, int rc, StoreError *e, const char *fmt, ...)
{
    StoreError local;
    char what[256], ctx[sizeof(what) + 64];
    va_list ap;
    int r;

    if (!e)
        e = &local;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(ctx, sizeof(ctx), "store %s: %s", s->path, what);
    r = store_err_sqlite(e, s->writer.db, rc, ctx);
    if (!store_err_is_write_failure(r))
        return r;
    if (r != -ENOMEM)
        atomic_store(&s->write_broken, true);
    if (s->tx == STORE_TX_OPEN)
        store_sqlite_abort_tx(s, r, e);
    return r;
}

int store_write_check(StoreSqlite *s, StoreError *e)
{
    if (s->tx != STORE_TX_FAILED)
        return 0;
    if (e)
        *e = s->tx_error;
    return -s->tx_error.err;
}

int store_write_prepare(StoreSqlite *s, StoreStmt id, sqlite3_stmt **ret, StoreError *e)
{
    int rc, r;

    if ((r = store_write_check(s, e)) < 0)
        return r;
    rc = store_conn_stmt(&s->writer, id, ret);
    if (rc != SQLITE_OK)
        return store_write_failed(s, rc, e, "prepare statement %d", (int)id);
    return 0;
}

int store_write_exec(StoreSqlite *s, StoreBind *b, StoreError *e, const char *what, const char *key)
{
    int rc = b->rc == SQLITE_OK ? sqlite3_step(b->st) : b->rc;

    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    return store_write_failed(s, rc, e, "%s %s", what, key ? key : "");
}

const StoreOps store_sqlite_ops = {
    .scheme = "sqlite",
    .open = store_sqlite_open,
    .close = store_sqlite_close,
    .begin = store_sqlite_begin,
    .commit = store_sqlite_commit,
    .rollback = store_sqlite_rollback,
    .run_insert = store_sqlite_run_insert,
    .run_update = store_sqlite_run_update,
    .idem_lookup = store_sqlite_idem_lookup,
    .node_put = store_sqlite_node_put,
    .event_put = store_sqlite_event_put,
    .dead_letter_put = store_sqlite_dead_letter_put,
    .dead_letter_mark_retried = store_sqlite_dead_letter_mark_retried,
    .cache_get = store_sqlite_cache_get,
    .cache_put = store_sqlite_cache_put,
    .purge = store_sqlite_purge,
    .run_get = store_sqlite_run_get,
    .runs_list = store_sqlite_runs_list,
    .runs_unfinished = store_sqlite_runs_unfinished,
    .events_read = store_sqlite_events_read,
    .dead_letters_list = store_sqlite_dead_letters_list,
    .dead_letter_get = store_sqlite_dead_letter_get,
    .healthy = store_sqlite_healthy,
    .dead_letter_delete = store_sqlite_dead_letter_delete,
};
