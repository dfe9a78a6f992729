/* store-sqlite-dlq.c: the dead-letter queue. Dead letters outlive their runs:
 * purge() never deletes them, only an admin does (dead_letter_delete). */
#include <errno.h>

#include "store-sqlite.h"

int store_sqlite_dead_letter_put(Store *store, const StoreDeadLetter *d, StoreError *e)
{
    StoreSqlite *s = store_sql(store);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    StoreBind b;
    int r;

    if ((r = store_write_prepare(s, STORE_STMT_DL_PUT, &st, e)) < 0)
        return r;
    b = (StoreBind){st, SQLITE_OK};
    store_bind_str(&b, 1, d->id);
    store_bind_str(&b, 2, d->run_id);
    store_bind_str(&b, 3, d->node_id);
    store_bind_str(&b, 4, d->tenant);
    store_bind_str(&b, 5, d->workflow_name);
    store_bind_str(&b, 6, d->kind);
    store_bind_text(&b, 7, d->inputs_json);
    store_bind_blob(&b, 8, &d->failure);
    store_bind_int(&b, 9, d->attempts);
    store_bind_u64(&b, 10, d->created_ns);
    store_bind_key(&b, 11, d->retried_run_id);
    store_bind_blob(&b, 12, &d->node);
    return store_write_exec(s, &b, e, "dead_letter_put", d->id);
}

/* Runs a one-row UPDATE or DELETE by id; -ENOENT when no row matched. */
static int store_dl_change(StoreSqlite *s, StoreStmt id, const char *dl_id, const char *arg, const char *what,
                           StoreError *e)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    StoreBind b;
    int r;

    if ((r = store_write_prepare(s, id, &st, e)) < 0)
        return r;
    b = (StoreBind){st, SQLITE_OK};
    store_bind_str(&b, 1, dl_id);
    if (arg)
        store_bind_str(&b, 2, arg);
    if ((r = store_write_exec(s, &b, e, what, dl_id)) < 0)
        return r;
    if (sqlite3_changes(s->writer.db) == 0)
        return store_err(e, -ENOENT, "store %s: %s: no dead letter %s", s->path, what, dl_id);
    return 0;
}

int store_sqlite_dead_letter_mark_retried(Store *store, const char *id, const char *run_id, StoreError *e)
{
    return store_dl_change(store_sql(store), STORE_STMT_DL_MARK, id, run_id ? run_id : "", "dead_letter_mark_retried",
                           e);
}

int store_sqlite_dead_letter_delete(Store *store, const char *id, StoreError *e)
{
    return store_dl_change(store_sql(store), STORE_STMT_DL_DELETE, id, NULL, "dead_letter_delete", e);
}

static int store_dl_read(sqlite3_stmt *st, StoreDeadLetter *d)
{
    StoreCols c = {st, 0};

    d->id = store_col_text(&c, 0);
    d->run_id = store_col_text(&c, 1);
    d->node_id = store_col_text(&c, 2);
    d->tenant = store_col_text(&c, 3);
    d->workflow_name = store_col_text(&c, 4);
    d->kind = store_col_text(&c, 5);
    d->inputs_json = store_col_text(&c, 6);
    d->failure = store_col_blob(&c, 7);
    d->attempts = (uint32_t)sqlite3_column_int64(st, 8);
    d->created_ns = store_col_u64(st, 9);
    d->retried_run_id = store_col_text(&c, 10);
    d->node = store_col_blob(&c, 11);
    if (c.r < 0)
        store_dead_letter_clear(d);
    return c.r;
}

static int store_dl_collect(sqlite3_stmt *st, StoreDeadLetter **ret, size_t *ret_n)
{
    StoreDeadLetter *dls = NULL;
    size_t n = 0, cap = 0;
    int rc = SQLITE_OK, r = 0;

    while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((r = store_grow((void **)&dls, sizeof(*dls), n, &cap)) >= 0 && (r = store_dl_read(st, &dls[n])) >= 0)
            n++;
    if (r >= 0 && rc != SQLITE_DONE)
        r = store_errno_from_sqlite(sqlite3_db_handle(st), rc);
    if (r < 0) {
        store_dead_letters_free(dls, n);
        return r;
    }
    *ret = dls;
    *ret_n = n;
    return 0;
}

int store_sqlite_dead_letter_get(Store *store, const char *id, StoreDeadLetter **ret)
{
    _cleanup_reader_ StoreReader rd = store_reader(store);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    StoreDeadLetter *dls = NULL;
    size_t n = 0;
    int rc, r;

    if ((rc = store_conn_stmt(rd.c, STORE_STMT_DL_GET, &st)) != SQLITE_OK)
        return store_errno_from_sqlite(rd.c->db, rc);
    if ((rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC)) != SQLITE_OK)
        return store_errno_from_sqlite(rd.c->db, rc);
    if ((r = store_dl_collect(st, &dls, &n)) < 0)
        return r;
    if (n == 0)
        return -ENOENT;
    *ret = dls;
    return 0;
}

static int store_dl_cursor(StoreConn *conn, const char *id, int64_t *ret_created)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = store_conn_stmt(conn, STORE_STMT_DL_CURSOR, &st)) != SQLITE_OK)
        return store_errno_from_sqlite(conn->db, rc);
    rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    if (rc != SQLITE_ROW)
        return store_errno_from_sqlite(conn->db, rc);
    *ret_created = sqlite3_column_int64(st, 0);
    return 0;
}

int store_sqlite_dead_letters_list(Store *store, const char *tenant, const char *after_id, unsigned limit,
                                   StoreDeadLetter **ret, size_t *ret_n)
{
    _cleanup_reader_ StoreReader rd = store_reader(store);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    bool cursor = after_id && *after_id;
    int64_t created = 0;
    StoreBind b;
    int rc, r;

    if ((r = store_reader_begin(&rd)) < 0)
        return r;
    if (cursor && (r = store_dl_cursor(rd.c, after_id, &created)) < 0)
        return r;
    rc = store_conn_stmt(rd.c, STORE_STMT_DL_LIST + (tenant ? 1 : 0) + (cursor ? 2 : 0), &st);
    if (rc != SQLITE_OK)
        return store_errno_from_sqlite(rd.c->db, rc);
    b = (StoreBind){st, SQLITE_OK};
    store_bind_text(&b, 1, tenant);
    store_bind_int(&b, 2, created);
    store_bind_text(&b, 3, cursor ? after_id : NULL);
    store_bind_int(&b, 4, limit ? limit : STORE_PAGE_DEFAULT);
    if (b.rc != SQLITE_OK)
        return store_errno_from_sqlite(rd.c->db, b.rc);
    return store_dl_collect(st, ret, ret_n);
}
