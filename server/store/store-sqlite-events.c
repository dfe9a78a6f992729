/* store-sqlite-events.c: node state and the event log of a run. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "store-sqlite.h"

int store_sqlite_node_put(Store *store, const char *run_id, const StoreNode *n, StoreError *e)
{
    StoreSqlite *s = store_sql(store);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    StoreBind b;
    int r;

    if ((r = store_write_prepare(s, STORE_STMT_NODE_PUT, &st, e)) < 0)
        return r;
    b = (StoreBind){st, SQLITE_OK};
    store_bind_str(&b, 1, run_id);
    store_bind_str(&b, 2, n->node_id);
    store_bind_int(&b, 3, n->status);
    store_bind_int(&b, 4, n->attempts);
    store_bind_blob(&b, 5, &n->failure);
    store_bind_blob(&b, 6, &n->usage);
    store_bind_text(&b, 7, n->output_json);
    return store_write_exec(s, &b, e, "node_put", run_id);
}

/* Explains why event_put inserted nothing: no such run, or a seq that is
 * not last_seq + 1 (a duplicate or a gap). */
static int store_event_refused(StoreSqlite *s, const char *run_id, uint64_t seq, StoreError *e)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int rc, r;

    if ((r = store_write_prepare(s, STORE_STMT_RUN_EXISTS, &st, e)) < 0)
        return r;
    rc = sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return store_err(e, -ENOENT, "store %s: event_put: no run %s", s->path, run_id);
    if (rc != SQLITE_ROW)
        return store_write_failed(s, rc, e, "event_put %s", run_id);
    return store_err(e, -EEXIST, "store %s: event_put: run %s: seq %" PRIu64 " is not last_seq + 1 (last_seq %lld)",
                     s->path, run_id, seq, (long long)sqlite3_column_int64(st, 0));
}

int store_sqlite_event_put(Store *store, const char *run_id, const StoreEvent *ev, StoreError *e)
{
    StoreSqlite *s = store_sql(store);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    StoreBind b;
    int r;

    if (ev->seq == 0 || ev->seq > INT64_MAX)
        return store_err(e, -EINVAL, "store %s: event_put: run %s: seq %" PRIu64 " out of range", s->path, run_id,
                         ev->seq);
    if ((r = store_write_prepare(s, STORE_STMT_EVENT_PUT, &st, e)) < 0)
        return r;
    if (s->tx == STORE_TX_NONE)
        store_tail_forget(&s->tail, run_id); /* committed at once, published never */
    b = (StoreBind){st, SQLITE_OK};
    store_bind_str(&b, 1, run_id);
    store_bind_u64(&b, 2, ev->seq);
    store_bind_int(&b, 3, ev->type);
    store_bind_blob(&b, 4, &ev->event);
    if ((r = store_write_exec(s, &b, e, "event_put", run_id)) < 0)
        return r;
    if (sqlite3_changes(s->writer.db) == 0)
        return store_event_refused(s, run_id, ev->seq, e);
    if (s->tx != STORE_TX_NONE)
        store_tail_stage(&s->tail, run_id, ev);
    return 0;
}

static int store_event_read(sqlite3_stmt *st, StoreEvent *ev)
{
    StoreCols c = {st, 0};

    ev->seq = store_col_u64(st, 0);
    ev->type = sqlite3_column_int(st, 1);
    ev->event = store_col_blob(&c, 2);
    return c.r;
}

static int events_read_sql(Store *store, const char *run_id, uint64_t after_seq, unsigned max, StoreEvent **ret_events,
                           size_t *ret_n)
{
    _cleanup_reader_ StoreReader rd = store_reader(store);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    StoreEvent *evs = NULL;
    size_t n = 0, cap = 0;
    StoreBind b;
    int rc, r = 0;

    if ((rc = store_conn_stmt(rd.c, STORE_STMT_EVENTS_READ, &st)) != SQLITE_OK)
        return store_errno_from_sqlite(rd.c->db, rc);
    b = (StoreBind){st, SQLITE_OK};
    store_bind_str(&b, 1, run_id);
    store_bind_u64(&b, 2, after_seq);
    store_bind_int(&b, 3, max ? max : STORE_PAGE_DEFAULT);
    rc = b.rc;
    while (r >= 0 && rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        if ((r = store_grow((void **)&evs, sizeof(*evs), n, &cap)) >= 0 && (r = store_event_read(st, &evs[n])) >= 0)
            n++;
    }
    if (r >= 0 && rc != SQLITE_DONE)
        r = store_errno_from_sqlite(rd.c->db, rc);
    if (r < 0) {
        store_events_free(evs, n);
        return r;
    }
    *ret_events = evs;
    *ret_n = n;
    return 0;
}

int store_sqlite_events_read(Store *store, const char *run_id, uint64_t after_seq, unsigned max,
                             StoreEvent **ret_events, size_t *ret_n)
{
    /* What a stream following a live run asks for was just committed. */
    if (store_tail_read(&store_sql(store)->tail, run_id, after_seq, max ? max : STORE_PAGE_DEFAULT, ret_events, ret_n))
        return 0;
    return events_read_sql(store, run_id, after_seq, max, ret_events, ret_n);
}
