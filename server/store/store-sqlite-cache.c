/* store-sqlite-cache.c: the node output cache and retention (purge). */
#include <errno.h>
#include <time.h>

#include "store-sqlite.h"

/* Expired cache rows deleted per purge call, per run purged: cache rows are
 * small, and the engine calls purge until it purges fewer than max. */
#define STORE_PURGE_CACHE_FACTOR 4u

/* On the writer: the engine thread asks, and sees its own uncommitted puts. */
int store_sqlite_cache_get(Store *store, const char *key, uint64_t now_ns, char **ret_output_json)
{
    StoreSqlite *s = store_sql(store);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    StoreBind b;
    int rc, r;

    if ((r = store_write_prepare(s, STORE_STMT_CACHE_GET, &st, NULL)) < 0)
        return r;
    b = (StoreBind){st, SQLITE_OK};
    store_bind_str(&b, 1, key);
    store_bind_u64(&b, 2, now_ns);
    rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
    if (rc == SQLITE_DONE)
        return -ENOENT;
    if (rc != SQLITE_ROW)
        return store_write_failed(s, rc, NULL, "cache_get %s", key);
    return store_strdup((const char *)sqlite3_column_text(st, 0), ret_output_json);
}

int store_sqlite_cache_put(Store *store, const char *key, const char *output_json, uint64_t expires_ns, StoreError *e)
{
    StoreSqlite *s = store_sql(store);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    StoreBind b;
    int r;

    if ((r = store_write_prepare(s, STORE_STMT_CACHE_PUT, &st, e)) < 0)
        return r;
    b = (StoreBind){st, SQLITE_OK};
    store_bind_str(&b, 1, key);
    store_bind_str(&b, 2, output_json);
    store_bind_u64(&b, 3, expires_ns);
    return store_write_exec(s, &b, e, "cache_put", key);
}

static uint64_t store_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int store_purge_step(StoreSqlite *s, StoreStmt id, uint64_t before_ns, unsigned max, StoreError *e)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    StoreBind b;
    int r;

    if ((r = store_write_prepare(s, id, &st, e)) < 0)
        return r;
    b = (StoreBind){st, SQLITE_OK};
    store_bind_u64(&b, 1, before_ns);
    store_bind_int(&b, 2, max);
    if ((r = store_write_exec(s, &b, e, "purge", NULL)) < 0)
        return r;
    return sqlite3_changes(s->writer.db);
}

/* One short transaction of its own, so that the engine's turns interleave
 * with retention instead of waiting for one long delete. */
int store_sqlite_purge(Store *store, uint64_t before_ns, unsigned max, unsigned *ret_purged, StoreError *e)
{
    StoreSqlite *s = store_sql(store);
    const StoreOps *ops = store->ops;
    int r, n;

    if (s->tx != STORE_TX_NONE)
        return store_err(e, -EBUSY, "store %s: purge inside a transaction", s->path);
    if (max == 0) {
        if (ret_purged)
            *ret_purged = 0;
        return 0;
    }
    if ((r = ops->begin(store, e)) < 0)
        return r;
    n = store_purge_step(s, STORE_STMT_PURGE_RUNS, before_ns, max, e);
    if (n >= 0 &&
        (r = store_purge_step(s, STORE_STMT_PURGE_CACHE, store_now_ns(), max * STORE_PURGE_CACHE_FACTOR, e)) < 0)
        n = r;
    if (n < 0) {
        ops->rollback(store);
        return n;
    }
    if ((r = ops->commit(store, e)) < 0)
        return r;
    if (n > 0)
        store_tail_clear(&s->tail); /* the purged runs' tails */
    if (ret_purged)
        *ret_purged = (unsigned)n;
    return 0;
}
