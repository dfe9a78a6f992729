/* store-test.c: helpers and main() of the store's cmocka binary. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sqlite3.h>
#include <unistd.h>

#include "store-test.h"

void ts_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *err = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
    sqlite3_close(db);
}

int ts_mkdtemp(char *buf, size_t size)
{
    const char *base = getenv("TEST_TMPDIR");

    snprintf(buf, size, "%s/store-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(buf) ? 0 : -errno;
}

static int ts_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void ts_rmrf(const char *dir) { nftw(dir, ts_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT); }

int ts_setup(void **state)
{
    TestStore *t = calloc(1, sizeof(*t));
    StoreError e = {0};
    StoreOptions o = {.readers = 4};

    assert_non_null(t);
    assert_int_equal(ts_mkdtemp(t->dir, sizeof(t->dir)), 0);
    snprintf(t->path, sizeof(t->path), "%s/flowd.db", t->dir);
    assert_int_equal(store_open(NULL, t->dir, &o, &t->s, &e), 0);
    t->ops = t->s->ops;
    *state = t;
    return 0;
}

int ts_teardown(void **state)
{
    TestStore *t = *state;

    store_close(t->s);
    if (t->mounted)
        umount2(t->dir, MNT_DETACH);
    ts_rmrf(t->dir);
    free(t);
    return 0;
}

void ts_reopen(TestStore *t, bool sync_full)
{
    char loc[PATH_MAX + 16];
    StoreError e = {0};
    StoreOptions o = {.sync_full = sync_full};

    store_close(t->s);
    t->s = NULL;
    snprintf(loc, sizeof(loc), "sqlite:%s", t->path);
    if (store_open(loc, NULL, &o, &t->s, &e) < 0)
        fail_msg("reopen: %s", e.msg);
}

StoreRun ts_run(const char *run_id, const char *tenant, int status, uint64_t created_ns)
{
    static char wf[] = "\x0a\x03wf1";
    StoreRun r = {
        .run_id = (char *)run_id,
        .tenant = (char *)tenant,
        .owner = "alice",
        .workflow_name = "wf1",
        .status = status,
        .created_ns = created_ns,
        .workflow = {wf, sizeof(wf) - 1},
        .inputs_json = "{}",
        .labels_json = "{\"team\":\"a\"}",
    };
    if (status >= ST_SUCCEEDED)
        r.finished_ns = created_ns + 1000;
    return r;
}

void ts_insert(TestStore *t, const char *run_id, const char *tenant, int status, uint64_t created_ns)
{
    StoreRun r = ts_run(run_id, tenant, status, created_ns);
    StoreError e = {0};

    if (t->ops->run_insert(t->s, &r, &e) < 0)
        fail_msg("run_insert %s: %s", run_id, e.msg);
}

void ts_events(TestStore *t, const char *run_id, uint64_t from, uint64_t to, size_t blob_len)
{
    char *blob = calloc(1, blob_len + 1);
    StoreError e = {0};

    assert_non_null(blob);
    for (uint64_t seq = from; seq <= to; seq++) {
        StoreEvent ev = {.seq = seq, .type = 4, .event = {blob, blob_len}};
        memset(blob, 'a' + (int)(seq % 26), blob_len);
        if (t->ops->event_put(t->s, run_id, &ev, &e) < 0)
            fail_msg("event_put %s %llu: %s", run_id, (unsigned long long)seq, e.msg);
    }
    free(blob);
}

uint64_t ts_last_seq(TestStore *t, const char *run_id)
{
    StoreRun *r = NULL;
    uint64_t seq;

    assert_int_equal(t->ops->run_get(t->s, run_id, &r, NULL, NULL), 0);
    seq = r->last_seq;
    store_runs_free(r, 1);
    return seq;
}

long ts_rss_kib(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "re");

    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = -1;
    fclose(f);
    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(void)
{
    int failed = 0;

    failed += _cmocka_run_group_tests("store_ops", store_ops_tests, store_ops_tests_n, NULL, NULL);
    failed += _cmocka_run_group_tests("store_durability", store_durability_tests, store_durability_tests_n, NULL, NULL);
    failed += _cmocka_run_group_tests("store_tail", store_tail_tests, store_tail_tests_n, NULL, NULL);
    return failed ? 1 : 0;
}
