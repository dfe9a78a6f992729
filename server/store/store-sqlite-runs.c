/* store-sqlite-runs.c: the runs table: insert, update, idempotency, get, list. */
#include <errno.h>
#include <string.h>

#include "store-sqlite.h"

int store_sqlite_run_insert(Store *store, const StoreRun *r, StoreError *e)
{
    StoreSqlite *s = store_sql(store);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    StoreBind b;
    int ret;

    if ((ret = store_write_prepare(s, STORE_STMT_RUN_INSERT, &st, e)) < 0)
        return ret;
    b = (StoreBind){st, SQLITE_OK};
    store_bind_str(&b, 1, r->run_id);
    store_bind_str(&b, 2, r->tenant);
    store_bind_str(&b, 3, r->owner);
    store_bind_str(&b, 4, r->workflow_name);
    store_bind_int(&b, 5, r->status);
    store_bind_int(&b, 6, r->degraded);
    store_bind_u64(&b, 7, r->created_ns);
    store_bind_u64(&b, 8, r->started_ns);
    store_bind_u64(&b, 9, r->finished_ns);
    store_bind_blob(&b, 10, &r->workflow);
    store_bind_text(&b, 11, r->inputs_json);
    store_bind_text(&b, 12, r->labels_json);
    store_bind_text(&b, 13, r->outputs_json);
    store_bind_blob(&b, 14, &r->failure);
    store_bind_key(&b, 15, r->idempotency_key);
    return store_write_exec(s, &b, e, "run_insert", r->run_id);
}

int store_sqlite_run_update(Store *store, const StoreRun *r, StoreError *e)
{
    StoreSqlite *s = store_sql(store);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    StoreBind b;
    int ret;

    if ((ret = store_write_prepare(s, STORE_STMT_RUN_UPDATE, &st, e)) < 0)
        return ret;
    b = (StoreBind){st, SQLITE_OK};
    store_bind_str(&b, 1, r->run_id);
    store_bind_int(&b, 2, r->status);
    store_bind_int(&b, 3, r->degraded);
    store_bind_u64(&b, 4, r->started_ns);
    store_bind_u64(&b, 5, r->finished_ns);
    store_bind_text(&b, 6, r->outputs_json);
    store_bind_blob(&b, 7, &r->failure);
    if ((ret = store_write_exec(s, &b, e, "run_update", r->run_id)) < 0)
        return ret;
    if (sqlite3_changes(s->writer.db) == 0)
        return store_err(e, -ENOENT, "store %s: run_update: no run %s", s->path, r->run_id);
    return 0;
}

/* On the writer, so that a run inserted earlier in the open transaction is
 * seen: the engine checks the key and inserts within one turn. */
int store_sqlite_idem_lookup(Store *store, const char *tenant, const char *key, char **ret_run_id)
{
    StoreSqlite *s = store_sql(store);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    StoreBind b;
    int rc, r;

    if (!key || !*key)
        return -ENOENT;
    if ((r = store_write_prepare(s, STORE_STMT_IDEM_LOOKUP, &st, NULL)) < 0)
        return r;
    b = (StoreBind){st, SQLITE_OK};
    store_bind_str(&b, 1, tenant);
    store_bind_text(&b, 2, key);
    rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
    if (rc == SQLITE_DONE)
        return -ENOENT;
    if (rc != SQLITE_ROW)
        return store_write_failed(s, rc, NULL, "idem_lookup %s", key);
    return store_strdup((const char *)sqlite3_column_text(st, 0), ret_run_id);
}

static int store_run_read(sqlite3_stmt *st, StoreRun *r)
{
    StoreCols c = {st, 0};

    r->run_id = store_col_text(&c, 0);
    r->tenant = store_col_text(&c, 1);
    r->owner = store_col_text(&c, 2);
    r->workflow_name = store_col_text(&c, 3);
    r->status = sqlite3_column_int(st, 4);
    r->degraded = sqlite3_column_int(st, 5) != 0;
    r->created_ns = store_col_u64(st, 6);
    r->started_ns = store_col_u64(st, 7);
    r->finished_ns = store_col_u64(st, 8);
    r->workflow = store_col_blob(&c, 9);
    r->inputs_json = store_col_text(&c, 10);
    r->labels_json = store_col_text(&c, 11);
    r->outputs_json = store_col_text(&c, 12);
    r->failure = store_col_blob(&c, 13);
    r->idempotency_key = store_col_text(&c, 14);
    r->last_seq = store_col_u64(st, 15);
    if (c.r < 0)
        store_run_clear(r);
    return c.r;
}

static int store_node_read(sqlite3_stmt *st, StoreNode *n)
{
    StoreCols c = {st, 0};

    n->node_id = store_col_text(&c, 0);
    n->status = sqlite3_column_int(st, 1);
    n->attempts = (uint32_t)sqlite3_column_int64(st, 2);
    n->failure = store_col_blob(&c, 3);
    n->usage = store_col_blob(&c, 4);
    n->output_json = store_col_text(&c, 5);
    if (c.r < 0)
        store_node_clear(n);
    return c.r;
}

static int store_nodes_read(StoreConn *conn, const char *run_id, StoreNode **ret, size_t *ret_n)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    StoreNode *nodes = NULL;
    size_t n = 0, cap = 0;
    int rc, r = 0;

    if ((rc = store_conn_stmt(conn, STORE_STMT_NODES_GET, &st)) != SQLITE_OK)
        return store_errno_from_sqlite(conn->db, rc);
    rc = sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    while (r >= 0 && rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        if ((r = store_grow((void **)&nodes, sizeof(*nodes), n, &cap)) >= 0 &&
            (r = store_node_read(st, &nodes[n])) >= 0)
            n++;
    }
    if (r >= 0 && rc != SQLITE_DONE)
        r = store_errno_from_sqlite(conn->db, rc);
    if (r < 0) {
        store_nodes_free(nodes, n);
        return r;
    }
    *ret = nodes;
    *ret_n = n;
    return 0;
}

static int store_run_fetch(StoreConn *conn, const char *run_id, StoreRun **ret)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    _cleanup_free_ StoreRun *run = NULL;
    int rc, r;

    if ((rc = store_conn_stmt(conn, STORE_STMT_RUN_GET, &st)) != SQLITE_OK)
        return store_errno_from_sqlite(conn->db, rc);
    rc = sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    if (rc != SQLITE_ROW)
        return store_errno_from_sqlite(conn->db, rc);
    if (!(run = calloc(1, sizeof(*run))))
        return -ENOMEM;
    if ((r = store_run_read(st, run)) < 0)
        return r;
    *ret = TAKE_PTR(run);
    return 0;
}

int store_sqlite_run_get(Store *store, const char *run_id, StoreRun **ret_run, StoreNode **ret_nodes, size_t *ret_n)
{
    _cleanup_reader_ StoreReader rd = store_reader(store);
    StoreRun *run = NULL;
    StoreNode *nodes = NULL;
    size_t n = 0;
    int r;

    if ((r = store_reader_begin(&rd)) < 0 || (r = store_run_fetch(rd.c, run_id, &run)) < 0)
        return r;
    if (ret_nodes && (r = store_nodes_read(rd.c, run_id, &nodes, &n)) < 0) {
        store_runs_free(run, 1);
        return r;
    }
    *ret_run = run;
    if (ret_nodes) {
        *ret_nodes = nodes;
        *ret_n = n;
    }
    return 0;
}

static int store_runs_cursor(StoreConn *conn, const char *run_id, int64_t *ret_created)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = store_conn_stmt(conn, STORE_STMT_RUN_CURSOR, &st)) != SQLITE_OK)
        return store_errno_from_sqlite(conn->db, rc);
    rc = sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return -ENOENT; /* the cursor's run was purged: the caller restarts */
    if (rc != SQLITE_ROW)
        return store_errno_from_sqlite(conn->db, rc);
    *ret_created = sqlite3_column_int64(st, 0);
    return 0;
}

static int store_runs_collect(sqlite3_stmt *st, StoreRun **ret, size_t *ret_n)
{
    StoreRun *runs = NULL;
    size_t n = 0, cap = 0;
    int rc, r = 0;

    while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((r = store_grow((void **)&runs, sizeof(*runs), n, &cap)) >= 0 && (r = store_run_read(st, &runs[n])) >= 0)
            n++;
    if (r >= 0 && rc != SQLITE_DONE)
        r = store_errno_from_sqlite(sqlite3_db_handle(st), rc);
    if (r < 0) {
        store_runs_free(runs, n);
        return r;
    }
    *ret = runs;
    *ret_n = n;
    return 0;
}

int store_sqlite_runs_list(Store *store, const char *tenant, int status, const char *after_run_id, unsigned limit,
                           StoreRun **ret_runs, size_t *ret_n)
{
    _cleanup_reader_ StoreReader rd = store_reader(store);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    bool cursor = after_run_id && *after_run_id;
    int variant = (tenant ? 1 : 0) | (status ? 2 : 0) | (cursor ? 4 : 0);
    int64_t created = 0;
    StoreBind b;
    int rc, r;

    if ((r = store_reader_begin(&rd)) < 0)
        return r;
    if (cursor && (r = store_runs_cursor(rd.c, after_run_id, &created)) < 0)
        return r;
    if ((rc = store_conn_stmt(rd.c, STORE_STMT_RUNS_LIST + variant, &st)) != SQLITE_OK)
        return store_errno_from_sqlite(rd.c->db, rc);
    b = (StoreBind){st, SQLITE_OK};
    store_bind_text(&b, 1, tenant);
    store_bind_int(&b, 2, status);
    store_bind_int(&b, 3, created);
    store_bind_text(&b, 4, cursor ? after_run_id : NULL);
    store_bind_int(&b, 5, limit ? limit : STORE_PAGE_DEFAULT);
    if (b.rc != SQLITE_OK)
        return store_errno_from_sqlite(rd.c->db, b.rc);
    return store_runs_collect(st, ret_runs, ret_n);
}

int store_sqlite_runs_unfinished(Store *store, char ***ret_ids, size_t *ret_n)
{
    _cleanup_reader_ StoreReader rd = store_reader(store);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    char **ids = NULL;
    size_t n = 0, cap = 0;
    int rc, r = 0;

    if ((rc = store_conn_stmt(rd.c, STORE_STMT_RUNS_UNFINISHED, &st)) != SQLITE_OK)
        return store_errno_from_sqlite(rd.c->db, rc);
    while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((r = store_grow((void **)&ids, sizeof(*ids), n, &cap)) >= 0 &&
            (r = store_strdup((const char *)sqlite3_column_text(st, 0), &ids[n])) >= 0)
            n++;
    if (r >= 0 && rc != SQLITE_DONE)
        r = store_errno_from_sqlite(rd.c->db, rc);
    if (r < 0) {
        store_ids_free(ids, n);
        return r;
    }
    *ret_ids = ids;
    *ret_n = n;
    return 0;
}
