/* bench_throughput.c: nodes/s of one run of 5,000 independent noop nodes
 * through a real flowd (gRPC ExecuteRun, engine, store, sandbox).
 *
 * Every measured run must end RUN_SUCCEEDED with exactly --nodes
 * NODE_SUCCEEDED events, each carrying the sandbox's usage (wall time and
 * peak memory from the attempt's wait4/cgroup), so a node the server did not
 * really run in a sandbox cannot count. The rate is nodes / (submit ->
 * terminal event) on the client's clock; the server's own RUN_STARTED ->
 * terminal span is printed beside it.
 *
 * Usage: bench_throughput --addr HOST:PORT [--json PATH] [--quick]
 *                         [--nodes N] [--runs R] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/common/bench-flowd.h"
#include "bench/common/bench-util.h"

#define TARGET_NODES_PER_S 5000.0

static char *noop_workflow(size_t n)
{
    size_t cap = 64 + n * 40, len = 0;
    char *s = malloc(cap);

    if (!s)
        bench_die("out of memory");
    len += (size_t)snprintf(s + len, cap - len, "{\"name\": \"bench-throughput-%zu\", \"nodes\": [", n);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s{\"id\": \"n%zu\", \"kind\": \"noop\"}", i ? ", " : "", i);
    snprintf(s + len, cap - len, "]}");
    return s;
}

/* One checked run; returns its nodes/s and the server-side span in ms. */
static double one_run(FcClient *c, const FcWorkflow *wf, size_t n, double *server_ms)
{
    BenchRun r;
    char why[512];

    if (bench_flowd_execute(c, wf, NULL, &r) < 0 || !bench_run_ok(&r, n, false, why, sizeof(why)))
        bench_die("throughput run failed: %s", r.failure[0] ? r.failure : why);
    *server_ms = (double)(r.server_finished_unix_ns - r.server_started_unix_ns) / 1e6;
    return (double)n * 1000.0 / bench_run_ms(&r);
}

int main(int argc, char **argv)
{
    BenchArgs a;
    size_t n = 5000;
    int runs = 5;
    int i = bench_args(argc, argv, &a);

    if (i < 0)
        return 2;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--nodes") == 0 && i + 1 < argc)
            n = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else
            bench_die("unknown option %s", argv[i]);
    }
    if (a.quick)
        runs = 2;
    if (runs < 1 || n < 1)
        bench_die("--runs and --nodes must be positive");

    FcClient *c = bench_flowd_connect(a.addr);
    char *json = noop_workflow(n), *warm_json = noop_workflow(500);
    FcWorkflow *wf = bench_flowd_workflow(json), *warm = bench_flowd_workflow(warm_json);
    double rate[64], span[64], server_ms;

    if (runs > 64)
        runs = 64;
    one_run(c, warm, 500, &server_ms); /* warm-up: zygotes, slots, store, channel */
    for (int k = 0; k < runs; k++) {
        rate[k] = one_run(c, wf, n, &server_ms);
        span[k] = server_ms;
    }
    char note[160];
    double med_span = bench_pct(span, (size_t)runs, 0.5);
    double worst = bench_pct(rate, (size_t)runs, 0.0);
    double med = bench_pct(rate, (size_t)runs, 0.5);
    snprintf(note, sizeof(note),
             "%d runs of %zu nodes, all succeeded in sandboxes; worst %.0f nodes/s; "
             "server span %.0f ms",
             runs, n, worst, med_span);
    BenchFigure f = {
        .name = "throughput_noop_5000",
        .unit = "nodes/s",
        .median = med,
        .p99 = NAN,
        .baseline = NAN,
        .ratio = NAN,
        .target = ">= 5000 nodes/s",
        .met = med >= TARGET_NODES_PER_S ? BENCH_MET_YES : BENCH_MET_NO,
        .samples = (size_t)runs,
        .note = note,
    };
    if (n != 5000)
        f.name = "throughput_noop", f.target = NULL, f.met = BENCH_MET_NONE;
    bench_print_header("throughput: one run of independent noop nodes through flowd");
    bench_report(&a, &f);
    fc_workflow_free(wf);
    fc_workflow_free(warm);
    free(json);
    free(warm_json);
    fc_client_free(c);
    return 0;
}
