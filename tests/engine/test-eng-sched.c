/* Unit tests of the engine's scheduling and failure state machines, driven
 * directly on the engine thread's data structures (no store, no sandbox):
 * dependency order, parallelism and fairness, the circuit breaker, batch
 * splitting and combining. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "server/engine/eng-internal.h"
#include "tests/engine/wf-json.h"

static Engine *new_engine(unsigned workers)
{
    Engine *e = NULL;
    EngConfig cfg = {.max_workers = workers, .circuit_threshold = 2, .circuit_cooldown_ms = 20};
    eng_limits_default(&cfg.limits);
    assert_int_equal(eng_new(&cfg, &e), 0);
    return e;
}

static EngRun *new_run(Engine *e, const char *id, const char *tenant, const char *json)
{
    Flowd__V1__Workflow *pb = wf_from_json(json);
    Diags d = {0};
    EngWorkflow *wf = NULL;
    assert_int_equal(eng_workflow_build(pb, &e->cfg.limits, &wf, &d), 0);
    protobuf_c_message_free_unpacked(&pb->base, NULL);
    EngRun *r = eng_run_new(id, wf);
    r->tenant = xstrdup(tenant);
    r->owner = xstrdup("test");
    r->inputs = json_object();
    eng_runs_add(e, r);
    eng_tenant_admit(e, r);
    return r;
}

/* The run and node of the i-th queued sandbox request. */
static EngAttempt *spawned(Engine *e, size_t i)
{
    assert_true(i < e->n_spawns);
    return &e->attempts[(uint32_t)e->spawns[i].id];
}

static void drop_spawns(Engine *e)
{
    for (size_t i = 0; i < e->n_spawns; i++) {
        free((char *)e->spawns[i].input);
        for (size_t k = 0; e->spawns[i].env && e->spawns[i].env[k]; k++)
            free((char *)e->spawns[i].env[k]);
        free((void *)e->spawns[i].env);
    }
    e->n_spawns = 0;
}

static void finish(Engine *e, size_t i)
{
    EngAttempt *a = spawned(e, i);
    EngRun *r = a->run;
    uint32_t ni = a->node;
    eng_attempt_release(e, e->spawns[i].id);
    eng_node_succeeded(e, r, ni, json_object(), NULL, NULL);
}

static void free_engine(Engine *e)
{
    drop_spawns(e);
    eng_free(e);
}

static const char *chain3 = "{\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\"},{\"id\":\"b\",\"kind\":\"noop\"},"
                            "{\"id\":\"c\",\"kind\":\"noop\"}],\"connections\":[{\"from\":\"a\",\"to\":\"b\"},"
                            "{\"from\":\"b\",\"to\":\"c\"}]}";

static void test_eng_schedule_dependency_order(void **state)
{
    (void)state;
    Engine *e = new_engine(4);
    EngRun *r = new_run(e, "r1", "t", chain3);

    eng_schedule(e);
    assert_int_equal(e->n_spawns, 1); /* only a is ready */
    assert_int_equal(spawned(e, 0)->node, 0);
    finish(e, 0);
    drop_spawns(e);
    eng_schedule(e);
    assert_int_equal(e->n_spawns, 1);
    assert_int_equal(spawned(e, 0)->node, 1);
    finish(e, 0);
    drop_spawns(e);
    eng_schedule(e);
    assert_int_equal(spawned(e, 0)->node, 2);
    finish(e, 0);
    assert_int_equal(r->status, RS_SUCCEEDED);
    free_engine(e);
}

static void test_eng_schedule_parallel_up_to_workers(void **state)
{
    (void)state;
    Engine *e = new_engine(3);
    new_run(e, "r1", "t",
            "{\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\"},{\"id\":\"b\",\"kind\":\"noop\"},{\"id\":\"c\",\"kind\":"
            "\"noop\"},{\"id\":\"d\",\"kind\":\"noop\"},{\"id\":\"e\",\"kind\":\"noop\"}]}");
    eng_schedule(e);
    assert_int_equal(e->n_spawns, 3); /* five ready, three workers */
    assert_int_equal(e->running, 3);
    finish(e, 0);
    drop_spawns(e);
    eng_schedule(e);
    assert_int_equal(e->n_spawns, 1);
    free_engine(e);
}

/* Tenant a has a run of 6 ready nodes, tenant b one of 2: with 4 workers
 * each tenant gets 2, alternating, instead of a taking all 4. */
static void test_eng_schedule_fair_across_tenants(void **state)
{
    (void)state;
    Engine *e = new_engine(4);
    const char *six = "{\"nodes\":[{\"id\":\"n1\",\"kind\":\"noop\"},{\"id\":\"n2\",\"kind\":\"noop\"},{\"id\":\"n3\","
                      "\"kind\":\"noop\"},{\"id\":\"n4\",\"kind\":\"noop\"},{\"id\":\"n5\",\"kind\":\"noop\"},{\"id\":"
                      "\"n6\",\"kind\":\"noop\"}]}";
    const char *two = "{\"nodes\":[{\"id\":\"m1\",\"kind\":\"noop\"},{\"id\":\"m2\",\"kind\":\"noop\"}]}";
    EngRun *big = new_run(e, "big", "a", six);
    EngRun *small = new_run(e, "small", "b", two);

    eng_schedule(e);
    assert_int_equal(e->n_spawns, 4);
    unsigned of_big = 0, of_small = 0;
    for (size_t i = 0; i < 4; i++) {
        of_big += spawned(e, i)->run == big;
        of_small += spawned(e, i)->run == small;
        if (i > 0)
            assert_ptr_not_equal(spawned(e, i)->run, spawned(e, i - 1)->run);
    }
    assert_int_equal(of_big, 2);
    assert_int_equal(of_small, 2);
    free_engine(e);
}

static void test_eng_tenant_admit_concurrency_quota(void **state)
{
    (void)state;
    Engine *e = new_engine(4);
    EngTenant *t = eng_tenant_get(e, "q");
    t->quota.max_concurrent_runs = 1;
    t->quota.max_queued_runs = 1;
    EngRun *r1 = new_run(e, "r1", "q", chain3);
    EngRun *r2 = new_run(e, "r2", "q", chain3);

    assert_int_equal(r1->status, RS_RUNNING);
    assert_int_equal(r2->status, RS_QUEUED);
    assert_false(eng_tenant_can_queue(e, "q")); /* one waiting: the queue is full */
    assert_true(eng_tenant_can_queue(e, "other"));
    eng_run_cancel(e, r1, FK(CANCELLED), "test");
    assert_int_equal(r1->status, RS_CANCELLED);
    assert_int_equal(r2->status, RS_RUNNING); /* the next queued run started */
    free_engine(e);
}

static const char *circuit_wf = "{\"nodes\":[{\"id\":\"call\",\"kind\":\"noop\",\"circuit\":\"api\"}]}";

static void sleep_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_eng_circuit_opens_half_opens_closes(void **state)
{
    (void)state;
    Engine *e = new_engine(4);
    EngRun *r = new_run(e, "r1", "t", circuit_wf);
    char *msg = NULL;

    assert_true(eng_circuit_admit(e, r, 0, &msg)); /* closed */
    eng_circuit_result(e, r, 0, false);
    assert_true(eng_circuit_admit(e, r, 0, &msg)); /* one failure: still closed */
    eng_circuit_result(e, r, 0, false);            /* threshold 2: open */
    assert_false(eng_circuit_admit(e, r, 0, &msg));
    assert_non_null(strstr(msg, "circuit \"api\" is open after 2 consecutive failures"));
    free(msg);
    msg = NULL;
    sleep_ms(30);                                  /* past the 20 ms cool-down */
    assert_true(eng_circuit_admit(e, r, 0, &msg)); /* half-open: the trial */
    assert_true(r->ns[0].circuit_trial);
    EngRun *r2 = new_run(e, "r2", "t", circuit_wf);
    assert_false(eng_circuit_admit(e, r2, 0, &msg)); /* only one trial at a time */
    free(msg);
    msg = NULL;
    eng_circuit_result(e, r, 0, false); /* the trial failed: open again */
    assert_false(eng_circuit_admit(e, r2, 0, &msg));
    free(msg);
    msg = NULL;
    sleep_ms(30);
    assert_true(eng_circuit_admit(e, r2, 0, &msg));
    eng_circuit_result(e, r2, 0, true); /* the trial succeeded: closed */
    assert_true(eng_circuit_admit(e, r, 0, &msg));
    assert_true(eng_circuit_admit(e, r2, 0, &msg));
    free_engine(e);
}

static void test_eng_circuit_scoped_by_tenant(void **state)
{
    (void)state;
    Engine *e = new_engine(4);
    EngRun *a = new_run(e, "ra", "team-a", circuit_wf);
    EngRun *b = new_run(e, "rb", "team-b", circuit_wf);
    char *msg = NULL;

    eng_circuit_result(e, a, 0, false);
    eng_circuit_result(e, a, 0, false);
    assert_false(eng_circuit_admit(e, a, 0, &msg));
    free(msg);
    assert_true(eng_circuit_admit(e, b, 0, &msg)); /* another tenant's breaker */
    free_engine(e);
}

static void test_eng_batch_split_and_combine(void **state)
{
    (void)state;
    Engine *e = new_engine(4);
    EngRun *r = new_run(e, "r1", "t",
                        "{\"nodes\":[{\"id\":\"b\",\"kind\":\"noop\",\"batch\":{\"input\":\"items\",\"size\":4}}]}");
    json_t *in = json_loads("{\"items\":[1,2,3,4,5,6,7,8,9,10],\"keep\":\"x\"}", 0, NULL);
    EngBatch *b = NULL;
    char *err = NULL;

    assert_int_equal(eng_batch_split(&r->wf->nodes[0], in, &b, &err), 0);
    assert_int_equal(b->n, 3);
    assert_int_equal(json_array_size(json_object_get(b->inputs[2], "items")), 2);
    assert_string_equal(json_string_value(json_object_get(b->inputs[1], "keep")), "x");
    for (uint32_t c = 0; c < b->n; c++) {
        json_t *items = json_object_get(b->inputs[c], "items");
        b->outputs[c] = json_pack("{s:O,s:i,s:s}", "items", items, "count", (int)json_array_size(items), "tag", "t");
    }
    json_t *all = eng_batch_combine(b);
    assert_int_equal(json_array_size(json_object_get(all, "items")), 10);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(all, "items"), 9)), 10);
    assert_int_equal(json_integer_value(json_object_get(all, "count")), 10);
    assert_string_equal(json_string_value(json_object_get(all, "tag")), "t");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(all, "batch"), "chunks")), 3);
    json_decref(all);
    eng_batch_free(b);
    json_object_set_new(in, "items", json_string("not an array"));
    assert_int_equal(eng_batch_split(&r->wf->nodes[0], in, &b, &err), -EINVAL);
    assert_non_null(strstr(err, "no array under that key"));
    free(err);
    json_decref(in);
    free_engine(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eng_schedule_dependency_order),
        cmocka_unit_test(test_eng_schedule_parallel_up_to_workers),
        cmocka_unit_test(test_eng_schedule_fair_across_tenants),
        cmocka_unit_test(test_eng_tenant_admit_concurrency_quota),
        cmocka_unit_test(test_eng_circuit_opens_half_opens_closes),
        cmocka_unit_test(test_eng_circuit_scoped_by_tenant),
        cmocka_unit_test(test_eng_batch_split_and_combine),
    };
    nodes_init(NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
