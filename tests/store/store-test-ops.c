/* store-test-ops.c: every operation of store_sqlite_ops, one behaviour a case. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store-test.h"

#define T(name) cmocka_unit_test_setup_teardown(name, ts_setup, ts_teardown)

static void test_store_open_default_path(void **state)
{
    TestStore *t = *state;
    struct stat st;

    assert_int_equal(stat(t->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_string_equal(t->ops->scheme, "sqlite");
    assert_true(t->ops->healthy(t->s));
}

static void test_store_open_bad_location(void **state)
{
    TestStore *t = *state;
    StoreError e = {0};
    Store *s = NULL;

    assert_int_equal(store_open("postgres://db/flowd", NULL, NULL, &s, &e), -EPROTONOSUPPORT);
    assert_non_null(strstr(e.msg, "postgres://db/flowd"));
    assert_int_equal(store_open("flowd.db", NULL, NULL, &s, &e), -EINVAL);
    assert_int_equal(store_open("sqlite:", NULL, NULL, &s, &e), -EINVAL);
    assert_int_equal(store_open(NULL, NULL, NULL, &s, &e), -EINVAL);
    assert_int_equal(store_open("sqlite:/nonexistent-dir/x/flowd.db", NULL, NULL, &s, &e), -ENOENT);
    assert_non_null(strstr(e.msg, "/nonexistent-dir/x/flowd.db"));
    assert_null(s);
    (void)t;
}

static void test_store_open_in_use(void **state)
{
    TestStore *t = *state;
    char loc[PATH_MAX + 16];
    StoreError e = {0};
    Store *s = NULL;

    snprintf(loc, sizeof(loc), "sqlite://%s", t->path);
    assert_int_equal(store_open(loc, NULL, NULL, &s, &e), -EBUSY);
    assert_non_null(strstr(e.msg, "in use"));
}

static void test_run_insert_roundtrip(void **state)
{
    TestStore *t = *state;
    StoreRun r = ts_run("r1", "acme", ST_QUEUED, 1000);
    StoreRun *got = NULL;
    StoreNode *nodes = NULL;
    size_t n = 99;
    char fail[] = {0x08, 0x01, 0x00, 0x12};

    r.failure = (StoreBlob){fail, sizeof(fail)};
    r.idempotency_key = "k1";
    assert_int_equal(t->ops->run_insert(t->s, &r, NULL), 0);
    assert_int_equal(t->ops->run_get(t->s, "r1", &got, &nodes, &n), 0);
    assert_string_equal(got->run_id, "r1");
    assert_string_equal(got->tenant, "acme");
    assert_string_equal(got->owner, "alice");
    assert_string_equal(got->workflow_name, "wf1");
    assert_int_equal(got->status, ST_QUEUED);
    assert_int_equal(got->created_ns, 1000);
    assert_int_equal(got->started_ns, 0);
    assert_int_equal(got->workflow.len, r.workflow.len);
    assert_memory_equal(got->workflow.data, r.workflow.data, r.workflow.len);
    assert_int_equal(got->failure.len, sizeof(fail));
    assert_memory_equal(got->failure.data, fail, sizeof(fail)); /* embedded NUL kept */
    assert_string_equal(got->inputs_json, "{}");
    assert_string_equal(got->labels_json, "{\"team\":\"a\"}");
    assert_null(got->outputs_json);
    assert_string_equal(got->idempotency_key, "k1");
    assert_int_equal(got->last_seq, 0);
    assert_int_equal(n, 0);
    assert_null(nodes);
    store_runs_free(got, 1);
    assert_int_equal(t->ops->run_get(t->s, "nope", &got, NULL, NULL), -ENOENT);
}

static void test_run_insert_duplicate(void **state)
{
    TestStore *t = *state;
    StoreRun r = ts_run("r1", "acme", ST_QUEUED, 1000);
    StoreError e = {0};

    assert_int_equal(t->ops->run_insert(t->s, &r, &e), 0);
    assert_int_equal(t->ops->run_insert(t->s, &r, &e), -EEXIST);
    assert_int_equal(e.err, EEXIST);
    assert_non_null(strstr(e.msg, "r1"));
    assert_true(t->ops->healthy(t->s));
}

static void test_run_update_fields(void **state)
{
    TestStore *t = *state;
    StoreRun r = ts_run("r1", "acme", ST_QUEUED, 1000);
    StoreRun *got = NULL;
    StoreError e = {0};

    assert_int_equal(t->ops->run_insert(t->s, &r, &e), 0);
    ts_events(t, "r1", 1, 5, 8);
    r.status = ST_SUCCEEDED;
    r.degraded = true;
    r.started_ns = 2000;
    r.finished_ns = 3000;
    r.outputs_json = "{\"a\":{\"x\":1}}";
    r.last_seq = 2; /* stale: must not move last_seq back */
    assert_int_equal(t->ops->run_update(t->s, &r, &e), 0);
    assert_int_equal(t->ops->run_get(t->s, "r1", &got, NULL, NULL), 0);
    assert_int_equal(got->status, ST_SUCCEEDED);
    assert_true(got->degraded);
    assert_int_equal(got->started_ns, 2000);
    assert_int_equal(got->finished_ns, 3000);
    assert_string_equal(got->outputs_json, "{\"a\":{\"x\":1}}");
    assert_int_equal(got->last_seq, 5);
    store_runs_free(got, 1);
    r.run_id = "other";
    assert_int_equal(t->ops->run_update(t->s, &r, &e), -ENOENT);
}

static void test_idem_lookup_scoped(void **state)
{
    TestStore *t = *state;
    StoreRun r = ts_run("r1", "acme", ST_QUEUED, 1000);
    StoreError e = {0};
    char *id = NULL;

    r.idempotency_key = "key-1";
    assert_int_equal(t->ops->begin(t->s, &e), 0);
    assert_int_equal(t->ops->idem_lookup(t->s, "acme", "key-1", &id), -ENOENT);
    assert_int_equal(t->ops->run_insert(t->s, &r, &e), 0);
    /* Seen inside the open transaction, before commit. */
    assert_int_equal(t->ops->idem_lookup(t->s, "acme", "key-1", &id), 0);
    assert_string_equal(id, "r1");
    free(id);
    assert_int_equal(t->ops->commit(t->s, &e), 0);
    assert_int_equal(t->ops->idem_lookup(t->s, "other", "key-1", &id), -ENOENT);
    assert_int_equal(t->ops->idem_lookup(t->s, "acme", "", &id), -ENOENT);
    /* The same key in the same tenant is refused; another tenant may use it. */
    r.run_id = "r2";
    assert_int_equal(t->ops->run_insert(t->s, &r, &e), -EEXIST);
    r.tenant = "other";
    assert_int_equal(t->ops->run_insert(t->s, &r, &e), 0);
    /* Runs without a key never collide. */
    r = ts_run("r3", "acme", ST_QUEUED, 1);
    r.idempotency_key = "";
    assert_int_equal(t->ops->run_insert(t->s, &r, &e), 0);
    r.run_id = "r4";
    assert_int_equal(t->ops->run_insert(t->s, &r, &e), 0);
}

static void test_node_put_replace(void **state)
{
    TestStore *t = *state;
    StoreNode a = {.node_id = "b-node", .status = 2, .attempts = 1};
    StoreNode b = {.node_id = "a-node", .status = 3, .attempts = 2, .output_json = "{\"ok\":true}"};
    char usage[] = {0x08, 0x40};
    StoreNode *nodes = NULL;
    StoreRun *run = NULL;
    StoreError e = {0};
    size_t n = 0;

    ts_insert(t, "r1", "acme", ST_RUNNING, 1);
    assert_int_equal(t->ops->node_put(t->s, "r1", &a, &e), 0);
    assert_int_equal(t->ops->node_put(t->s, "r1", &b, &e), 0);
    a.status = 3;
    a.attempts = 3;
    a.output_json = "{}";
    a.usage = (StoreBlob){usage, sizeof(usage)};
    assert_int_equal(t->ops->node_put(t->s, "r1", &a, &e), 0);
    assert_int_equal(t->ops->run_get(t->s, "r1", &run, &nodes, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(nodes[0].node_id, "a-node");
    assert_string_equal(nodes[0].output_json, "{\"ok\":true}");
    assert_int_equal(nodes[0].usage.len, 0);
    assert_string_equal(nodes[1].node_id, "b-node");
    assert_int_equal(nodes[1].status, 3);
    assert_int_equal(nodes[1].attempts, 3);
    assert_int_equal(nodes[1].usage.len, sizeof(usage));
    store_runs_free(run, 1);
    store_nodes_free(nodes, n);
    assert_int_equal(t->ops->node_put(t->s, "nope", &a, &e), -ENOENT);
}

static void test_event_put_seq(void **state)
{
    TestStore *t = *state;
    StoreEvent ev = {.seq = 1, .type = 1, .event = {"x", 1}};
    StoreError e = {0};

    ts_insert(t, "r1", "acme", ST_QUEUED, 1);
    assert_int_equal(t->ops->event_put(t->s, "r1", &ev, &e), 0);
    assert_int_equal(ts_last_seq(t, "r1"), 1);
    assert_int_equal(t->ops->event_put(t->s, "r1", &ev, &e), -EEXIST); /* duplicate */
    assert_non_null(strstr(e.msg, "last_seq 1"));
    ev.seq = 3;
    assert_int_equal(t->ops->event_put(t->s, "r1", &ev, &e), -EEXIST); /* gap */
    ev.seq = 0;
    assert_int_equal(t->ops->event_put(t->s, "r1", &ev, &e), -EINVAL);
    ev.seq = 1;
    assert_int_equal(t->ops->event_put(t->s, "nope", &ev, &e), -ENOENT);
    ev.seq = 2;
    assert_int_equal(t->ops->event_put(t->s, "r1", &ev, &e), 0);
    assert_int_equal(ts_last_seq(t, "r1"), 2);
}

static void test_event_put_refused_keeps_transaction(void **state)
{
    TestStore *t = *state;
    StoreEvent ev = {.seq = 5, .type = 1};
    StoreError e = {0};

    ts_insert(t, "r1", "acme", ST_QUEUED, 1);
    assert_int_equal(t->ops->begin(t->s, &e), 0);
    ts_events(t, "r1", 1, 3, 4);
    assert_int_equal(t->ops->event_put(t->s, "r1", &ev, &e), -EEXIST);
    ts_events(t, "r1", 4, 4, 4);
    assert_int_equal(t->ops->commit(t->s, &e), 0);
    assert_int_equal(ts_last_seq(t, "r1"), 4);
}

static void test_events_read_paging(void **state)
{
    TestStore *t = *state;
    StoreEvent *evs = NULL;
    size_t n = 0;

    ts_insert(t, "r1", "acme", ST_RUNNING, 1);
    ts_insert(t, "r2", "acme", ST_RUNNING, 2);
    assert_int_equal(t->ops->begin(t->s, NULL), 0);
    ts_events(t, "r1", 1, 250, 16);
    ts_events(t, "r2", 1, 3, 16);
    assert_int_equal(t->ops->commit(t->s, NULL), 0);
    for (uint64_t after = 0; after < 250; after += 100) {
        assert_int_equal(t->ops->events_read(t->s, "r1", after, 100, &evs, &n), 0);
        assert_int_equal(n, after == 200 ? 50 : 100);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(evs[i].seq, after + i + 1);
            assert_int_equal(evs[i].event.len, 16);
            assert_int_equal(((char *)evs[i].event.data)[0], 'a' + (int)((after + i + 1) % 26));
        }
        store_events_free(evs, n);
    }
    assert_int_equal(t->ops->events_read(t->s, "r1", 250, 100, &evs, &n), 0);
    assert_int_equal(n, 0);
    store_events_free(evs, n);
    assert_int_equal(t->ops->events_read(t->s, "r1", 0, 0, &evs, &n), 0);
    assert_int_equal(n, 100); /* 0 means the default page */
    store_events_free(evs, n);
    assert_int_equal(t->ops->events_read(t->s, "nope", 0, 10, &evs, &n), 0);
    assert_int_equal(n, 0);
}

/* Nine runs over two tenants, several sharing a timestamp. */
static void ts_insert_listing(TestStore *t)
{
    static const struct {
        const char *id, *tenant;
        int status;
        uint64_t created;
    } rows[] = {
        {"a1", "acme", ST_SUCCEEDED, 100}, {"a2", "acme", ST_RUNNING, 200}, {"a3", "acme", ST_FAILED, 200},
        {"a4", "acme", ST_SUCCEEDED, 300}, {"a5", "acme", ST_QUEUED, 400},  {"b1", "bolt", ST_SUCCEEDED, 150},
        {"b2", "bolt", ST_RUNNING, 200},   {"b3", "bolt", ST_QUEUED, 500},  {"a0", "acme", ST_SUCCEEDED, 300},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        ts_insert(t, rows[i].id, rows[i].tenant, rows[i].status, rows[i].created);
}

/* Pages through runs_list with page size k and joins the ids with spaces. */
static void ts_list_all(TestStore *t, const char *tenant, int status, unsigned k, char *out, size_t size)
{
    char cursor[64] = "";
    StoreRun *runs = NULL;
    size_t n;

    out[0] = '\0';
    do {
        assert_int_equal(t->ops->runs_list(t->s, tenant, status, cursor[0] ? cursor : NULL, k, &runs, &n), 0);
        for (size_t i = 0; i < n; i++) {
            assert_true(!tenant || strcmp(runs[i].tenant, tenant) == 0);
            snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? " " : "", runs[i].run_id);
        }
        if (n > 0)
            snprintf(cursor, sizeof(cursor), "%s", runs[n - 1].run_id);
        store_runs_free(runs, n);
    } while (n == k);
}

static void test_runs_list_order_and_paging(void **state)
{
    TestStore *t = *state;
    char out[256];

    ts_insert_listing(t);
    for (unsigned k = 1; k <= 10; k += 3) {
        ts_list_all(t, NULL, 0, k, out, sizeof(out));
        assert_string_equal(out, "b3 a5 a4 a0 b2 a3 a2 b1 a1");
        ts_list_all(t, "acme", 0, k, out, sizeof(out));
        assert_string_equal(out, "a5 a4 a0 a3 a2 a1");
        ts_list_all(t, "acme", ST_SUCCEEDED, k, out, sizeof(out));
        assert_string_equal(out, "a4 a0 a1");
        ts_list_all(t, NULL, ST_RUNNING, k, out, sizeof(out));
        assert_string_equal(out, "b2 a2");
    }
    ts_list_all(t, "nobody", 0, 5, out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_runs_list_unknown_cursor(void **state)
{
    TestStore *t = *state;
    StoreRun *runs = NULL;
    size_t n = 0;

    ts_insert_listing(t);
    assert_int_equal(t->ops->runs_list(t->s, "acme", 0, "gone", 10, &runs, &n), -ENOENT);
    assert_int_equal(t->ops->runs_list(t->s, NULL, 0, "", 0, &runs, &n), 0);
    assert_int_equal(n, 9);
    store_runs_free(runs, n);
}

static void test_runs_unfinished_oldest_first(void **state)
{
    TestStore *t = *state;
    char **ids = NULL;
    size_t n = 0;

    ts_insert_listing(t);
    assert_int_equal(t->ops->runs_unfinished(t->s, &ids, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(ids[0], "a2");
    assert_string_equal(ids[1], "b2");
    assert_string_equal(ids[2], "a5");
    assert_string_equal(ids[3], "b3");
    store_ids_free(ids, n);
}

static StoreDeadLetter ts_dl(const char *id, const char *tenant, uint64_t created)
{
    static char node[] = "\x0a\x01n";
    static char failure[] = "\x08\x02";
    return (StoreDeadLetter){
        .id = (char *)id,
        .run_id = "r1",
        .node_id = "n1",
        .tenant = (char *)tenant,
        .workflow_name = "wf1",
        .kind = "python",
        .inputs_json = "{\"x\":1}",
        .failure = {failure, 2},
        .attempts = 3,
        .created_ns = created,
        .node = {node, 3},
    };
}

static void test_dead_letter_lifecycle(void **state)
{
    TestStore *t = *state;
    StoreDeadLetter d1 = ts_dl("d1", "acme", 10), d2 = ts_dl("d2", "bolt", 20), d3 = ts_dl("d3", "acme", 30);
    StoreDeadLetter *got = NULL;
    StoreError e = {0};
    size_t n = 0;

    assert_int_equal(t->ops->dead_letter_put(t->s, &d1, &e), 0);
    assert_int_equal(t->ops->dead_letter_put(t->s, &d2, &e), 0);
    assert_int_equal(t->ops->dead_letter_put(t->s, &d3, &e), 0);
    assert_int_equal(t->ops->dead_letter_put(t->s, &d3, &e), -EEXIST);
    assert_int_equal(t->ops->dead_letter_get(t->s, "d1", &got), 0);
    assert_string_equal(got->kind, "python");
    assert_string_equal(got->inputs_json, "{\"x\":1}");
    assert_int_equal(got->attempts, 3);
    assert_int_equal(got->node.len, 3);
    assert_int_equal(got->failure.len, 2);
    assert_null(got->retried_run_id);
    store_dead_letters_free(got, 1);

    assert_int_equal(t->ops->dead_letter_mark_retried(t->s, "d1", "r9", &e), 0);
    assert_int_equal(t->ops->dead_letter_mark_retried(t->s, "zz", "r9", &e), -ENOENT);
    assert_int_equal(t->ops->dead_letter_get(t->s, "d1", &got), 0);
    assert_string_equal(got->retried_run_id, "r9");
    store_dead_letters_free(got, 1);

    assert_int_equal(t->ops->dead_letters_list(t->s, NULL, NULL, 2, &got, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].id, "d3");
    assert_string_equal(got[1].id, "d2");
    store_dead_letters_free(got, n);
    assert_int_equal(t->ops->dead_letters_list(t->s, NULL, "d2", 2, &got, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].id, "d1");
    store_dead_letters_free(got, n);
    assert_int_equal(t->ops->dead_letters_list(t->s, "acme", "d3", 0, &got, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].id, "d1");
    store_dead_letters_free(got, n);
    assert_int_equal(t->ops->dead_letters_list(t->s, "acme", "gone", 0, &got, &n), -ENOENT);

    assert_int_equal(t->ops->dead_letter_delete(t->s, "d1", &e), 0);
    assert_int_equal(t->ops->dead_letter_delete(t->s, "d1", &e), -ENOENT);
    assert_int_equal(t->ops->dead_letter_get(t->s, "d1", &got), -ENOENT);
}

static void test_cache_get_ttl(void **state)
{
    TestStore *t = *state;
    char *out = NULL;

    assert_int_equal(t->ops->cache_put(t->s, "k", "{\"v\":1}", 100, NULL), 0);
    assert_int_equal(t->ops->cache_get(t->s, "k", 99, &out), 0);
    assert_string_equal(out, "{\"v\":1}");
    free(out);
    assert_int_equal(t->ops->cache_get(t->s, "k", 100, &out), -ENOENT);
    assert_int_equal(t->ops->cache_get(t->s, "other", 0, &out), -ENOENT);
    assert_int_equal(t->ops->cache_put(t->s, "k", "{\"v\":2}", 200, NULL), 0);
    assert_int_equal(t->ops->cache_get(t->s, "k", 150, &out), 0);
    assert_string_equal(out, "{\"v\":2}");
    free(out);
}

static void ts_finish(TestStore *t, const char *id, int status, uint64_t finished)
{
    StoreRun r = ts_run(id, "acme", status, 1);
    StoreNode node = {.node_id = "n1", .status = 3, .attempts = 1, .output_json = "{}"};

    r.finished_ns = finished;
    r.idempotency_key = (char *)id;
    assert_int_equal(t->ops->run_insert(t->s, &r, NULL), 0);
    assert_int_equal(t->ops->node_put(t->s, id, &node, NULL), 0);
    ts_events(t, id, 1, 20, 32);
}

static void test_purge_oldest_finished(void **state)
{
    TestStore *t = *state;
    StoreDeadLetter d = ts_dl("d1", "acme", 1), *dl = NULL;
    StoreEvent *evs = NULL;
    StoreRun *run = NULL;
    unsigned purged = 99;
    char *out = NULL;
    size_t n = 9;

    ts_finish(t, "old1", ST_SUCCEEDED, 100);
    ts_finish(t, "old2", ST_FAILED, 200);
    ts_finish(t, "old3", ST_CANCELLED, 300);
    ts_finish(t, "new", ST_SUCCEEDED, 5000);
    ts_finish(t, "running", ST_RUNNING, 0);
    assert_int_equal(t->ops->dead_letter_put(t->s, &d, NULL), 0);
    assert_int_equal(t->ops->cache_put(t->s, "expired", "{}", 1, NULL), 0);
    assert_int_equal(t->ops->cache_put(t->s, "live", "{}", UINT64_MAX, NULL), 0);

    assert_int_equal(t->ops->purge(t->s, 1000, 2, &purged, NULL), 0);
    assert_int_equal(purged, 2);
    assert_int_equal(t->ops->run_get(t->s, "old1", &run, NULL, NULL), -ENOENT);
    assert_int_equal(t->ops->run_get(t->s, "old2", &run, NULL, NULL), -ENOENT);
    assert_int_equal(t->ops->events_read(t->s, "old1", 0, 100, &evs, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(t->ops->cache_get(t->s, "live", 2, &out), 0);
    free(out);
    /* The expired row is gone, not merely hidden by the TTL check. */
    assert_int_equal(t->ops->cache_get(t->s, "expired", 0, &out), -ENOENT);

    assert_int_equal(t->ops->purge(t->s, 1000, 2, &purged, NULL), 0);
    assert_int_equal(purged, 1);
    assert_int_equal(t->ops->purge(t->s, 1000, 2, &purged, NULL), 0);
    assert_int_equal(purged, 0);
    assert_int_equal(t->ops->run_get(t->s, "new", &run, NULL, NULL), 0);
    store_runs_free(run, 1);
    assert_int_equal(t->ops->run_get(t->s, "running", &run, NULL, NULL), 0);
    store_runs_free(run, 1);
    /* Dead letters outlive their runs. */
    assert_int_equal(t->ops->dead_letter_get(t->s, "d1", &dl), 0);
    store_dead_letters_free(dl, 1);
    /* The purged runs' idempotency keys are free again. */
    assert_int_equal(t->ops->idem_lookup(t->s, "acme", "old1", &out), -ENOENT);
}

static void test_purge_inside_transaction(void **state)
{
    TestStore *t = *state;
    StoreError e = {0};
    unsigned purged;

    assert_int_equal(t->ops->begin(t->s, &e), 0);
    assert_int_equal(t->ops->purge(t->s, UINT64_MAX, 10, &purged, &e), -EBUSY);
    assert_int_equal(t->ops->rollback(t->s), 0);
}

static void test_begin_misuse(void **state)
{
    TestStore *t = *state;
    StoreError e = {0};

    assert_int_equal(t->ops->commit(t->s, &e), -EINVAL);
    assert_int_equal(t->ops->begin(t->s, &e), 0);
    assert_int_equal(t->ops->begin(t->s, &e), -EBUSY);
    assert_int_equal(t->ops->rollback(t->s), 0);
    assert_int_equal(t->ops->rollback(t->s), 0);
}

static void test_commit_visibility(void **state)
{
    TestStore *t = *state;
    StoreRun *run = NULL;
    StoreError e = {0};

    assert_int_equal(t->ops->begin(t->s, &e), 0);
    ts_insert(t, "r1", "acme", ST_QUEUED, 1);
    ts_events(t, "r1", 1, 3, 8);
    /* Readers see committed data only. */
    assert_int_equal(t->ops->run_get(t->s, "r1", &run, NULL, NULL), -ENOENT);
    assert_int_equal(t->ops->commit(t->s, &e), 0);
    assert_int_equal(ts_last_seq(t, "r1"), 3);

    assert_int_equal(t->ops->begin(t->s, &e), 0);
    ts_insert(t, "r2", "acme", ST_QUEUED, 2);
    ts_events(t, "r1", 4, 6, 8);
    assert_int_equal(t->ops->rollback(t->s), 0);
    assert_int_equal(t->ops->run_get(t->s, "r2", &run, NULL, NULL), -ENOENT);
    assert_int_equal(ts_last_seq(t, "r1"), 3);
}

static void test_store_close_reopen_persists(void **state)
{
    TestStore *t = *state;
    StoreNode node = {.node_id = "n1", .status = 3, .attempts = 1, .output_json = "{\"y\":2}"};
    StoreNode *nodes = NULL;
    StoreRun *run = NULL;
    size_t n = 0;

    assert_int_equal(t->ops->begin(t->s, NULL), 0);
    ts_insert(t, "r1", "acme", ST_RUNNING, 1);
    assert_int_equal(t->ops->node_put(t->s, "r1", &node, NULL), 0);
    ts_events(t, "r1", 1, 10, 100);
    assert_int_equal(t->ops->commit(t->s, NULL), 0);
    assert_int_equal(t->ops->cache_put(t->s, "k", "{}", UINT64_MAX, NULL), 0);
    ts_reopen(t, true);
    ts_reopen(t, false);
    assert_int_equal(t->ops->run_get(t->s, "r1", &run, &nodes, &n), 0);
    assert_int_equal(run->last_seq, 10);
    assert_int_equal(n, 1);
    assert_string_equal(nodes[0].output_json, "{\"y\":2}");
    store_runs_free(run, 1);
    store_nodes_free(nodes, n);
    ts_events(t, "r1", 11, 11, 1);
}

const struct CMUnitTest store_ops_tests[] = {
    T(test_store_open_default_path),
    T(test_store_open_bad_location),
    T(test_store_open_in_use),
    T(test_run_insert_roundtrip),
    T(test_run_insert_duplicate),
    T(test_run_update_fields),
    T(test_idem_lookup_scoped),
    T(test_node_put_replace),
    T(test_event_put_seq),
    T(test_event_put_refused_keeps_transaction),
    T(test_events_read_paging),
    T(test_runs_list_order_and_paging),
    T(test_runs_list_unknown_cursor),
    T(test_runs_unfinished_oldest_first),
    T(test_dead_letter_lifecycle),
    T(test_cache_get_ttl),
    T(test_purge_oldest_finished),
    T(test_purge_inside_transaction),
    T(test_begin_misuse),
    T(test_commit_visibility),
    T(test_store_close_reopen_persists),
};
const size_t store_ops_tests_n = sizeof(store_ops_tests) / sizeof(store_ops_tests[0]);
