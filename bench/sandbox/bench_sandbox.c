/* bench_sandbox.c: what a sandboxed node attempt costs, measured side by
 * side with the floor in one run.
 *
 *   noop attempt: request -> DONE callback through the pool, for a built-in
 *     that reads fd 0 and writes "{}" (cgroup slot with memory/CPU/pids
 *     limits, uid drop, seccomp, fd layout, output over a pipe);
 *   floor: fork + pipe + child writes "{}" + _exit + read + waitpid, in
 *     this same process, in blocks interleaved with the pool's so both see
 *     the same machine noise;
 *   throughput: noop attempts/s with 2 zygotes and 8 in flight, against
 *     the floor loop run by 2 processes at once;
 *   python: a `python3 -I -S -c` attempt against posix_spawn of it, as
 *     flowd runs it (forked from the zygote's warm interpreter), and
 *     started by execve (LANG=C.utf8, the same locale under a name the
 *     template does not claim).
 *
 * Usage: bench_sandbox [--json PATH] [--n N] [--mode cgroup|rlimit]
 * Prints a table; with --json appends one JSON object per figure. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sbx.h"

extern char **environ;

#define BLOCK 100
#define INFLIGHT 8

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int bi_noop(void)
{
    char b[256];
    while (read(0, b, sizeof(b)) > 0)
        ;
    return write(1, "{}", 2) == 2 ? 0 : 1;
}

static const SbxBuiltin builtins[] = {{"noop", bi_noop, SBX_PROFILE_COMPUTE}};

/* ---- DONE bookkeeping ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static uint64_t done_count, done_at_us, failures;

static void on_event(const SbxEvent *ev, void *userdata)
{
    (void)userdata;
    if (ev->type != SBX_EV_DONE)
        return;
    uint64_t t = now_us();
    pthread_mutex_lock(&mu);
    if (ev->result->outcome != SBX_OK || ev->result->output_len != 2) {
        if (failures++ < 3)
            fprintf(stderr, "attempt failed: %s: %s\n", sbx_outcome_name(ev->result->outcome), ev->result->message);
    }
    done_count++;
    done_at_us = t;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void wait_done(uint64_t count)
{
    pthread_mutex_lock(&mu);
    while (done_count < count)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

static uint64_t next_id = 1;

static SbxRequest noop_request(void)
{
    static const char *const env[] = {NULL};
    return (SbxRequest){.id = next_id++,
                        .builtin = 0,
                        .env = env,
                        .input = "{}",
                        .input_len = 2,
                        .limits = {.memory_bytes = 64u << 20, .cpu_millis = 500, .pids = 16, .timeout_ms = 10000}};
}

static void spawn_retry(SbxPool *p, const SbxRequest *req)
{
    int r;
    while ((r = sbx_spawn(p, req)) == -EAGAIN)
        usleep(50);
    if (r < 0) {
        fprintf(stderr, "sbx_spawn: %s\n", strerror(-r));
        exit(1);
    }
}

/* One sandboxed noop, request to DONE callback. */
static double pool_once(SbxPool *p)
{
    SbxRequest req = noop_request();
    pthread_mutex_lock(&mu);
    uint64_t want = done_count + 1;
    pthread_mutex_unlock(&mu);
    uint64_t t0 = now_us();
    spawn_retry(p, &req);
    wait_done(want);
    return (double)(done_at_us - t0);
}

/* The floor: what any fork-per-node design pays at least. */
static double floor_once(void)
{
    uint64_t t0 = now_us();
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        if (write(fds[1], "{}", 2) != 2)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    char b[16];
    while (read(fds[0], b, sizeof(b)) > 0)
        ;
    close(fds[0]);
    waitpid(pid, NULL, 0);
    return (double)(now_us() - t0);
}

/* ---- statistics and output ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof(double), cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

typedef struct Figure {
    const char *name, *unit;
    double median, p99, baseline, ratio;
} Figure;

static void emit_json(const char *path, const Figure *f, const char *extra)
{
    if (!path)
        return;
    FILE *out = fopen(path, "a");
    if (!out) {
        perror(path);
        return;
    }
    struct utsname u;
    uname(&u);
    fprintf(out,
            "{\"name\": \"%s\", \"unit\": \"%s\", \"median\": %.1f, \"p99\": %.1f, "
            "\"baseline\": %.1f, \"ratio\": %.3f, \"nproc\": %ld, \"kernel\": \"%s\"%s}\n",
            f->name, f->unit, f->median, f->p99, f->baseline, f->ratio, sysconf(_SC_NPROCESSORS_ONLN), u.release,
            extra ? extra : "");
    fclose(out);
}

static void print_figure(const Figure *f)
{
    printf("%-34s %-10s %10.1f %10.1f %10.1f %8.3f\n", f->name, f->unit, f->median, f->p99, f->baseline, f->ratio);
}

/* ---- the figures ---- */

static Figure latency(SbxPool *p, int n, double *floor_median)
{
    double *pool_v = calloc((size_t)n, sizeof(double));
    double *floor_v = calloc((size_t)n, sizeof(double));
    for (int i = 0; i < 200; i++) { /* warm up both paths and every slot */
        pool_once(p);
        floor_once();
    }
    for (int done = 0; done < n; done += BLOCK) {
        for (int i = done; i < done + BLOCK && i < n; i++)
            floor_v[i] = floor_once();
        for (int i = done; i < done + BLOCK && i < n; i++)
            pool_v[i] = pool_once(p);
    }
    Figure f = {.name = "sandbox_noop_attempt", .unit = "us"};
    f.median = pct(pool_v, (size_t)n, 0.5);
    f.p99 = pct(pool_v, (size_t)n, 0.99);
    double fl_med = pct(floor_v, (size_t)n, 0.5), fl_p99 = pct(floor_v, (size_t)n, 0.99);
    f.baseline = fl_med;
    f.ratio = f.median / fl_med;
    printf("%-34s %-10s %10.1f %10.1f %10s %8s\n", "floor: fork+pipe+exit+waitpid", "us", fl_med, fl_p99, "-", "-");
    *floor_median = fl_med;
    free(pool_v);
    free(floor_v);
    return f;
}

static double pool_rate(SbxPool *p, int n)
{
    pthread_mutex_lock(&mu);
    uint64_t base = done_count;
    pthread_mutex_unlock(&mu);
    uint64_t t0 = now_us();
    for (int i = 0; i < n; i++) {
        if (i >= INFLIGHT)
            wait_done(base + (uint64_t)(i - INFLIGHT) + 1);
        SbxRequest req = noop_request();
        spawn_retry(p, &req);
    }
    wait_done(base + (uint64_t)n);
    return (double)n * 1e6 / (double)(now_us() - t0);
}

/* The floor loop in 2 processes at once: the best 2 vCPUs can do. */
static double floor_rate(int n)
{
    uint64_t t0 = now_us();
    pid_t w[2];
    for (int k = 0; k < 2; k++) {
        w[k] = fork();
        if (w[k] == 0) {
            for (int i = 0; i < n / 2; i++)
                floor_once();
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++)
        waitpid(w[k], NULL, 0);
    return (double)n * 1e6 / (double)(now_us() - t0);
}

static Figure throughput(SbxPool *p, int n)
{
    pool_rate(p, 500); /* warm-up */
    double pr[3], fr[3];
    for (int k = 0; k < 3; k++) { /* interleaved rounds; report the median */
        fr[k] = floor_rate(n);
        pr[k] = pool_rate(p, n);
    }
    Figure f = {.name = "sandbox_noop_throughput_2_zygotes", .unit = "attempts/s"};
    f.median = pct(pr, 3, 0.5);
    f.p99 = pct(pr, 3, 0.0); /* the worst round, for a rate */
    f.baseline = pct(fr, 3, 0.5);
    f.ratio = f.median / f.baseline;
    return f;
}

static double python_spawn_once(void)
{
    char *argv[] = {"/usr/bin/python3", "-I", "-S", "-c", "import sys; sys.stdout.write('{}')", NULL};
    char *envp[] = {"LANG=C.UTF-8", NULL};
    uint64_t t0 = now_us();
    pid_t pid;
    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, envp) != 0)
        exit(1);
    waitpid(pid, NULL, 0);
    return (double)(now_us() - t0);
}

static double python_pool_once(SbxPool *p, bool warm)
{
    static const char *const argv[] = {
        "/usr/bin/python3", "-I", "-S", "-c", "import sys; sys.stdout.write('{}')", NULL};
    static const char *const warm_env[] = {"LANG=C.UTF-8", NULL};
    static const char *const started_env[] = {"LANG=C.utf8", NULL};
    const char *const *env = warm ? warm_env : started_env;
    SbxRequest req = {.id = next_id++,
                      .builtin = -1,
                      .profile = SBX_PROFILE_INTERPRETER,
                      .argv = argv,
                      .env = env,
                      .input = "{}",
                      .input_len = 2,
                      .limits = {.memory_bytes = 256u << 20, .pids = 16, .timeout_ms = 10000}};
    pthread_mutex_lock(&mu);
    uint64_t want = done_count + 1;
    pthread_mutex_unlock(&mu);
    uint64_t t0 = now_us();
    spawn_retry(p, &req);
    wait_done(want);
    return (double)(done_at_us - t0);
}

static Figure python_latency(SbxPool *p, int n, bool warm)
{
    double *pv = calloc((size_t)n, sizeof(double)), *sv = calloc((size_t)n, sizeof(double));
    for (int i = 0; i < 5; i++) {
        python_pool_once(p, warm);
        python_spawn_once();
    }
    for (int i = 0; i < n; i++) {
        sv[i] = python_spawn_once();
        pv[i] = python_pool_once(p, warm);
    }
    Figure f = {.name = warm ? "sandbox_python_attempt" : "sandbox_python_started_attempt", .unit = "us"};
    f.median = pct(pv, (size_t)n, 0.5);
    f.p99 = pct(pv, (size_t)n, 0.99);
    f.baseline = pct(sv, (size_t)n, 0.5);
    f.ratio = f.median / f.baseline;
    free(pv);
    free(sv);
    return f;
}

int main(int argc, char **argv)
{
    sbx_zygote_maybe_run(argc, argv, builtins, 1);
    const char *json = NULL;
    int n = 2000;
    SbxMode mode = SBX_MODE_CGROUP;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json = argv[++i];
        else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
            mode = strcmp(argv[++i], "rlimit") == 0 ? SBX_MODE_RLIMIT : SBX_MODE_CGROUP;
        else {
            fprintf(stderr, "usage: %s [--json PATH] [--n N] [--mode cgroup|rlimit]\n", argv[0]);
            return 2;
        }
    }
    if (n < BLOCK)
        n = BLOCK;
    SbxConfig cfg = {.mode = mode,
                     .zygotes = 2,
                     .max_children = INFLIGHT,
                     .cgroup_name = "flowd-bench",
                     .scratch_root = "/tmp/flowd-sbx-bench",
                     .builtins = builtins,
                     .n_builtins = 1,
                     .python_zygote = sbx_python_zygote_path()};
    SbxPool *p = NULL;
    SbxError e = {0};
    if (sbx_pool_new(&cfg, &p, &e) < 0) {
        fprintf(stderr, "sbx_pool_new: %s\n", e.msg);
        return 1;
    }
    sbx_pool_start(p, on_event, NULL);
    SbxInfo info;
    sbx_pool_info(p, &info);
    printf("sandbox: mode %s, cgroup v%d, landlock %s, %u zygotes, %u slots, n=%d\n\n", sbx_mode_name(info.mode),
           info.cgroup_version, info.landlock ? "yes" : "no", info.zygotes, info.slots, n);
    printf("%-34s %-10s %10s %10s %10s %8s\n", "figure", "unit", "median", "p99", "baseline", "ratio");
    double floor_med;
    Figure lat = latency(p, n, &floor_med);
    print_figure(&lat);
    Figure thr = throughput(p, n * 2);
    print_figure(&thr);
    Figure py = python_latency(p, 40, true);
    print_figure(&py);
    Figure py_started = python_latency(p, 40, false);
    print_figure(&py_started);
    printf("\nnoop attempt / floor = %.2f (target <= 1.3); throughput %.0f attempts/s "
           "(target >= 5000)\n",
           lat.ratio, thr.median);
    char extra[64];
    snprintf(extra, sizeof(extra), ", \"mode\": \"%s\"", sbx_mode_name(info.mode));
    emit_json(json, &lat, extra);
    emit_json(json, &thr, extra);
    emit_json(json, &py, extra);
    emit_json(json, &py_started, extra);
    sbx_pool_free(p);
    rmdir("/tmp/flowd-sbx-bench");
    return failures ? 1 : 0;
}
