/* bench-flowd.c: ExecuteRun from a benchmark, with the checks that make the
 * timing mean something (the run succeeded, each node ran in a sandbox). */
#include "bench/common/bench-flowd.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <math.h>

#include "bench/common/bench-util.h"

FcClient *bench_flowd_connect(const char *addr)
{
    FcClientOptions o = {.address = addr, .timeout_ms = 5000};
    FcClient *c = NULL;
    FcError err = {0};

    if (!addr)
        bench_die("no flowd address: pass --addr HOST:PORT (scripts/bench starts one)");
    if (fc_client_new(&o, &c, &err) < 0)
        bench_die("cannot connect to %s: %s", addr, err.message);
    for (int i = 0; i < 100; i++) {
        FcHealthStatus st = FC_HEALTH_UNKNOWN;
        if (fc_health_check(c, NULL, &st, &err) == 0 && st == FC_HEALTH_SERVING)
            return c;
        usleep(100000);
    }
    bench_die("flowd at %s is not SERVING: %s", addr, err.message);
}

FcWorkflow *bench_flowd_workflow(const char *json)
{
    FcDiagnostics d = {0};
    FcWorkflow *wf = NULL;
    FcError err = {0};

    if (fc_workflow_load_string(json, strlen(json), &d, &wf, &err) < 0) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "  %s: %s\n", d.items[i].path, d.items[i].message);
        bench_die("the benchmark's workflow does not load: %s", err.message);
    }
    return wf;
}

static uint64_t real_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct Collect {
    BenchRun *run;
    const char *expect;
} Collect;

static void note_failure(BenchRun *r, const FcEvent *ev)
{
    if (r->failure[0])
        return;
    snprintf(r->failure, sizeof(r->failure), "%s %.64s: %.150s", fc_event_type_name(ev->type), ev->node_id,
             ev->has_failure ? ev->failure.message : ev->message);
}

static int on_event(const FcEvent *ev, void *userdata)
{
    Collect *k = userdata;
    BenchRun *r = k->run;

    r->events++;
    switch (ev->type) {
    case FC_EVENT_RUN_QUEUED:
        r->queued_unix_ns = ev->time_unix_nano;
        break;
    case FC_EVENT_NODE_STARTED:
        if (!r->first_node_started_unix_ns)
            r->first_node_started_unix_ns = ev->time_unix_nano;
        break;
    case FC_EVENT_RUN_STARTED:
        r->server_started_unix_ns = ev->time_unix_nano;
        break;
    case FC_EVENT_NODE_SUCCEEDED:
        r->nodes_succeeded++;
        r->last_node_done_unix_ns = ev->time_unix_nano;
        /* Usage comes from the sandbox's wait4() and cgroup: a node that
         * skipped its sandbox (cached, short-circuited) would carry none. */
        if (ev->has_usage && ev->usage.wall_us > 0 && ev->usage.peak_memory_bytes > 0)
            r->nodes_sandboxed++;
        r->node_wall_us_sum += ev->has_usage ? ev->usage.wall_us : 0;
        r->node_cpu_us_sum += ev->has_usage ? ev->usage.cpu_user_us + ev->usage.cpu_system_us : 0;
        if (ev->has_usage && (!r->node_wall_us_min || ev->usage.wall_us < r->node_wall_us_min))
            r->node_wall_us_min = ev->usage.wall_us;
        if (k->expect && ev->output_json && strstr(ev->output_json, k->expect))
            r->nodes_expected++;
        break;
    case FC_EVENT_NODE_FAILED:
    case FC_EVENT_NODE_RETRYING:
    case FC_EVENT_RUN_FAILED:
    case FC_EVENT_RUN_CANCELLED:
        note_failure(r, ev);
        break;
    default:
        break;
    }
    if (fc_event_type_is_terminal(ev->type)) {
        r->terminal_ns = bench_now_ns();
        r->terminal_real_ns = real_ns();
        r->terminal = ev->type;
        r->server_finished_unix_ns = ev->time_unix_nano;
    }
    return 0;
}

int bench_flowd_execute(FcClient *c, const FcWorkflow *wf, const char *expect_output, BenchRun *ret)
{
    Collect k = {.run = ret, .expect = expect_output};
    FcStreamHandlers h = {.on_event = on_event, .userdata = &k, .tick_ms = 60000};
    FcError err = {0};

    memset(ret, 0, sizeof(*ret));
    ret->submit_real_ns = real_ns();
    ret->submit_ns = bench_now_ns();
    int r = fc_execute(c, wf, NULL, &h, &err);
    if (r < 0 && !ret->failure[0])
        snprintf(ret->failure, sizeof(ret->failure), "ExecuteRun: %.200s", err.message);
    return r;
}

bool bench_run_ok(const BenchRun *r, size_t n, bool check_output, char *why, size_t why_size)
{
    if (r->terminal != FC_EVENT_RUN_SUCCEEDED)
        snprintf(why, why_size, "the run ended %s (%s)",
                 r->terminal ? fc_event_type_name(r->terminal) : "without a terminal event", r->failure);
    else if (r->nodes_succeeded != n)
        snprintf(why, why_size, "%zu of %zu nodes succeeded", r->nodes_succeeded, n);
    else if (r->nodes_sandboxed != n)
        snprintf(why, why_size, "only %zu of %zu nodes report sandbox usage", r->nodes_sandboxed, n);
    else if (check_output && r->nodes_expected != n)
        snprintf(why, why_size, "only %zu of %zu node outputs are as expected", r->nodes_expected, n);
    else
        return true;
    return false;
}

double bench_run_ms(const BenchRun *r) { return (double)(r->terminal_ns - r->submit_ns) / 1e6; }
