/* bench_grpc.c: ExecuteRun of a one-node noop workflow on loopback, to its
 * terminal event, against the floor of gRPC itself: a bare C-core unary echo
 * (echo-server.c, a separate process like flowd) carrying a packed
 * SubmitRunRequest of the same workflow, measured in the same run.
 *
 *   latency at concurrency 1: blocks of echo calls and ExecuteRuns
 *     alternate, so both see the same machine noise; p50 and p99;
 *   rate at concurrency 32: 32 threads on one channel, rounds of echo and
 *     ExecuteRun alternating; the median round.
 *
 * Every ExecuteRun must end RUN_SUCCEEDED with its node run in a sandbox,
 * and every echo must return the bytes it sent, or the benchmark fails.
 *
 * Usage: bench_grpc --addr HOST:PORT [--json PATH] [--quick]
 *        bench_grpc --echo-server PORT_FD   (internal: the floor's server) */
#include <errno.h>
#include <fcntl.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/common/bench-flowd.h"
#include "bench/common/bench-util.h"
#include "bench/grpc/echo.h"
#include "flowd/v1/service.pb-c.h"

extern char **environ;

#define CONCURRENCY 32
#define BLOCK 25

static const char one_node_json[] = "{\"name\": \"bench-grpc\", \"nodes\": [{\"id\": \"a\", \"kind\": \"noop\"}]}";

typedef struct Floor {
    pid_t pid;
    int stdin_fd; /* closing it stops the server */
    grpc_channel *ch;
    uint8_t *req; /* the packed SubmitRunRequest ExecuteRun also sends */
    size_t req_len;
} Floor;

/* Starts the echo server as a fresh process, before this process starts
 * gRPC's threads (fork after grpc_init would be unsafe). */
static void floor_spawn(Floor *f)
{
    int in[2], out[2];
    char fdarg[16], buf[32] = {0};
    posix_spawn_file_actions_t fa;

    if (pipe2(in, O_CLOEXEC) < 0 || pipe(out) < 0)
        bench_die("pipe: %s", strerror(errno));
    snprintf(fdarg, sizeof(fdarg), "%d", out[1]);
    char *argv[] = {"bench_grpc", "--echo-server", fdarg, NULL};
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    if (posix_spawn(&f->pid, "/proc/self/exe", &fa, NULL, argv, environ) != 0)
        bench_die("cannot start the echo server");
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    f->stdin_fd = in[1];
    ssize_t n = read(out[0], buf, sizeof(buf) - 1);
    close(out[0]);
    if (n <= 0 || atoi(buf) <= 0)
        bench_die("the echo server did not start");
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", atoi(buf));
    grpc_init();
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    f->ch = grpc_channel_create(target, creds, NULL);
    grpc_channel_credentials_release(creds);
}

static void floor_stop(Floor *f)
{
    grpc_channel_destroy(f->ch);
    grpc_shutdown();
    close(f->stdin_fd);
    waitpid(f->pid, NULL, 0);
    free(f->req);
}

/* A SubmitRunRequest of the one-node workflow, packed: what the echo
 * carries each way. */
static void floor_payload(Floor *f)
{
    Flowd__V1__Node node = FLOWD__V1__NODE__INIT, *nodes[1] = {&node};
    Flowd__V1__Workflow wf = FLOWD__V1__WORKFLOW__INIT;
    Flowd__V1__SubmitRunRequest req = FLOWD__V1__SUBMIT_RUN_REQUEST__INIT;

    node.id = "a";
    node.kind = "noop";
    node.config_json = "{}";
    wf.name = "bench-grpc";
    wf.n_nodes = 1;
    wf.nodes = nodes;
    req.workflow = &wf;
    f->req_len = flowd__v1__submit_run_request__get_packed_size(&req);
    f->req = malloc(f->req_len);
    flowd__v1__submit_run_request__pack(&req, f->req);
}

/* ---- one call of each kind, timed ---- */

static FcClient *client;
static FcWorkflow *workflow;
static Floor fl;

/* Where the time of one ExecuteRun goes, from the events' server times
 * and the client's realtime clock (one machine, one clock). */
enum { PH_ACCEPT, PH_SCHEDULE, PH_ATTEMPT, PH_FINISH, PH_DELIVER, _PH_MAX };
static const char *const phase_names[_PH_MAX] = {"submit->RUN_QUEUED", "RUN_QUEUED->NODE_STARTED",
                                                 "NODE_STARTED->NODE_SUCCEEDED", "NODE_SUCCEEDED->RUN_SUCCEEDED",
                                                 "RUN_SUCCEEDED->client"};
static double *phases[_PH_MAX];
static size_t n_phases, cap_phases;

static double span_ms(uint64_t from, uint64_t to) { return to >= from ? (double)(to - from) / 1e6 : 0.0; }

static void record_phases(const BenchRun *r)
{
    if (!cap_phases)
        return;
    if (n_phases == cap_phases)
        return;
    phases[PH_ACCEPT][n_phases] = span_ms(r->submit_real_ns, r->queued_unix_ns);
    phases[PH_SCHEDULE][n_phases] = span_ms(r->queued_unix_ns, r->first_node_started_unix_ns);
    phases[PH_ATTEMPT][n_phases] = span_ms(r->first_node_started_unix_ns, r->last_node_done_unix_ns);
    phases[PH_FINISH][n_phases] = span_ms(r->last_node_done_unix_ns, r->server_finished_unix_ns);
    phases[PH_DELIVER][n_phases] = span_ms(r->server_finished_unix_ns, r->terminal_real_ns);
    n_phases++;
}

static double flowd_once(void)
{
    BenchRun r;
    char why[512];

    if (bench_flowd_execute(client, workflow, NULL, &r) < 0 || !bench_run_ok(&r, 1, false, why, sizeof(why)))
        bench_die("ExecuteRun failed: %s", r.failure[0] ? r.failure : why);
    record_phases(&r);
    return bench_run_ms(&r);
}

static double echo_once(void)
{
    uint64_t t0 = bench_now_ns();

    if (echo_call(fl.ch, fl.req, fl.req_len) < 0)
        bench_die("the echo call failed");
    return (double)(bench_now_ns() - t0) / 1e6;
}

/* ---- concurrency 32 ---- */

typedef struct Load {
    double (*once)(void);
    atomic_long left;
    double *lat; /* per call, indexed by ticket */
} Load;

static void *load_thread(void *arg)
{
    Load *l = arg;
    long t;

    while ((t = atomic_fetch_sub(&l->left, 1)) > 0)
        l->lat[t - 1] = l->once();
    return NULL;
}

/* n calls by CONCURRENCY threads; returns calls/s, and the latencies. */
static double load_rate(double (*once)(void), long n, double *lat)
{
    pthread_t th[CONCURRENCY];
    Load l = {.once = once, .left = n, .lat = lat};
    uint64_t t0 = bench_now_ns();

    for (int i = 0; i < CONCURRENCY; i++)
        pthread_create(&th[i], NULL, load_thread, &l);
    for (int i = 0; i < CONCURRENCY; i++)
        pthread_join(th[i], NULL);
    return (double)n * 1e9 / (double)(bench_now_ns() - t0);
}

/* ---- figures ---- */

static void latency_c1(const BenchArgs *a, int n)
{
    double *fv = calloc((size_t)n, sizeof(double)), *ev = calloc((size_t)n, sizeof(double));

    for (int i = 0; i < 50; i++) { /* warm-up: channels, zygotes, slots, store */
        flowd_once();
        echo_once();
    }
    cap_phases = (size_t)n;
    for (int k = 0; k < _PH_MAX; k++)
        phases[k] = calloc((size_t)n, sizeof(double));
    for (int done = 0; done < n; done += BLOCK) {
        for (int i = done; i < done + BLOCK && i < n; i++)
            ev[i] = echo_once();
        for (int i = done; i < done + BLOCK && i < n; i++)
            fv[i] = flowd_once();
    }
    double e50 = bench_pct(ev, (size_t)n, 0.5), e99 = bench_pct(ev, (size_t)n, 0.99);
    double f50 = bench_pct(fv, (size_t)n, 0.5), f99 = bench_pct(fv, (size_t)n, 0.99);
    char breakdown[400];
    int len = snprintf(breakdown, sizeof(breakdown), "median ms by phase (server event times):");
    for (int k = 0; k < _PH_MAX; k++) {
        len += snprintf(breakdown + len, sizeof(breakdown) - (size_t)len, " %s %.3f;", phase_names[k],
                        bench_pct(phases[k], n_phases, 0.5));
        free(phases[k]);
    }
    cap_phases = 0;
    BenchFigure echo = {.name = "grpc_echo_unary_c1",
                        .unit = "ms",
                        .median = e50,
                        .p99 = e99,
                        .baseline = NAN,
                        .ratio = NAN,
                        .samples = (size_t)n,
                        .note = "the floor: bare C-core unary echo of a SubmitRunRequest of the same workflow"};
    BenchFigure f = {.name = "grpc_execute_run_c1",
                     .unit = "ms",
                     .median = f50,
                     .p99 = f99,
                     .baseline = e50,
                     .baseline_name = "bare gRPC C-core unary echo, p50",
                     .ratio = f50 / e50,
                     .target = "p50 <= 2 ms, p99 <= 10 ms",
                     .met = f50 <= 2.0 && f99 <= 10.0 ? BENCH_MET_YES : BENCH_MET_NO,
                     .samples = (size_t)n,
                     .note = breakdown};
    bench_report(a, &echo);
    bench_report(a, &f);
    free(fv);
    free(ev);
}

static void rate_c32(const BenchArgs *a, long n_flowd, long n_echo, int rounds)
{
    double fr[8], er[8], *lat = calloc((size_t)n_echo + (size_t)n_flowd, sizeof(double));
    double *flat = calloc((size_t)n_flowd * (size_t)rounds, sizeof(double));

    load_rate(flowd_once, CONCURRENCY * 4, lat); /* warm-up */
    load_rate(echo_once, CONCURRENCY * 20, lat);
    for (int k = 0; k < rounds; k++) {
        er[k] = load_rate(echo_once, n_echo, lat);
        fr[k] = load_rate(flowd_once, n_flowd, flat + (size_t)k * (size_t)n_flowd);
    }
    double f = bench_pct(fr, (size_t)rounds, 0.5), e = bench_pct(er, (size_t)rounds, 0.5);
    size_t nl = (size_t)n_flowd * (size_t)rounds;
    double l50 = bench_pct(flat, nl, 0.5), l99 = bench_pct(flat, nl, 0.99);
    char note[160];
    snprintf(note, sizeof(note), "%d rounds of %ld runs; latency under this load p50 %.1f ms, p99 %.1f ms", rounds,
             n_flowd, l50, l99);
    BenchFigure echo = {.name = "grpc_echo_unary_c32",
                        .unit = "calls/s",
                        .median = e,
                        .p99 = NAN,
                        .baseline = NAN,
                        .ratio = NAN,
                        .samples = (size_t)rounds,
                        .note = "the floor at concurrency 32"};
    BenchFigure fig = {.name = "grpc_execute_run_c32",
                       .unit = "runs/s",
                       .median = f,
                       .p99 = NAN,
                       .baseline = e,
                       .baseline_name = "bare gRPC C-core unary echo, calls/s",
                       .ratio = e / f,
                       .target = ">= 1000 runs/s",
                       .met = f >= 1000.0 ? BENCH_MET_YES : BENCH_MET_NO,
                       .samples = (size_t)rounds,
                       .note = note};
    bench_report(a, &echo);
    bench_report(a, &fig);
    free(lat);
    free(flat);
}

int main(int argc, char **argv)
{
    BenchArgs a;

    if (argc == 3 && strcmp(argv[1], "--echo-server") == 0)
        return echo_server_main(atoi(argv[2]));
    int i = bench_args(argc, argv, &a);
    if (i < 0)
        return 2;
    if (i < argc)
        bench_die("unknown option %s", argv[i]);
    floor_payload(&fl);
    floor_spawn(&fl);
    client = bench_flowd_connect(a.addr);
    workflow = bench_flowd_workflow(one_node_json);
    bench_print_header("grpc: ExecuteRun of a one-node noop workflow vs a bare C-core unary echo");
    latency_c1(&a, a.quick ? 100 : 500);
    rate_c32(&a, a.quick ? 300 : 1500, a.quick ? 2000 : 8000, a.quick ? 1 : 3);
    fc_workflow_free(workflow);
    fc_client_free(client);
    floor_stop(&fl);
    return 0;
}
