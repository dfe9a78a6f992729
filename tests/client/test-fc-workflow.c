/* test-fc-workflow: loading workflow and inputs files (client/fc-workflow.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "flowd/client.h"

static const char good[] =
    "{\n"
    "  \"name\": \"production-etl\",\n"
    "  \"description\": \"Production ETL Pipeline\",\n"
    "  \"timeout_seconds\": 600,\n"
    "  \"nodes\": [\n"
    "    {\"id\": \"report\", \"kind\": \"noop\"},\n"
    "    {\"id\": \"input_validator\", \"kind\": \"python\",\n"
    "     \"config\": {\"code\": \"def f(customers): ...\", \"function\": \"f\"},\n"
    "     \"resources\": {\"memory_mb\": 256, \"cpu_millis\": 500, \"pids\": 32},\n"
    "     \"timeout_seconds\": 30,\n"
    "     \"retry\": {\"max_attempts\": 3, \"initial_backoff_ms\": 200,\n"
    "               \"multiplier\": 2.0, \"max_backoff_ms\": 10000, \"jitter\": 0.1},\n"
    "     \"on_error\": \"fallback\", \"fallback\": {\"result\": [], \"status\": \"degraded\"},\n"
    "     \"secrets\": [\"OPENAI_API_KEY\"], \"circuit\": \"payments-api\",\n"
    "     \"cache\": {\"ttl_seconds\": 600}, \"batch\": {\"input\": \"records\", \"size\": 1000}},\n"
    "    {\"id\": \"main_processor\", \"kind\": \"select\", \"config\": null}\n"
    "  ],\n"
    "  \"connections\": [\n"
    "    {\"from\": \"input_validator\", \"to\": \"main_processor\",\n"
    "     \"mapping\": {\"result\": \"validated_inputs\"}},\n"
    "    {\"from\": \"main_processor\", \"to\": \"report\", \"port\": \"ok\"}\n"
    "  ]\n"
    "}\n";

static const char *find_message(const FcDiagnostics *d, const char *path)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->items[i].path, path) == 0)
            return d->items[i].message;
    return NULL;
}

static void test_fc_workflow_load_string_good(void **state)
{
    FcDiagnostics d = {0};
    FcWorkflow *wf = NULL;
    FcError err = {0};
    (void)state;

    assert_int_equal(fc_workflow_load_string(good, strlen(good), &d, &wf, &err), 0);
    assert_int_equal(d.n, 0);
    assert_string_equal(fc_workflow_name(wf), "production-etl");
    assert_int_equal(fc_workflow_node_count(wf), 3);
    assert_string_equal(fc_workflow_node_id(wf, 1), "input_validator");
    assert_null(fc_workflow_node_id(wf, 3));
    assert_true(fc_workflow_has_node(wf, "report"));
    assert_false(fc_workflow_has_node(wf, "nope"));
    fc_workflow_free(wf);
}

static void test_fc_workflow_topo_order_follows_connections(void **state)
{
    FcWorkflow *wf = NULL;
    const char **ids = NULL;
    size_t n = 0;
    (void)state;

    assert_int_equal(fc_workflow_load_string(good, strlen(good), NULL, &wf, NULL), 0);
    assert_int_equal(fc_workflow_topo_order(wf, &ids, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(ids[0], "input_validator");
    assert_string_equal(ids[1], "main_processor");
    assert_string_equal(ids[2], "report");
    free(ids);
    fc_workflow_free(wf);
}

static void test_fc_workflow_topo_order_cycle_last(void **state)
{
    static const char cyc[] = "{\"nodes\": [{\"id\": \"a\"}, {\"id\": \"b\"}, {\"id\": \"c\"}],"
                              " \"connections\": [{\"from\": \"a\", \"to\": \"b\"}, {\"from\": \"b\", \"to\": \"a\"}]}";
    FcWorkflow *wf = NULL;
    const char **ids = NULL;
    size_t n = 0;
    (void)state;

    assert_int_equal(fc_workflow_load_string(cyc, strlen(cyc), NULL, &wf, NULL), 0);
    assert_int_equal(fc_workflow_topo_order(wf, &ids, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(ids[0], "c");
    assert_string_equal(ids[1], "a");
    assert_string_equal(ids[2], "b");
    free(ids);
    fc_workflow_free(wf);
}

static void test_fc_workflow_load_string_syntax_error_line_column(void **state)
{
    static const char bad[] = "{\n  \"name\": \"x\",\n  \"nodes\": [\n    {\"id\": \"a\",}\n  ]\n}\n";
    FcDiagnostics d = {0};
    FcWorkflow *wf = NULL;
    FcError err = {0};
    (void)state;

    assert_int_equal(fc_workflow_load_string(bad, strlen(bad), &d, &wf, &err), -EINVAL);
    assert_null(wf);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.items[0].line, 4);
    assert_int_equal(d.items[0].column, 16);
    assert_non_null(strstr(d.items[0].message, "JSON syntax error"));
    assert_int_equal(err.errnum, EINVAL);
    fc_diagnostics_clear(&d);
    assert_int_equal(d.n, 0);
}

static void test_fc_workflow_load_string_duplicate_key(void **state)
{
    static const char bad[] = "{\"name\": \"x\", \"name\": \"y\"}";
    FcDiagnostics d = {0};
    FcWorkflow *wf = NULL;
    (void)state;

    assert_int_equal(fc_workflow_load_string(bad, strlen(bad), &d, &wf, NULL), -EINVAL);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.items[0].message, "duplicate"));
    fc_diagnostics_clear(&d);
}

static void test_fc_workflow_load_string_type_errors_have_paths(void **state)
{
    static const char bad[] = "{\"name\": 7, \"nodes\": [{\"id\": \"a\"}, {\"id\": \"b\"},"
                              " {\"id\": \"c\", \"retry\": {\"max_attempts\": -1, \"multiplier\": \"two\"},"
                              "  \"timeout_seconds\": 1.5, \"resources\": {\"memory_mb\": 5000000000},"
                              "  \"config\": [1], \"secrets\": [\"A\", 3], \"on_error\": \"explode\"}],"
                              " \"connections\": [{\"from\": \"a\", \"to\": \"c\", \"mapping\": {\"x\": 1}}, 5]}";
    FcDiagnostics d = {0};
    FcWorkflow *wf = NULL;
    FcError err = {0};
    (void)state;

    assert_int_equal(fc_workflow_load_string(bad, strlen(bad), &d, &wf, &err), -EINVAL);
    assert_string_equal(find_message(&d, "name"), "must be a string, not an integer");
    assert_string_equal(find_message(&d, "nodes[2].retry.max_attempts"), "must be a non-negative integer, not -1");
    assert_string_equal(find_message(&d, "nodes[2].retry.multiplier"), "must be a number, not a string");
    assert_string_equal(find_message(&d, "nodes[2].timeout_seconds"), "must be a non-negative integer, not a number");
    assert_string_equal(find_message(&d, "nodes[2].resources.memory_mb"), "must be at most 4294967295");
    assert_string_equal(find_message(&d, "nodes[2].config"), "must be a JSON object, not an array");
    assert_string_equal(find_message(&d, "nodes[2].secrets[1]"), "must be a string, not an integer");
    assert_non_null(strstr(find_message(&d, "nodes[2].on_error"), "\"explode\""));
    assert_non_null(find_message(&d, "connections[0].mapping.x"));
    assert_string_equal(find_message(&d, "connections[1]"), "must be an object, not an integer");
    assert_int_equal(d.n, 10);
    assert_non_null(strstr(err.message, "10 problems"));
    fc_diagnostics_clear(&d);
}

static void test_fc_workflow_load_string_unknown_keys_suggest(void **state)
{
    static const char bad[] = "{\"nodez\": [], \"nodes\": [{\"id\": \"a\", \"retyr\": {},"
                              " \"retry\": {\"max_attemps\": 2}, \"zzzzzzzzzz\": 1}]}";
    FcDiagnostics d = {0};
    FcWorkflow *wf = NULL;
    (void)state;

    assert_int_equal(fc_workflow_load_string(bad, strlen(bad), &d, &wf, NULL), -EINVAL);
    assert_int_equal(d.n, 4);
    assert_string_equal(find_message(&d, "nodez"), "unknown key \"nodez\"; did you mean \"nodes\"?");
    assert_string_equal(find_message(&d, "nodes[0].retyr"), "unknown key \"retyr\"; did you mean \"retry\"?");
    assert_string_equal(find_message(&d, "nodes[0].retry.max_attemps"),
                        "unknown key \"max_attemps\"; did you mean \"max_attempts\"?");
    assert_non_null(strstr(find_message(&d, "nodes[0].zzzzzzzzzz"), "known keys here: id, kind"));
    fc_diagnostics_clear(&d);
}

static void test_fc_workflow_load_string_not_an_object(void **state)
{
    FcDiagnostics d = {0};
    FcWorkflow *wf = NULL;
    (void)state;

    assert_int_equal(fc_workflow_load_string("[1]", 3, &d, &wf, NULL), -EINVAL);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.items[0].path, "");
    assert_non_null(strstr(d.items[0].message, "not an array"));
    fc_diagnostics_clear(&d);
}

static void test_fc_workflow_load_file_missing(void **state)
{
    FcDiagnostics d = {0};
    FcWorkflow *wf = NULL;
    FcError err = {0};
    (void)state;

    assert_int_equal(fc_workflow_load_file("/nonexistent/wf.json", &d, &wf, &err), -ENOENT);
    assert_int_equal(d.n, 0);
    assert_non_null(strstr(err.message, "/nonexistent/wf.json"));
}

static void test_fc_workflow_load_file_good(void **state)
{
    char path[] = "/tmp/fc-wf-XXXXXX";
    int fd = mkstemp(path);
    FcWorkflow *wf = NULL;
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, good, strlen(good)), (ssize_t)strlen(good));
    close(fd);
    assert_int_equal(fc_workflow_load_file(path, NULL, &wf, NULL), 0);
    assert_int_equal(fc_workflow_node_count(wf), 3);
    fc_workflow_free(wf);
    unlink(path);
}

static void test_fc_inputs_load_string_checks_nodes(void **state)
{
    static const char in_good[] = "{\"input_validator\": {\"customers\": [1, 2]}}";
    static const char in_bad[] = "{\"input_validatr\": {}, \"report\": 3}";
    FcDiagnostics d = {0};
    FcWorkflow *wf = NULL;
    char *json = NULL;
    (void)state;

    assert_int_equal(fc_workflow_load_string(good, strlen(good), NULL, &wf, NULL), 0);
    assert_int_equal(fc_inputs_load_string(in_good, strlen(in_good), wf, &d, &json, NULL), 0);
    assert_string_equal(json, "{\"input_validator\":{\"customers\":[1,2]}}");
    free(json);
    assert_int_equal(fc_inputs_load_string(in_bad, strlen(in_bad), wf, &d, &json, NULL), -EINVAL);
    assert_int_equal(d.n, 2);
    assert_string_equal(find_message(&d, "input_validatr"), "the workflow has no node \"input_validatr\"; did you mean "
                                                            "\"input_validator\"?");
    assert_non_null(strstr(find_message(&d, "report"), "must be a JSON object"));
    fc_diagnostics_clear(&d);
    assert_int_equal(fc_inputs_load_string("[]", 2, NULL, &d, &json, NULL), -EINVAL);
    fc_diagnostics_clear(&d);
    fc_workflow_free(wf);
}

static void test_fc_enum_names(void **state)
{
    FcRunStatus st;
    FcEventType t;
    (void)state;

    assert_string_equal(fc_event_type_name(FC_EVENT_NODE_SUCCEEDED), "NODE_SUCCEEDED");
    assert_string_equal(fc_event_type_name((FcEventType)99), "?");
    assert_string_equal(fc_status_name(FC_STATUS_UNAUTHENTICATED), "UNAUTHENTICATED");
    assert_string_equal(fc_failure_kind_name(FC_FAILURE_OOM_KILLED), "OOM_KILLED");
    assert_int_equal(fc_run_status_from_name("failed", &st), 0);
    assert_int_equal(st, FC_RUN_FAILED);
    assert_int_equal(fc_run_status_from_name("bogus", &st), -EINVAL);
    assert_int_equal(fc_event_type_from_name("node_log", &t), 0);
    assert_int_equal(t, FC_EVENT_NODE_LOG);
    assert_true(fc_event_type_is_terminal(FC_EVENT_RUN_CANCELLED));
    assert_false(fc_event_type_is_terminal(FC_EVENT_NODE_FAILED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fc_workflow_load_string_good),
        cmocka_unit_test(test_fc_workflow_topo_order_follows_connections),
        cmocka_unit_test(test_fc_workflow_topo_order_cycle_last),
        cmocka_unit_test(test_fc_workflow_load_string_syntax_error_line_column),
        cmocka_unit_test(test_fc_workflow_load_string_duplicate_key),
        cmocka_unit_test(test_fc_workflow_load_string_type_errors_have_paths),
        cmocka_unit_test(test_fc_workflow_load_string_unknown_keys_suggest),
        cmocka_unit_test(test_fc_workflow_load_string_not_an_object),
        cmocka_unit_test(test_fc_workflow_load_file_missing),
        cmocka_unit_test(test_fc_workflow_load_file_good),
        cmocka_unit_test(test_fc_inputs_load_string_checks_nodes),
        cmocka_unit_test(test_fc_enum_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
