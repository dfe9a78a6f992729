/* flowd's families and the calls the engine and the RPC layer make. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/metrics/met-test.h"

static int setup(void **state)
{
    (void)state;
    return met_flowd_init("1.2.3-test");
}

static int teardown(void **state)
{
    (void)state;
    met_flowd_free();
    return 0;
}

static char *flowd_text(void) { return render(met_flowd_registry()); }

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("missing: %s", needle);
}

static void test_met_flowd_calls_before_init_do_nothing(void **state)
{
    (void)state;
    assert_null(met_flowd_registry());
    met_run_finished("t", "succeeded");
    met_node_finished("noop", "succeeded", 1);
    met_node_retry("noop");
    met_oom_kill();
    met_sandbox_violation();
    met_sandbox_spawn(0.001);
    met_dead_letter();
    met_circuit_state("c", MET_CIRCUIT_OPEN);
    met_grpc_request("SubmitRun", 0, 0.01);
    met_store_write(0.001);
    met_set_queue_depth(3);
    met_set_running_sandboxes(2);
    met_set_ready(true);
    met_flowd_set_gauges_fn(NULL, NULL);
}

static void test_met_flowd_init_twice(void **state)
{
    (void)state;
    assert_int_equal(met_flowd_init("again"), -EALREADY);
}

static void test_met_flowd_declares_every_family(void **state)
{
    (void)state;
    static const char *const names[] = {
        "flowd_runs_total counter",
        "flowd_nodes_total counter",
        "flowd_node_duration_seconds histogram",
        "flowd_sandbox_spawn_seconds histogram",
        "flowd_oom_kills_total counter",
        "flowd_sandbox_violations_total counter",
        "flowd_node_retries_total counter",
        "flowd_circuit_state gauge",
        "flowd_dead_letters_total counter",
        "flowd_queue_depth gauge",
        "flowd_running_sandboxes gauge",
        "flowd_grpc_requests_total counter",
        "flowd_grpc_request_duration_seconds histogram",
        "flowd_store_write_seconds histogram",
        "process_resident_memory_bytes gauge",
        "process_open_fds gauge",
        "flowd_build_info gauge",
        "flowd_ready gauge",
    };
    char *text = flowd_text();
    char line[128];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(line, sizeof(line), "# TYPE %s\n", names[i]);
        assert_contains(text, line);
    }
    /* Families without labels are present from the start, so rate() and
     * increase() work from the first scrape. */
    assert_contains(text, "\nflowd_dead_letters_total 0\n");
    assert_contains(text, "\nflowd_oom_kills_total 0\n");
    assert_contains(text, "\nflowd_build_info{version=\"1.2.3-test\"} 1\n");
    free(text);
}

static void test_met_run_finished_labels(void **state)
{
    (void)state;
    met_run_finished("acme", "SUCCEEDED");
    met_run_finished("acme", "succeeded");
    met_run_finished("acme", "Failed");
    met_run_finished("acme", "RUNNING"); /* not terminal: folded */
    met_run_finished("acme", "a-status-much-longer-than-any-real-one");
    char *text = flowd_text();
    assert_contains(text, "flowd_runs_total{tenant=\"acme\",status=\"failed\"} 1\n");
    assert_contains(text, "flowd_runs_total{tenant=\"acme\",status=\"other\"} 2\n");
    assert_contains(text, "flowd_runs_total{tenant=\"acme\",status=\"succeeded\"} 2\n");
    free(text);
}

static void test_met_node_finished_and_retry(void **state)
{
    (void)state;
    met_node_finished("python", "SUCCEEDED", 0.2);
    met_node_finished("python", "failed", 3);
    met_node_finished("python", "skipped", -1); /* counted, not timed */
    met_node_retry("python");
    met_node_retry("python");
    char *text = flowd_text();
    assert_contains(text, "flowd_nodes_total{kind=\"python\",status=\"skipped\"} 1\n");
    assert_contains(text, "flowd_node_duration_seconds_bucket{kind=\"python\",le=\"0.25\"} 1\n");
    assert_contains(text, "flowd_node_duration_seconds_bucket{kind=\"python\",le=\"+Inf\"} 2\n");
    assert_contains(text, "flowd_node_duration_seconds_sum{kind=\"python\"} 3.2\n");
    assert_contains(text, "flowd_node_duration_seconds_count{kind=\"python\"} 2\n");
    assert_contains(text, "flowd_node_retries_total{kind=\"python\"} 2\n");
    free(text);
}

static void test_met_flowd_counters_without_labels(void **state)
{
    (void)state;
    met_oom_kill();
    met_sandbox_violation();
    met_sandbox_violation();
    met_dead_letter();
    met_sandbox_spawn(0.0002);
    met_store_write(0.003);
    char *text = flowd_text();
    assert_contains(text, "\nflowd_oom_kills_total 1\n");
    assert_contains(text, "\nflowd_sandbox_violations_total 2\n");
    assert_contains(text, "\nflowd_dead_letters_total 1\n");
    assert_contains(text, "\nflowd_sandbox_spawn_seconds_bucket{le=\"0.00025\"} 1\n");
    assert_contains(text, "\nflowd_store_write_seconds_bucket{le=\"0.0025\"} 0\n");
    assert_contains(text, "\nflowd_store_write_seconds_bucket{le=\"0.005\"} 1\n");
    free(text);
}

static void test_met_grpc_request_method_and_code(void **state)
{
    (void)state;
    met_grpc_request("/flowd.v1.WorkflowService/SubmitRun", 0, 0.004);
    met_grpc_request("SubmitRun", 3, 0.002);
    met_grpc_request("/grpc.health.v1.Health/Check", 0, 0.0001);
    met_grpc_request("/evil.Service/run-0192f3a1b2c3d", 12, 0.001);
    met_grpc_request("GetRun", 99, 0.001);
    char *text = flowd_text();
    assert_contains(text, "flowd_grpc_requests_total{method=\"SubmitRun\",code=\"OK\"} 1\n");
    assert_contains(text, "flowd_grpc_requests_total{method=\"SubmitRun\",code=\"INVALID_ARGUMENT\"} 1\n");
    assert_contains(text, "flowd_grpc_requests_total{method=\"Check\",code=\"OK\"} 1\n");
    assert_contains(text, "flowd_grpc_requests_total{method=\"other\",code=\"UNIMPLEMENTED\"} 1\n");
    assert_contains(text, "flowd_grpc_requests_total{method=\"GetRun\",code=\"UNKNOWN\"} 1\n");
    assert_contains(text, "flowd_grpc_request_duration_seconds_count{method=\"SubmitRun\"} 2\n");
    assert_string_equal(met_grpc_code_name(16), "UNAUTHENTICATED");
    assert_string_equal(met_grpc_code_name(-1), "UNKNOWN");
    free(text);
}

static void test_met_circuit_state_gauge(void **state)
{
    (void)state;
    met_circuit_state("payments-api", MET_CIRCUIT_OPEN);
    met_circuit_state("search", MET_CIRCUIT_HALF_OPEN);
    met_circuit_state("search", MET_CIRCUIT_CLOSED);
    met_circuit_state("search", (MetCircuitState)7); /* ignored */
    char *text = flowd_text();
    assert_contains(text, "flowd_circuit_state{circuit=\"payments-api\"} 2\n");
    assert_contains(text, "flowd_circuit_state{circuit=\"search\"} 0\n");
    free(text);
}

/* Tenants and node kinds come from configuration and workflows: a flood of
 * distinct values stays within each family's cap. */
static void test_met_flowd_label_caps(void **state)
{
    (void)state;
    char v[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(v, sizeof(v), "tenant-%d", i);
        met_run_finished(v, "succeeded");
        snprintf(v, sizeof(v), "plugin:p%d", i);
        met_node_finished(v, "failed", 0.01);
        snprintf(v, sizeof(v), "circuit-%d", i);
        met_circuit_state(v, MET_CIRCUIT_OPEN);
    }
    char *text = flowd_text();
    assert_true(count_lines(text, "flowd_runs_total{") <= 192 + 17);
    assert_true(count_lines(text, "flowd_nodes_total{") <= 160 + 17);
    assert_true(count_lines(text, "flowd_node_duration_seconds_count{") <= 40 + 17);
    assert_true(count_lines(text, "flowd_circuit_state{") <= 64 + 17);
    assert_contains(text, "flowd_runs_total{tenant=\"other\",status=\"succeeded\"} 4808\n");
    assert_contains(text, "flowd_metrics_label_overflow_total{family=\"flowd_runs_total\"} 4808\n");
    free(text);
}

static void fill_gauges(MetFlowdGauges *g, void *userdata)
{
    int *calls = userdata;
    (*calls)++;
    *g = (MetFlowdGauges){.queue_depth = 12, .active_runs = 3, .running_sandboxes = 5, .ready = true};
}

static void test_met_flowd_gauges_fn_runs_at_scrape(void **state)
{
    (void)state;
    int calls = 0;
    met_flowd_set_gauges_fn(fill_gauges, &calls);
    char *text = flowd_text();
    assert_int_equal(calls, 1);
    assert_contains(text, "\nflowd_queue_depth 12\n");
    assert_contains(text, "\nflowd_active_runs 3\n");
    assert_contains(text, "\nflowd_running_sandboxes 5\n");
    assert_contains(text, "\nflowd_ready 1\n");
    free(text);
    met_flowd_set_gauges_fn(NULL, NULL);
    met_set_ready(false);
    met_set_queue_depth(1);
    text = flowd_text();
    assert_int_equal(calls, 1);
    assert_contains(text, "\nflowd_ready 0\n");
    assert_contains(text, "\nflowd_queue_depth 1\n");
    free(text);
}

static void test_met_process_read_proc(void **state)
{
    (void)state;
    MetProcess p;
    assert_int_equal(met_process_read(&p), 0);
    assert_true(p.resident_bytes > 0);
    assert_true(p.open_fds >= 3 || p.open_fds > 0);
    assert_true(p.start_time_seconds > 1.5e9);
    char *text = flowd_text();
    assert_null(strstr(text, "\nprocess_resident_memory_bytes 0\n"));
    assert_null(strstr(text, "\nprocess_open_fds 0\n"));
    free(text);
}

int run_flowd_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_met_flowd_calls_before_init_do_nothing),
        cmocka_unit_test_setup_teardown(test_met_flowd_init_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_flowd_declares_every_family, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_run_finished_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_node_finished_and_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_flowd_counters_without_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_grpc_request_method_and_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_circuit_state_gauge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_flowd_label_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_flowd_gauges_fn_runs_at_scrape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_process_read_proc, setup, teardown),
    };
    return cmocka_run_group_tests_name("met_flowd", tests, NULL, NULL);
}
