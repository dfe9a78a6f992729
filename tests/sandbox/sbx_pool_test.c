/* sbx_pool_test.c: the pool's contract with the server: request checks,
 * capacity, cancel, events (STARTED, LOG, PROGRESS, DONE), zygote crash and
 * restart, many attempts over several zygotes, rlimit mode, and the refusal
 * to start in cgroup mode without cgroup access. Needs root and a writable
 * cgroupfs (Bazel tag no-sandbox); skips otherwise. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "tests/sandbox/sbx-test.h"

#define CG_NAME "flowd-test-pool"
#define SCRATCH "/tmp/flowd-sbx-pool-test"

static int bi_noop(void)
{
    char b[4096];
    while (read(0, b, sizeof(b)) > 0)
        ;
    return write(1, "{}", 2) == 2 ? 0 : 1;
}

static int bi_echo(void)
{
    char b[65536];
    ssize_t n;
    while ((n = read(0, b, sizeof(b))) > 0)
        if (write(1, b, (size_t)n) != n)
            return 1;
    return 0;
}

static int bi_sleep(void)
{
    struct timespec ts = {.tv_sec = 30};
    nanosleep(&ts, NULL);
    return 0;
}

/* Five progress lines 120 ms apart and two log lines, the last without a
 * newline. */
static int bi_chatty(void)
{
    for (int i = 1; i <= 5; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "{\"progress\": %d}\n", i * 20);
        if (write(3, line, (size_t)n) != n)
            return 1;
        struct timespec ts = {.tv_nsec = 120000000};
        nanosleep(&ts, NULL);
    }
    if (write(2, "first line\nsecond", 17) != 17)
        return 1;
    return write(1, "{}", 2) == 2 ? 0 : 1;
}

enum { B_NOOP, B_ECHO, B_SLEEP, B_CHATTY };
static const SbxBuiltin builtins[] = {
    [B_NOOP] = {"noop", bi_noop, SBX_PROFILE_COMPUTE},
    [B_ECHO] = {"echo", bi_echo, SBX_PROFILE_COMPUTE},
    [B_SLEEP] = {"sleep", bi_sleep, SBX_PROFILE_COMPUTE},
    [B_CHATTY] = {"chatty", bi_chatty, SBX_PROFILE_COMPUTE},
};

static SbxPool *new_pool(SbxMode mode, unsigned zygotes, unsigned max_children)
{
    const char *why = t_cgroup_unavailable();
    if (why && mode == SBX_MODE_CGROUP) {
        fprintf(stderr, "skipped: %s\n", why);
        skip();
    }
    SbxConfig cfg = {.mode = mode,
                     .zygotes = zygotes,
                     .max_children = max_children,
                     .cgroup_name = CG_NAME,
                     .scratch_root = SCRATCH,
                     .builtins = builtins,
                     .n_builtins = ELEMENTSOF(builtins)};
    SbxPool *p = NULL;
    SbxError e = {0};
    if (sbx_pool_new(&cfg, &p, &e) < 0)
        fail_msg("sbx_pool_new: %s", e.msg);
    assert_int_equal(sbx_pool_start(p, t_on_event, NULL), 0);
    return p;
}

static void run_noop(SbxPool *p)
{
    TRun r;
    SbxRequest req = t_builtin(B_NOOP);
    t_run(p, &req, &r);
    T_EXPECT(&r, SBX_OK);
    assert_string_equal(r.output, "{}");
    t_run_free(&r);
}

static void test_sbx_pool_info(void **state)
{
    (void)state;
    SbxPool *p = new_pool(SBX_MODE_CGROUP, 2, 6);
    SbxInfo info;
    sbx_pool_info(p, &info);
    assert_int_equal(info.mode, SBX_MODE_CGROUP);
    assert_true(info.cgroup_version == 1 || info.cgroup_version == 2);
    /* 2 general and (unless a sanitizer build) 2 compute zygotes, each with
     * 3 slots plus 2 spare */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    unsigned kinds = 1;
#else
    unsigned kinds = 2;
#endif
    assert_int_equal(info.zygotes, 2 * kinds);
    assert_int_equal(info.slots, 10 * kinds);
    assert_true(sbx_pool_healthy(p));
    sbx_pool_free(p);
}

static void test_sbx_spawn_echo_input_and_usage(void **state)
{
    (void)state;
    SbxPool *p = new_pool(SBX_MODE_CGROUP, 1, 2);
    TRun r;
    SbxRequest req = t_builtin(B_ECHO);
    req.input = "{\"hello\": [1, 2, 3]}";
    req.input_len = strlen(req.input);
    t_run(p, &req, &r);
    T_EXPECT(&r, SBX_OK);
    assert_string_equal(r.output, "{\"hello\": [1, 2, 3]}");
    assert_true(r.pid > 0);
    assert_true(r.usage.wall_us > 0);
    assert_true(r.usage.peak_memory_bytes > 0);
    assert_string_equal(r.message, "exited with code 0");
    t_run_free(&r);
    sbx_pool_free(p);
}

static void test_sbx_spawn_rejects_bad_requests(void **state)
{
    (void)state;
    SbxPool *p = new_pool(SBX_MODE_CGROUP, 1, 2);
    SbxRequest req = t_builtin(99);
    assert_int_equal(sbx_spawn(p, &req), -EINVAL);
    const char *rel[] = {"python3", NULL};
    req = t_argv(SBX_PROFILE_INTERPRETER, rel);
    assert_int_equal(sbx_spawn(p, &req), -EINVAL);
    const char *abs[] = {"/bin/true", NULL};
    req = t_argv(SBX_PROFILE_COMPUTE, abs); /* compute cannot execve */
    assert_int_equal(sbx_spawn(p, &req), -EINVAL);
    req = t_builtin(B_NOOP);
    req.input = NULL;
    assert_int_equal(sbx_spawn(p, &req), -EINVAL);
    assert_int_equal(sbx_spawn(NULL, &req), -EINVAL);
    sbx_pool_free(p);
}

static void test_sbx_spawn_capacity_and_duplicates(void **state)
{
    (void)state;
    SbxPool *p = new_pool(SBX_MODE_CGROUP, 2, 4);
    TRun r[4];
    SbxRequest req[4];
    for (int i = 0; i < 4; i++) {
        req[i] = t_builtin(B_SLEEP);
        assert_int_equal(t_start(p, &req[i], &r[i]), 0);
    }
    SbxRequest more = t_builtin(B_NOOP);
    assert_int_equal(sbx_spawn(p, &more), -EAGAIN);
    SbxRequest dup = t_builtin(B_NOOP);
    dup.id = req[0].id;
    assert_int_equal(sbx_spawn(p, &dup), -EEXIST);
    for (int i = 0; i < 4; i++)
        assert_int_equal(sbx_cancel(p, req[i].id), 0);
    for (int i = 0; i < 4; i++) {
        t_wait(&r[i], 10);
        T_EXPECT(&r[i], SBX_CANCELLED);
        t_run_free(&r[i]);
    }
    assert_int_equal(sbx_cancel(p, 123456789), -ENOENT);
    run_noop(p);
    sbx_pool_free(p);
}

static void test_sbx_events_progress_and_log(void **state)
{
    (void)state;
    SbxPool *p = new_pool(SBX_MODE_CGROUP, 1, 2);
    TRun r;
    SbxRequest req = t_builtin(B_CHATTY);
    t_run(p, &req, &r);
    T_EXPECT(&r, SBX_OK);
    assert_true(r.n_progress >= 3 && r.n_progress <= 5);
    assert_string_equal(r.last_progress, "{\"progress\": 100}");
    assert_int_equal(r.log_lines, 2);
    assert_string_equal(r.log, "first line\nsecond\n");
    t_run_free(&r);
    sbx_pool_free(p);
}

static void test_sbx_zygote_crash_restarts(void **state)
{
    (void)state;
    SbxPool *p = new_pool(SBX_MODE_CGROUP, 2, 4);
    TRun r;
    SbxRequest req = t_builtin(B_SLEEP);
    /* The replacement is a re-executed copy of this binary. */
    t_kill_zygote_of(p, &req);
    for (int i = 0; i < 6; i++)
        run_noop(p);
    /* A zygote that dies of SIGSYS (as one would that made a call its own
     * filter refuses) is named in the lost attempt's message. */
    req = t_builtin(B_SLEEP);
    assert_int_equal(t_start(p, &req, &r), 0);
    for (int i = 0; i < 200 && r.pid == 0; i++)
        usleep(5000);
    assert_int_equal(kill(t_parent_of(r.pid), SIGSYS), 0);
    t_wait(&r, 10);
    T_EXPECT(&r, SBX_INTERNAL);
    print_message("%s\n", r.message);
    assert_non_null(strstr(r.message, "died of SIGSYS (a system call its own seccomp filter refuses)"));
    t_run_free(&r);
    sbx_pool_free(p);
}

static void test_sbx_many_attempts_two_zygotes(void **state)
{
    (void)state;
    SbxPool *p = new_pool(SBX_MODE_CGROUP, 2, 8);
    enum { N = 400, WINDOW = 8 };
    static TRun runs[N];
    static SbxRequest reqs[N];
    for (int i = 0; i < N; i++) {
        if (i >= WINDOW)
            t_wait(&runs[i - WINDOW], 30);
        reqs[i] = t_builtin(B_ECHO);
        assert_int_equal(t_start(p, &reqs[i], &runs[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        t_wait(&runs[i], 30);
        T_EXPECT(&runs[i], SBX_OK);
        assert_string_equal(runs[i].output, "{}");
        t_run_free(&runs[i]);
    }
    assert_true(sbx_pool_healthy(p));
    sbx_pool_free(p);
}

static void test_sbx_rlimit_mode(void **state)
{
    (void)state;
    SbxPool *p = new_pool(SBX_MODE_RLIMIT, 1, 2);
    SbxInfo info;
    sbx_pool_info(p, &info);
    assert_int_equal(info.mode, SBX_MODE_RLIMIT);
    assert_int_equal(info.cgroup_version, 0);
    assert_int_equal(info.slots, 0);
    run_noop(p);
    TRun r;
    const char *argv[] = {T_PY, "-I", "-S", "-c", "b = bytearray(256 << 20)", NULL};
    SbxRequest req = t_argv(SBX_PROFILE_INTERPRETER, argv);
    req.limits.memory_bytes = 64u << 20; /* RLIMIT_AS: allocation fails, no kill */
    t_run(p, &req, &r);
    T_EXPECT(&r, SBX_NONZERO_EXIT);
    assert_non_null(strstr(r.log, "MemoryError"));
    t_run_free(&r);
    req = t_builtin(B_SLEEP);
    req.limits.timeout_ms = 200;
    t_run(p, &req, &r);
    T_EXPECT(&r, SBX_TIMEOUT);
    t_run_free(&r);
    sbx_pool_free(p);
}

static void test_sbx_exec_missing_program_is_internal(void **state)
{
    (void)state;
    SbxPool *p = new_pool(SBX_MODE_CGROUP, 1, 2);
    TRun r;
    const char *argv[] = {"/nonexistent/program", NULL};
    SbxRequest req = t_argv(SBX_PROFILE_EXEC, argv);
    t_run(p, &req, &r);
    T_EXPECT(&r, SBX_INTERNAL);
    assert_non_null(strstr(r.message, "No such file or directory"));
    t_run_free(&r);
    run_noop(p);
    sbx_pool_free(p);
}

/* In a private mount namespace with the cgroup mounts read-only, cgroup
 * mode must refuse to start and name the escape hatch. */
static void test_sbx_pool_new_without_cgroup_access(void **state)
{
    (void)state;
    const char *why = t_cgroup_unavailable();
    if (why) {
        fprintf(stderr, "skipped: %s\n", why);
        skip();
    }
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            _exit(3);
        const char *mnts[] = {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/pids",
                              "/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
        for (size_t i = 0; i < ELEMENTSOF(mnts); i++)
            mount(NULL, mnts[i], NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
        SbxConfig cfg = {.mode = SBX_MODE_CGROUP, .zygotes = 1, .cgroup_name = CG_NAME, .scratch_root = SCRATCH};
        SbxPool *p = NULL;
        SbxError e = {0};
        int r = sbx_pool_new(&cfg, &p, &e);
        if (write(pfd[1], e.msg, strlen(e.msg)) < 0)
            _exit(4);
        sbx_pool_free(p);
        _exit(r < 0 ? 0 : 5);
    }
    close(pfd[1]);
    char msg[600] = "";
    ssize_t n = read(pfd[0], msg, sizeof(msg) - 1);
    close(pfd[0]);
    msg[n > 0 ? n : 0] = '\0';
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    fprintf(stderr, "refusal: %s\n", msg);
    assert_non_null(strstr(msg, "FLOWD_SANDBOX=rlimit"));
}

static int teardown(void **state)
{
    (void)state;
    rmdir(SCRATCH);
    return 0;
}

int main(int argc, char **argv)
{
    sbx_zygote_maybe_run(argc, argv, builtins, ELEMENTSOF(builtins));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sbx_pool_new_without_cgroup_access),
        cmocka_unit_test(test_sbx_pool_info),
        cmocka_unit_test(test_sbx_spawn_echo_input_and_usage),
        cmocka_unit_test(test_sbx_spawn_rejects_bad_requests),
        cmocka_unit_test(test_sbx_spawn_capacity_and_duplicates),
        cmocka_unit_test(test_sbx_events_progress_and_log),
        cmocka_unit_test(test_sbx_zygote_crash_restarts),
        cmocka_unit_test(test_sbx_many_attempts_two_zygotes),
        cmocka_unit_test(test_sbx_rlimit_mode),
        cmocka_unit_test(test_sbx_exec_missing_program_is_internal),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
