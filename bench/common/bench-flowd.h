/* bench-flowd.h: driving a running flowd from a benchmark through
 * libflowd-client (//client:client): connect, load a workflow, ExecuteRun it
 * and check that it really ran (every node succeeded in a sandbox, outputs
 * as expected), timing submit -> terminal event on the client's clock. */
#ifndef FLOWD_BENCH_FLOWD_H
#define FLOWD_BENCH_FLOWD_H

#include <flowd/client.h>
#include <stddef.h>
#include <stdint.h>

typedef struct BenchRun {
    FcEventType terminal; /* RUN_SUCCEEDED, ...; FC_EVENT_UNSPECIFIED if none came */
    size_t events;
    size_t nodes_succeeded;           /* NODE_SUCCEEDED events */
    size_t nodes_sandboxed;           /* ... that carry sandbox usage (wall time, peak memory) */
    size_t nodes_expected;            /* ... whose output contains the expected text */
    uint64_t submit_ns;               /* client CLOCK_MONOTONIC before the call */
    uint64_t terminal_ns;             /* ... when the terminal event arrived */
    uint64_t server_started_unix_ns;  /* RUN_STARTED's time */
    uint64_t server_finished_unix_ns; /* the terminal event's time */
    uint64_t node_wall_us_sum;        /* sum of usage.wall_us over the nodes */
    uint64_t node_cpu_us_sum;         /* ... of usage.cpu_user_us + cpu_system_us */
    uint64_t node_wall_us_min;        /* the fastest node's usage.wall_us */
    /* CLOCK_REALTIME, comparable with the events' times on one machine:
     * the call's start, the arrival of the terminal event, and the server's
     * time of RUN_QUEUED, the first NODE_STARTED and the last
     * NODE_SUCCEEDED. */
    uint64_t submit_real_ns, terminal_real_ns;
    uint64_t queued_unix_ns, first_node_started_unix_ns, last_node_done_unix_ns;
    char failure[256]; /* the first failure message seen, "" if none */
} BenchRun;

/* Connects to addr and waits up to 10 s for the health check to say
 * SERVING; exits the benchmark (bench_die) otherwise. */
FcClient *bench_flowd_connect(const char *addr);

/* Loads a workflow document or dies with its diagnostics. */
FcWorkflow *bench_flowd_workflow(const char *json);

/* ExecuteRun of wf. expect_output (may be NULL) is a substring every node
 * output must contain to count in nodes_expected. Returns 0 when the stream
 * ended normally (whatever the run's outcome: check ret->terminal), or the
 * negative errno of the call. */
int bench_flowd_execute(FcClient *c, const FcWorkflow *wf, const char *expect_output, BenchRun *ret);

/* True when the run succeeded with n nodes, every one sandboxed and (when
 * an expectation was given) with the expected output; otherwise writes why
 * into why. */
bool bench_run_ok(const BenchRun *r, size_t n, bool check_output, char *why, size_t why_size);

/* Client-side duration of the run, submit to terminal event, in ms. */
double bench_run_ms(const BenchRun *r);

#endif
