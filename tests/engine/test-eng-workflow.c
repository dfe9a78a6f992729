/* Unit tests of the engine's workflow model: validation diagnostics (every
 * problem at once, each with its path), dependency order, data assembly,
 * backoff arithmetic and the string map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/engine/eng-data.h"
#include "server/engine/eng-internal.h"
#include "server/engine/eng-workflow.h"
#include "tests/engine/wf-json.h"

static EngLimits lim;

static int setup(void **state)
{
    (void)state;
    nodes_init(NULL);
    eng_limits_default(&lim);
    return 0;
}

/* Builds; returns the joined diagnostics ("" when valid). */
static char *build(const char *json, EngWorkflow **ret)
{
    Flowd__V1__Workflow *pb = wf_from_json(json);
    Diags d = {0};
    EngWorkflow *wf = NULL;
    int r = eng_workflow_build(pb, &lim, &wf, &d);
    char *all = diags_join(&d, "\n");
    assert_int_equal(r == 0, d.len == 0);
    if (ret)
        *ret = wf;
    else
        eng_workflow_free(wf);
    diags_free(&d);
    protobuf_c_message_free_unpacked(&pb->base, NULL);
    return all;
}

static void expect_diag(const char *json, const char *needle)
{
    char *all = build(json, NULL);
    if (!strstr(all, needle))
        fail_msg("expected a diagnostic containing \"%s\", got:\n%s", needle, all);
    free(all);
}

static void test_eng_workflow_build_valid(void **state)
{
    (void)state;
    EngWorkflow *wf = NULL;
    char *all = build("{\"name\":\"w\",\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\"},{\"id\":\"b\",\"kind\":\"python\","
                      "\"config\":{\"code\":\"result=1\"}}],\"connections\":[{\"from\":\"a\",\"to\":\"b\"}]}",
                      &wf);
    assert_string_equal(all, "");
    assert_non_null(wf);
    assert_int_equal(wf->n_nodes, 2);
    assert_int_equal(wf->topo[0], 0);
    assert_int_equal(wf->topo[1], 1);
    assert_int_equal(eng_workflow_find(wf, "b"), 1);
    assert_int_equal(eng_workflow_find(wf, "zz"), -1);
    assert_int_equal(wf->nodes[1].memory_mb, lim.default_memory_mb);
    free(all);
    eng_workflow_free(wf);
}

static void test_eng_workflow_build_duplicate_id(void **state)
{
    (void)state;
    expect_diag("{\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\"},{\"id\":\"a\",\"kind\":\"noop\"}]}",
                "nodes[1].id: duplicate node id \"a\" (first used by nodes[0])");
}

static void test_eng_workflow_build_unknown_kind_suggests(void **state)
{
    (void)state;
    expect_diag("{\"nodes\":[{\"id\":\"a\",\"kind\":\"pyton\"}]}",
                "nodes[0].kind: unknown kind \"pyton\" (did you mean \"python\"?)");
}

static void test_eng_workflow_build_bad_config(void **state)
{
    (void)state;
    expect_diag("{\"nodes\":[{\"id\":\"a\",\"kind\":\"python\",\"config\":{\"function\":\"f\"}}]}",
                "nodes[0].config: a python node needs \"code\"");
}

static void test_eng_workflow_build_unknown_node_in_connection(void **state)
{
    (void)state;
    expect_diag("{\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\"}],\"connections\":[{\"from\":\"a\",\"to\":\"nope\"}]}",
                "connections[0].to: unknown node \"nope\"");
}

static void test_eng_workflow_build_cycle_names_nodes(void **state)
{
    (void)state;
    char *all = build("{\"nodes\":[{\"id\":\"s\",\"kind\":\"noop\"},{\"id\":\"x\",\"kind\":\"noop\"},"
                      "{\"id\":\"y\",\"kind\":\"noop\"},{\"id\":\"z\",\"kind\":\"noop\"}],"
                      "\"connections\":[{\"from\":\"s\",\"to\":\"x\"},{\"from\":\"x\",\"to\":\"y\"},"
                      "{\"from\":\"y\",\"to\":\"z\"},{\"from\":\"z\",\"to\":\"x\"}]}",
                      NULL);
    assert_non_null(strstr(all, "the workflow has a cycle: "));
    /* The cycle is x -> y -> z -> x from some starting node; s is not on it. */
    assert_null(strstr(all, "s ->"));
    assert_true(strstr(all, "x -> y -> z -> x") || strstr(all, "y -> z -> x -> y") || strstr(all, "z -> x -> y -> z"));
    free(all);
}

static void test_eng_workflow_build_self_loop(void **state)
{
    (void)state;
    expect_diag("{\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\"}],\"connections\":[{\"from\":\"a\",\"to\":\"a\"}]}",
                "node \"a\" is connected to itself");
}

static void test_eng_workflow_build_mapping_collision(void **state)
{
    (void)state;
    expect_diag("{\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\"},{\"id\":\"b\",\"kind\":\"noop\"},"
                "{\"id\":\"c\",\"kind\":\"noop\"}],\"connections\":[{\"from\":\"a\",\"to\":\"c\",\"mapping\":{\"x\":"
                "\"in\"}},{\"from\":\"b\",\"to\":\"c\",\"mapping\":{\"y\":\"in\"}}]}",
                "connections[1].mapping.y: input \"in\" of node \"c\" is already mapped from node \"a\"");
}

static void test_eng_workflow_build_ports(void **state)
{
    (void)state;
    const char *nodes = "{\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\"},{\"id\":\"s\",\"kind\":\"switch\",\"config\":"
                        "{\"cases\":[{\"port\":\"big\",\"when\":{\"field\":\"n\",\"op\":\">\",\"value\":0}}]}},"
                        "{\"id\":\"b\",\"kind\":\"noop\"}],\"connections\":[";
    char wf[1024];

    snprintf(wf, sizeof(wf), "%s{\"from\":\"s\",\"to\":\"b\",\"port\":\"big\"}]}", nodes);
    char *all = build(wf, NULL);
    assert_string_equal(all, "");
    free(all);
    snprintf(wf, sizeof(wf), "%s{\"from\":\"a\",\"to\":\"b\",\"port\":\"big\"}]}", nodes);
    expect_diag(wf, "connections[0].port: only connections from a switch node have a port");
    snprintf(wf, sizeof(wf), "%s{\"from\":\"s\",\"to\":\"b\",\"port\":\"huge\"}]}", nodes);
    expect_diag(wf, "connections[0].port: switch \"s\" has no port \"huge\"; its ports are \"big\", \"default\"");
}

static void test_eng_workflow_build_retry_paths(void **state)
{
    (void)state;
    const char *wf = "{\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\"},{\"id\":\"b\",\"kind\":\"noop\"},{\"id\":\"c\","
                     "\"kind\":\"noop\"},{\"id\":\"d\",\"kind\":\"noop\",\"retry\":{\"max_attempts\":3,"
                     "\"multiplier\":0.5,\"jitter\":2,\"initial_backoff_ms\":500,\"max_backoff_ms\":100}}]}";
    expect_diag(wf, "nodes[3].retry.multiplier: must be >= 1");
    expect_diag(wf, "nodes[3].retry.jitter: must be between 0 and 1");
    expect_diag(wf, "nodes[3].retry.max_backoff_ms: must be >= initial_backoff_ms (500)");
}

static void test_eng_workflow_build_on_error(void **state)
{
    (void)state;
    expect_diag("{\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\",\"on_error\":\"explode\"}]}",
                "nodes[0].on_error: \"explode\" is not one of fail, continue, fallback");
    expect_diag("{\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\",\"on_error\":\"fallback\"}]}",
                "nodes[0].fallback: on_error \"fallback\" needs a \"fallback\" object");
}

static void test_eng_workflow_build_quota(void **state)
{
    (void)state;
    EngLimits saved = lim;
    lim.max_memory_mb = 128;
    expect_diag("{\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\",\"resources\":{\"memory_mb\":4096}}]}",
                "nodes[0].resources.memory_mb: asks for 4096 MiB, more than the quota's 128 MiB");
    lim = saved;
}

static void test_eng_workflow_build_every_problem_at_once(void **state)
{
    (void)state;
    Flowd__V1__Workflow *pb =
        wf_from_json("{\"nodes\":[{\"id\":\"a\",\"kind\":\"nope\"},{\"id\":\"a\",\"kind\":\"noop\"},{\"id\":\"bad id\","
                     "\"kind\":\"noop\"}],\"connections\":[{\"from\":\"a\",\"to\":\"ghost\"}]}");
    Diags d = {0};
    EngWorkflow *wf = NULL;
    assert_int_equal(eng_workflow_build(pb, &lim, &wf, &d), -EINVAL);
    assert_null(wf);
    assert_int_equal(d.len, 4);
    diags_free(&d);
    protobuf_c_message_free_unpacked(&pb->base, NULL);
}

static void test_eng_workflow_build_empty(void **state)
{
    (void)state;
    expect_diag("{\"nodes\":[]}", "a workflow needs at least one node");
}

/* A 100,000-node chain validates and orders (O(nodes + edges); the time is
 * measured by scripts/bench dag_scale, not here). */
static void test_eng_workflow_build_large_chain(void **state)
{
    (void)state;
    size_t n = 100000;
    Flowd__V1__Workflow wf = FLOWD__V1__WORKFLOW__INIT;
    Flowd__V1__Node *nodes = calloc(n, sizeof(*nodes));
    Flowd__V1__Node **np = calloc(n, sizeof(*np));
    Flowd__V1__Connection *conns = calloc(n, sizeof(*conns));
    Flowd__V1__Connection **cp = calloc(n, sizeof(*cp));
    char(*ids)[16] = calloc(n, 16);
    for (size_t i = 0; i < n; i++) {
        flowd__v1__node__init(&nodes[i]);
        snprintf(ids[i], 16, "n%zu", i);
        nodes[i].id = ids[i];
        nodes[i].kind = "noop";
        np[i] = &nodes[i];
        if (i > 0) {
            flowd__v1__connection__init(&conns[i - 1]);
            conns[i - 1].from = ids[i - 1];
            conns[i - 1].to = ids[i];
            cp[i - 1] = &conns[i - 1];
        }
    }
    wf.n_nodes = n;
    wf.nodes = np;
    wf.n_connections = n - 1;
    wf.connections = cp;
    Diags d = {0};
    EngWorkflow *built = NULL;
    assert_int_equal(eng_workflow_build(&wf, &lim, &built, &d), 0);
    assert_int_equal(built->topo[0], 0);
    assert_int_equal(built->topo[n - 1], n - 1);
    eng_workflow_free(built);
    free(nodes);
    free(np);
    free(conns);
    free(cp);
    free(ids);
}

static const json_t *output_of(const void *ctx, uint32_t conn)
{
    json_t *const *outs = ctx;
    return outs[conn];
}

static void test_eng_assemble_inputs_precedence_and_paths(void **state)
{
    (void)state;
    EngWorkflow *wf = NULL;
    char *all =
        build("{\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\"},{\"id\":\"b\",\"kind\":\"noop\"},{\"id\":\"c\","
              "\"kind\":\"noop\",\"config\":{\"params\":{\"x\":1,\"y\":1,\"z\":1}}}],\"connections\":["
              "{\"from\":\"a\",\"to\":\"c\",\"mapping\":{\"deep.list.1\":\"y\"}},{\"from\":\"b\",\"to\":\"c\"}]}",
              &wf);
    assert_string_equal(all, "");
    json_t *outs[2] = {json_loads("{\"deep\":{\"list\":[10,20]}}", 0, NULL), json_loads("{\"z\":3,\"w\":4}", 0, NULL)};
    json_t *run_in = json_loads("{\"w\":99}", 0, NULL);
    char *err = NULL;
    json_t *in = eng_assemble_inputs(wf, 2, output_of, outs, run_in, &err);
    assert_non_null(in);
    /* params < mapped (y from a.deep.list.1) < passed through (z, w from b) < run inputs (w). */
    assert_int_equal(json_integer_value(json_object_get(in, "x")), 1);
    assert_int_equal(json_integer_value(json_object_get(in, "y")), 20);
    assert_int_equal(json_integer_value(json_object_get(in, "z")), 3);
    assert_int_equal(json_integer_value(json_object_get(in, "w")), 99);
    json_decref(in);
    json_decref(outs[0]);
    json_decref(outs[1]);
    json_decref(run_in);
    free(all);
    eng_workflow_free(wf);
}

static void test_eng_assemble_inputs_missing_path_names_connection(void **state)
{
    (void)state;
    EngWorkflow *wf = NULL;
    free(build("{\"nodes\":[{\"id\":\"load\",\"kind\":\"noop\"},{\"id\":\"save\",\"kind\":\"noop\"}],"
               "\"connections\":[{\"from\":\"load\",\"to\":\"save\",\"mapping\":{\"result.rows\":\"rows\"}}]}",
               &wf));
    json_t *outs[1] = {json_loads("{\"result\":{\"items\":[]}}", 0, NULL)};
    char *err = NULL;
    assert_null(eng_assemble_inputs(wf, 1, output_of, outs, NULL, &err));
    assert_non_null(strstr(err, "connection load -> save: the output of \"load\" has no \"result.rows\""));
    free(err);
    json_decref(outs[0]);
    eng_workflow_free(wf);
}

static void test_eng_assemble_inputs_dead_connection_skipped(void **state)
{
    (void)state;
    EngWorkflow *wf = NULL;
    free(build("{\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\"},{\"id\":\"m\",\"kind\":\"noop\"}],"
               "\"connections\":[{\"from\":\"a\",\"to\":\"m\",\"mapping\":{\"x\":\"x\"}}]}",
               &wf));
    json_t *outs[1] = {NULL};
    char *err = NULL;
    json_t *in = eng_assemble_inputs(wf, 1, output_of, outs, NULL, &err);
    assert_non_null(in);
    assert_int_equal(json_object_size(in), 0);
    json_decref(in);
    eng_workflow_free(wf);
}

static void test_eng_check_run_inputs_unknown_node(void **state)
{
    (void)state;
    EngWorkflow *wf = NULL;
    free(build("{\"nodes\":[{\"id\":\"a\",\"kind\":\"noop\"}]}", &wf));
    json_t *in = json_loads("{\"a\":{},\"b\":{},\"a2\":3}", 0, NULL);
    Diags d = {0};
    eng_check_run_inputs(wf, in, &d);
    char *all = diags_join(&d, "\n");
    assert_non_null(strstr(all, "inputs.b: there is no node \"b\""));
    assert_int_equal(d.len, 2);
    free(all);
    diags_free(&d);
    json_decref(in);
    eng_workflow_free(wf);
}

static void test_eng_path_get_arrays_and_missing(void **state)
{
    (void)state;
    json_t *v = json_loads("{\"a\":{\"b\":[{\"c\":5}]}}", 0, NULL);
    assert_int_equal(json_integer_value(eng_path_get(v, "a.b.0.c")), 5);
    assert_null(eng_path_get(v, "a.b.1.c"));
    assert_null(eng_path_get(v, "a.x"));
    assert_null(eng_path_get(v, "a.b.-1"));
    json_decref(v);
}

static void test_eng_backoff_ms_exponential_capped_jittered(void **state)
{
    (void)state;
    EngRetry p = {.max_attempts = 5, .initial_backoff_ms = 100, .multiplier = 2.0, .max_backoff_ms = 1000};
    assert_int_equal(eng_backoff_ms(&p, 1, 0.5), 100);
    assert_int_equal(eng_backoff_ms(&p, 2, 0.5), 200);
    assert_int_equal(eng_backoff_ms(&p, 3, 0.5), 400);
    assert_int_equal(eng_backoff_ms(&p, 5, 0.5), 1000);
    p.jitter = 0.5;
    assert_int_equal(eng_backoff_ms(&p, 2, 0.0), 100);
    assert_int_equal(eng_backoff_ms(&p, 2, 0.999999), 299);
}

static void test_strmap_put_get_del(void **state)
{
    (void)state;
    StrMap m;
    char keys[2000][16];
    strmap_init(&m, 4);
    for (int i = 0; i < 2000; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        assert_true(strmap_put(&m, keys[i], (uint32_t)i));
    }
    assert_false(strmap_put(&m, "k7", 1));
    for (int i = 0; i < 2000; i += 2)
        assert_true(strmap_del(&m, keys[i]));
    for (int i = 0; i < 2000; i++) {
        uint32_t v;
        assert_int_equal(strmap_get(&m, keys[i], &v), i % 2 == 1);
        if (i % 2)
            assert_int_equal(v, i);
    }
    assert_false(strmap_del(&m, "k0"));
    strmap_free(&m);
}

static void test_arena_alloc_strdup_free(void **state)
{
    (void)state;
    Arena a = {0};

    assert_null(arena_strdup(&a, NULL));
    char *s = arena_strdup(&a, "abc");
    assert_string_equal(s, "abc");
    for (int i = 0; i < 1000; i++) {
        uint64_t *v = arena_alloc(&a, 3, sizeof(uint64_t));
        assert_int_equal((uintptr_t)v % sizeof(uint64_t), 0);
        assert_true(v[0] == 0 && v[1] == 0 && v[2] == 0);
        v[0] = v[1] = v[2] = UINT64_MAX;
        assert_non_null(arena_strdup(&a, "x"));
    }
    uint32_t *big = arena_alloc(&a, 1 << 20, sizeof(uint32_t)); /* more than a block */
    big[(1 << 20) - 1] = 1;
    assert_string_equal(s, "abc");
    arena_free(&a);
    assert_null(a.blocks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eng_workflow_build_valid),
        cmocka_unit_test(test_eng_workflow_build_duplicate_id),
        cmocka_unit_test(test_eng_workflow_build_unknown_kind_suggests),
        cmocka_unit_test(test_eng_workflow_build_bad_config),
        cmocka_unit_test(test_eng_workflow_build_unknown_node_in_connection),
        cmocka_unit_test(test_eng_workflow_build_cycle_names_nodes),
        cmocka_unit_test(test_eng_workflow_build_self_loop),
        cmocka_unit_test(test_eng_workflow_build_mapping_collision),
        cmocka_unit_test(test_eng_workflow_build_ports),
        cmocka_unit_test(test_eng_workflow_build_retry_paths),
        cmocka_unit_test(test_eng_workflow_build_on_error),
        cmocka_unit_test(test_eng_workflow_build_quota),
        cmocka_unit_test(test_eng_workflow_build_every_problem_at_once),
        cmocka_unit_test(test_eng_workflow_build_empty),
        cmocka_unit_test(test_eng_workflow_build_large_chain),
        cmocka_unit_test(test_eng_assemble_inputs_precedence_and_paths),
        cmocka_unit_test(test_eng_assemble_inputs_missing_path_names_connection),
        cmocka_unit_test(test_eng_assemble_inputs_dead_connection_skipped),
        cmocka_unit_test(test_eng_check_run_inputs_unknown_node),
        cmocka_unit_test(test_eng_path_get_arrays_and_missing),
        cmocka_unit_test(test_eng_backoff_ms_exponential_capped_jittered),
        cmocka_unit_test(test_strmap_put_get_del),
        cmocka_unit_test(test_arena_alloc_strdup_free),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
