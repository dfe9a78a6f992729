/* bench_sandbox_peers.c: what starting a confined `/bin/true` costs with
 * flowd's sandbox and with the sandboxing tools people compare it with,
 * measured side by side in one run.
 *
 *   flowd: an exec-profile attempt of /bin/true through the sandbox library
 *     (zygote fork, cgroup slot with limits, uid drop, rlimits, Landlock,
 *     seccomp, execve), request -> DONE callback;
 *   floor: posix_spawn + waitpid of /bin/true, unconfined;
 *   bwrap --unshare-all --ro-bind / / /bin/true (bubblewrap: namespaces,
 *     no seccomp or cgroup limits unless asked);
 *   firejail --quiet /bin/true (its default profile: namespaces, seccomp,
 *     capabilities dropped).
 * A peer that is not installed is reported as missing, not measured.
 * Rounds interleave every subject, so each sees the same machine noise.
 *
 * Usage: bench_sandbox_peers [--json PATH] [--quick] */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/common/bench-util.h"
#include "sandbox/sbx.h"

extern char **environ;

static int bi_unused(void) { return 0; }

static const SbxBuiltin builtins[] = {{"unused", bi_unused, SBX_PROFILE_COMPUTE}};

/* ---- flowd's side: one attempt, request -> DONE ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static uint64_t done_count, done_at_ns;
static char last_failure[256];

static void on_event(const SbxEvent *ev, void *userdata)
{
    (void)userdata;
    if (ev->type != SBX_EV_DONE)
        return;
    uint64_t t = bench_now_ns();
    pthread_mutex_lock(&mu);
    if (ev->result->outcome != SBX_OK && !last_failure[0])
        snprintf(last_failure, sizeof(last_failure), "%s: %s", sbx_outcome_name(ev->result->outcome),
                 ev->result->message);
    done_count++;
    done_at_ns = t;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static double flowd_once(SbxPool *p)
{
    static const char *const argv[] = {"/bin/true", NULL};
    static const char *const env[] = {NULL};
    static uint64_t next_id = 1;
    SbxRequest req = {.id = next_id++,
                      .builtin = -1,
                      .profile = SBX_PROFILE_EXEC,
                      .argv = argv,
                      .env = env,
                      .input = "",
                      .input_len = 0,
                      .limits = {.memory_bytes = 64u << 20, .cpu_millis = 1000, .pids = 16, .timeout_ms = 10000}};
    int r;

    pthread_mutex_lock(&mu);
    uint64_t want = done_count + 1;
    pthread_mutex_unlock(&mu);
    uint64_t t0 = bench_now_ns();
    while ((r = sbx_spawn(p, &req)) == -EAGAIN)
        usleep(50);
    if (r < 0)
        bench_die("sbx_spawn: %s", strerror(-r));
    pthread_mutex_lock(&mu);
    while (done_count < want)
        pthread_cond_wait(&cv, &mu);
    uint64_t t1 = done_at_ns;
    pthread_mutex_unlock(&mu);
    if (last_failure[0])
        bench_die("the flowd attempt of /bin/true failed: %s", last_failure);
    return (double)(t1 - t0) / 1e3;
}

/* ---- the others: spawn the tool, wait for it ---- */

static double spawn_once(char *const argv[])
{
    pid_t pid;
    int status;
    posix_spawn_file_actions_t fa;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    uint64_t t0 = bench_now_ns();
    int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    if (r == 0)
        waitpid(pid, &status, 0);
    uint64_t t1 = bench_now_ns();
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0)
        bench_die("cannot start %s: %s", argv[0], strerror(r));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bench_die("%s ... /bin/true failed (status %d)", argv[0], status);
    return (double)(t1 - t0) / 1e3;
}

static char *floor_argv[] = {"/bin/true", NULL};
static char *bwrap_argv[] = {
    "/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "/bin/true", NULL};
static char *firejail_argv[] = {"/usr/bin/firejail", "--quiet", "/bin/true", NULL};

typedef struct Subject {
    const char *name;
    char **argv; /* NULL: flowd's attempt */
    int every;   /* measured every N-th round (slow tools) */
    bool present;
    double *v;
    size_t n;
} Subject;

int main(int argc, char **argv)
{
    sbx_zygote_maybe_run(argc, argv, builtins, 1);
    BenchArgs a;
    int i = bench_args(argc, argv, &a);

    if (i < 0)
        return 2;
    if (i < argc)
        bench_die("unknown option %s", argv[i]);
    SbxConfig cfg = {.mode = SBX_MODE_CGROUP,
                     .zygotes = 1,
                     .max_children = 2,
                     .cgroup_name = "flowd-bench-peers",
                     .scratch_root = "/tmp/flowd-bench-peers",
                     .builtins = builtins,
                     .n_builtins = 1};
    SbxPool *p = NULL;
    SbxError e = {0};
    if (mkdir("/tmp/flowd-bench-peers", 0711) < 0 && errno != EEXIST)
        bench_die("mkdir /tmp/flowd-bench-peers: %s", strerror(errno));
    if (sbx_pool_new(&cfg, &p, &e) < 0)
        bench_die("sbx_pool_new: %s", e.msg);
    sbx_pool_start(p, on_event, NULL);

    int rounds = a.quick ? 60 : 300;
    Subject s[] = {
        {"sandbox_peers_flowd_exec", NULL, 1, true, NULL, 0},
        {"floor", floor_argv, 1, true, NULL, 0},
        {"sandbox_peers_bwrap", bwrap_argv, 1, access(bwrap_argv[0], X_OK) == 0, NULL, 0},
        {"sandbox_peers_firejail", firejail_argv, 10, access(firejail_argv[0], X_OK) == 0, NULL, 0},
    };
    size_t ns = sizeof(s) / sizeof(s[0]);
    for (size_t k = 0; k < ns; k++) {
        s[k].v = calloc((size_t)rounds, sizeof(double));
        for (int w = 0; w < 5 && s[k].present; w++) /* warm-up */
            s[k].argv ? spawn_once(s[k].argv) : flowd_once(p);
    }
    for (int r = 0; r < rounds; r++)
        for (size_t k = 0; k < ns; k++)
            if (s[k].present && r % s[k].every == 0)
                s[k].v[s[k].n++] = s[k].argv ? spawn_once(s[k].argv) : flowd_once(p);

    bench_print_header("sandbox_peers: start a confined /bin/true and wait for it");
    double med[4], p99[4];
    for (size_t k = 0; k < ns; k++) {
        med[k] = bench_pct(s[k].v, s[k].n, 0.5);
        p99[k] = bench_pct(s[k].v, s[k].n, 0.99);
    }
    BenchFigure flowd = {.name = s[0].name,
                         .unit = "us",
                         .median = med[0],
                         .p99 = p99[0],
                         .baseline = med[1],
                         .baseline_name = "posix_spawn + waitpid of /bin/true, unconfined",
                         .ratio = med[0] / med[1],
                         .target = "reported",
                         .samples = s[0].n,
                         .note = "exec-profile attempt: cgroup slot, uid 65534, rlimits, Landlock, seccomp, execve"};
    bench_report(&a, &flowd);
    static const char *const notes[4] = {
        NULL, NULL, "bwrap --unshare-all --die-with-parent --ro-bind / / /bin/true: namespaces only",
        "firejail --quiet /bin/true, default profile: namespaces, seccomp, caps dropped"};
    for (size_t k = 2; k < ns; k++) {
        BenchFigure f = {.name = s[k].name,
                         .unit = "us",
                         .median = med[k],
                         .p99 = p99[k],
                         .baseline = med[0],
                         .baseline_name = "flowd's exec attempt of /bin/true",
                         .ratio = med[k] / med[0],
                         .target = "reported",
                         .samples = s[k].n,
                         .note = notes[k]};
        if (!s[k].present) {
            printf("%-32s not installed (%s); apt-get install -y %s\n", s[k].name, s[k].argv[0],
                   k == 2 ? "bubblewrap" : "firejail");
            continue;
        }
        bench_report(&a, &f);
    }
    sbx_pool_free(p);
    rmdir("/tmp/flowd-bench-peers");
    for (size_t k = 0; k < ns; k++)
        free(s[k].v);
    return 0;
}
