/* sbx_hostile_test.c: node code that tries to hurt the machine or escape,
 * run through a real pool (cgroup slots, seccomp, Landlock, uid 65534).
 * Every case asserts the exact outcome and then that the pool is still
 * healthy: zygotes alive, a normal attempt succeeds, every slot is empty.
 * Needs root and a writable cgroupfs (Bazel tag no-sandbox); skips
 * otherwise. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "tests/sandbox/sbx-test.h"

extern char **environ;

/* The two variants (sbx_hostile_test, sbx_hostile_started_test) may run at
 * once: each has its own cgroup parent and scratch root. */
#define STARTED (getenv("SBX_TEST_NO_TEMPLATE") != NULL)
#define CG_NAME (STARTED ? "flowd-test-hostile-started" : "flowd-test-hostile")
#define SCRATCH (STARTED ? "/tmp/flowd-sbx-hostile-started" : "/tmp/flowd-sbx-hostile")

static SbxPool *pool;
static const char *skip_reason;

/* ---- built-ins: each runs under the compute profile ---- */

static void drain_input(void)
{
    char b[4096];
    while (read(0, b, sizeof(b)) > 0)
        ;
}

static int bi_noop(void)
{
    drain_input();
    return write(1, "{}", 2) == 2 ? 0 : 1;
}

static int bi_spin_forever(void)
{
    for (volatile unsigned long i = 0;; i++)
        ;
    return 0;
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int bi_spin_1s(void)
{
    uint64_t until = mono_us() + 1000000u;
    while (mono_us() < until)
        ;
    return write(1, "{}", 2) == 2 ? 0 : 1;
}

static int bi_socket(void) { return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 7; }

static int bi_open(void) { return open("/etc/passwd", O_RDONLY) >= 0 ? 0 : 7; }

static int bi_mount(void) { return (int)syscall(SYS_mount, "none", "/mnt", "tmpfs", 0, NULL) == 0 ? 0 : 7; }

static int bi_setuid0(void) { return (int)syscall(SYS_setuid, 0) == 0 ? 0 : 7; }

static int bi_kill_init(void) { return (int)syscall(SYS_kill, 1, SIGKILL) == 0 ? 0 : 7; }

/* A long line of digits on stderr first: the SIGSYS mark's number must not
 * run on into what an earlier, longer line left in the zygote's buffer. */
static int bi_digits_then_kill(void)
{
    static const char digits[] = "1234567890123456789012345678901234567890\n";
    if (write(2, digits, sizeof(digits) - 1) < 0)
        return 9;
    return bi_kill_init();
}

static int bi_memory_bomb(void)
{
    for (;;) {
        char *p = malloc(1u << 20);
        if (!p)
            return 9;
        memset(p, 0xa5, 1u << 20);
    }
}

static int bi_stdout_flood(void)
{
    static char chunk[65536];
    memset(chunk, 'x', sizeof(chunk));
    for (;;)
        if (write(1, chunk, sizeof(chunk)) < 0)
            return 1;
}

/* 256 MiB of stderr in 64 KiB writes of 1 KiB lines. */
static int bi_stderr_flood(void)
{
    static char chunk[65536];
    memset(chunk, 'e', sizeof(chunk));
    for (size_t i = 1023; i < sizeof(chunk); i += 1024)
        chunk[i] = '\n';
    for (int i = 0; i < 4096; i++)
        if (write(2, chunk, sizeof(chunk)) < 0)
            return 1;
    return write(1, "{}", 2) == 2 ? 0 : 1;
}

/* Writes as many bytes as the input says. */
static int bi_output_n(void)
{
    char in[64] = {0};
    if (read(0, in, sizeof(in) - 1) <= 0)
        return 2;
    long n = strtol(in, NULL, 10);
    static char chunk[4096];
    memset(chunk, 'o', sizeof(chunk));
    while (n > 0) {
        ssize_t w = write(1, chunk, n < (long)sizeof(chunk) ? (size_t)n : sizeof(chunk));
        if (w < 0)
            return 1;
        n -= w;
    }
    return 0;
}

static int *volatile null_ptr;

static int bi_segv(void)
{
    *null_ptr = 1;
    return 0;
}

static int bi_exit3(void) { return 3; }

static int bi_sleep(void)
{
    struct timespec ts = {.tv_sec = 30};
    nanosleep(&ts, NULL);
    return 0;
}

static int bi_mmap_exec(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? 7 : 0;
}

static int bi_env_probe(void)
{
    int n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    const char *granted = getenv("GRANTED");
    char out[128];
    int len = snprintf(out, sizeof(out), "{\"n\":%d,\"secret\":%s,\"granted\":\"%s\"}", n,
                       getenv("FLOWD_TEST_SECRET") ? "true" : "false", granted ? granted : "");
    return write(1, out, (size_t)len) == len ? 0 : 1;
}

/* Scans this process's initial stack (argv and environment strings, up to
 * the exec file name the kernel puts last) for the server's secret. */
static int bi_scan_secret(void)
{
    const char *lo = program_invocation_name;
    const char *hi = (const char *)getauxval(AT_EXECFN);
    bool found = false;
    for (const char *p = lo; hi > lo && p + 7 <= hi && !found; p++)
        found = memcmp(p,
                       "hun"
                       "ter2",
                       7) == 0;
    const char *out = found ? "{\"found\":true}" : "{\"found\":false}";
    return write(1, out, strlen(out)) > 0 ? 0 : 1;
}

static int bi_progress_spam(void)
{
    char line[64];
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(line, sizeof(line), "{\"progress\":%d}\n", i);
        if (write(3, line, (size_t)n) != n)
            return 1;
    }
    return write(1, "{}", 2) == 2 ? 0 : 1;
}

static int bi_ignore_input(void) { return write(1, "{}", 2) == 2 ? 0 : 1; }

/* Input "NR A0 A1 A2": makes that raw syscall, so one built-in can try
 * each of the syscalls its zygote may use and it may not. */
static int bi_raw_syscall(void)
{
    char buf[128];
    ssize_t n = read(0, buf, sizeof(buf) - 1);
    if (n <= 0)
        return 9;
    buf[n] = '\0';
    long v[4] = {0};
    char *p = buf;
    for (int i = 0; i < 4; i++)
        v[i] = strtol(p, &p, 10);
    long r = syscall(v[0], v[1], v[2], v[3]);
    return r < 0 ? 7 : 0;
}

enum {
    B_NOOP,
    B_SPIN_FOREVER,
    B_SPIN_1S,
    B_SOCKET,
    B_OPEN,
    B_MOUNT,
    B_SETUID0,
    B_KILL_INIT,
    B_MEMORY_BOMB,
    B_STDOUT_FLOOD,
    B_STDERR_FLOOD,
    B_OUTPUT_N,
    B_SEGV,
    B_EXIT3,
    B_SLEEP,
    B_MMAP_EXEC,
    B_ENV_PROBE,
    B_PROGRESS_SPAM,
    B_IGNORE_INPUT,
    B_SCAN_SECRET,
    B_RAW_SYSCALL,
    B_DIGITS_THEN_KILL,
};

static const SbxBuiltin builtins[] = {
    [B_NOOP] = {"noop", bi_noop, SBX_PROFILE_COMPUTE},
    [B_SPIN_FOREVER] = {"spin_forever", bi_spin_forever, SBX_PROFILE_COMPUTE},
    [B_SPIN_1S] = {"spin_1s", bi_spin_1s, SBX_PROFILE_COMPUTE},
    [B_SOCKET] = {"socket", bi_socket, SBX_PROFILE_COMPUTE},
    [B_OPEN] = {"open", bi_open, SBX_PROFILE_COMPUTE},
    [B_MOUNT] = {"mount", bi_mount, SBX_PROFILE_COMPUTE},
    [B_SETUID0] = {"setuid0", bi_setuid0, SBX_PROFILE_COMPUTE},
    [B_KILL_INIT] = {"kill_init", bi_kill_init, SBX_PROFILE_COMPUTE},
    [B_MEMORY_BOMB] = {"memory_bomb", bi_memory_bomb, SBX_PROFILE_COMPUTE},
    [B_STDOUT_FLOOD] = {"stdout_flood", bi_stdout_flood, SBX_PROFILE_COMPUTE},
    [B_STDERR_FLOOD] = {"stderr_flood", bi_stderr_flood, SBX_PROFILE_COMPUTE},
    [B_OUTPUT_N] = {"output_n", bi_output_n, SBX_PROFILE_COMPUTE},
    [B_SEGV] = {"segv", bi_segv, SBX_PROFILE_COMPUTE},
    [B_EXIT3] = {"exit3", bi_exit3, SBX_PROFILE_COMPUTE},
    [B_SLEEP] = {"sleep", bi_sleep, SBX_PROFILE_COMPUTE},
    [B_MMAP_EXEC] = {"mmap_exec", bi_mmap_exec, SBX_PROFILE_COMPUTE},
    [B_ENV_PROBE] = {"env_probe", bi_env_probe, SBX_PROFILE_COMPUTE},
    [B_PROGRESS_SPAM] = {"progress_spam", bi_progress_spam, SBX_PROFILE_COMPUTE},
    [B_IGNORE_INPUT] = {"ignore_input", bi_ignore_input, SBX_PROFILE_COMPUTE},
    [B_SCAN_SECRET] = {"scan_secret", bi_scan_secret, SBX_PROFILE_COMPUTE},
    [B_RAW_SYSCALL] = {"raw_syscall", bi_raw_syscall, SBX_PROFILE_COMPUTE},
    [B_DIGITS_THEN_KILL] = {"digits_then_kill", bi_digits_then_kill, SBX_PROFILE_COMPUTE},
};

/* ---- health checks after every case ---- */

/* Our pool's slot directories for the memory controller. */
static int slots_dir(char *buf, size_t size)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[512];
    int r = -1;
    while (f && fgets(line, sizeof(line), f)) {
        char *m = strstr(line, ":memory:");
        if (!m)
            continue;
        m += strlen(":memory:");
        m[strcspn(m, "\n")] = '\0';
        snprintf(buf, size, "/sys/fs/cgroup/memory%s/%s/p%d", strcmp(m, "/") ? m : "", CG_NAME, (int)getpid());
        r = 0;
    }
    if (f)
        fclose(f);
    return r;
}

/* Every slot empty: nothing an attempt started survived it. */
static void assert_slots_empty(void)
{
    char dir[512];
    assert_int_equal(slots_dir(dir, sizeof(dir)), 0);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int slots = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] != 's')
            continue;
        char path[1024], procs[256] = "";
        snprintf(path, sizeof(path), "%s/%s/cgroup.procs", dir, de->d_name);
        /* A killed task may take a few ms to leave the cgroup. */
        for (int i = 0; i < 100; i++) {
            FILE *f = fopen(path, "re");
            assert_non_null(f);
            size_t n = fread(procs, 1, sizeof(procs) - 1, f);
            procs[n] = '\0';
            fclose(f);
            if (!procs[0])
                break;
            usleep(10000);
        }
        if (procs[0])
            fail_msg("slot %s still has tasks: %s", de->d_name, procs);
        slots++;
    }
    closedir(d);
    assert_true(slots > 0);
}

static void assert_healthy(void)
{
    assert_true(sbx_pool_healthy(pool));
    TRun r;
    SbxRequest req = t_builtin(B_NOOP);
    t_run(pool, &req, &r);
    T_EXPECT(&r, SBX_OK);
    assert_string_equal(r.output, "{}");
    t_run_free(&r);
    assert_slots_empty();
}

#define SKIP_IF_NO_POOL()                                                                                              \
    do {                                                                                                               \
        if (!pool) {                                                                                                   \
            fprintf(stderr, "skipped: %s\n", skip_reason);                                                             \
            skip();                                                                                                    \
        }                                                                                                              \
    } while (0)

static void run_builtin(int index, const SbxLimits *lim, const char *input, TRun *r)
{
    SbxRequest req = t_builtin(index);
    if (lim)
        req.limits = *lim;
    if (input) {
        req.input = input;
        req.input_len = strlen(input);
    }
    t_run(pool, &req, r);
}

static void run_python(const char *code, const SbxLimits *lim, TRun *r)
{
    static const char *const env[] = {"LANG=C.UTF-8", NULL}; /* as flowd's nodes have */
    const char *argv[] = {T_PY, "-I", "-S", "-c", code, NULL};
    SbxRequest req = t_argv(SBX_PROFILE_INTERPRETER, argv);
    req.env = env;
    if (lim)
        req.limits = *lim;
    t_run(pool, &req, r);
}

static void run_sh(const char *script, const SbxLimits *lim, TRun *r)
{
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    SbxRequest req = t_argv(SBX_PROFILE_EXEC, argv);
    if (lim)
        req.limits = *lim;
    t_run(pool, &req, r);
}

static void expect_violation(TRun *r, const char *syscall_name)
{
    T_EXPECT(r, SBX_SANDBOX_VIOLATION);
    assert_int_equal(r->signal, SIGSYS);
    assert_string_equal(r->syscall, syscall_name);
    char want[128];
    snprintf(want, sizeof(want), "sandbox violation: forbidden system call %s", syscall_name);
    assert_string_equal(r->message, want);
}

static void expect_python_error(TRun *r, const char *needle)
{
    T_EXPECT(r, SBX_NONZERO_EXIT);
    assert_int_equal(r->exit_code, 1);
    if (!r->log || !strstr(r->log, needle)) {
        t_dump(r);
        fail_msg("log lacks \"%s\"", needle);
    }
}

/* ---- the cases ---- */

static void test_hostile_fork_bomb(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    SbxLimits lim = {.memory_bytes = 128u << 20, .pids = 16, .timeout_ms = 20000};
    run_sh("i=0; while [ $i -lt 200 ]; do sleep 60 & i=$((i+1)); done; wait", &lim, &r);
    /* pids.max stops it: dash reports "Cannot fork" and exits 2. */
    T_EXPECT(&r, SBX_NONZERO_EXIT);
    assert_int_equal(r.exit_code, 2);
    assert_non_null(strstr(r.log, "Cannot fork"));
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_python_fork(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_python("import os\nwhile True: os.fork()", NULL, &r);
    expect_python_error(&r, "PermissionError");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_memory_bomb_builtin(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    SbxLimits lim = {.memory_bytes = 32u << 20, .timeout_ms = 20000};
    run_builtin(B_MEMORY_BOMB, &lim, NULL, &r);
    T_EXPECT(&r, SBX_OOM_KILLED);
    assert_int_equal(r.signal, SIGKILL);
    assert_non_null(strstr(r.message, "killed: memory limit 32 MiB exceeded (peak "));
    assert_true(r.usage.peak_memory_bytes >= (30u << 20));
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_memory_bomb_python(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    SbxLimits lim = {.memory_bytes = 64u << 20, .timeout_ms = 20000};
    run_python("b = bytearray(256 << 20)\nprint(len(b))", &lim, &r);
    T_EXPECT(&r, SBX_OOM_KILLED);
    assert_string_equal(r.message, "killed: memory limit 64 MiB exceeded (peak 64 MiB)");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_busy_loop_timeout(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    SbxLimits lim = {.timeout_ms = 300};
    run_builtin(B_SPIN_FOREVER, &lim, NULL, &r);
    T_EXPECT(&r, SBX_TIMEOUT);
    assert_string_equal(r.message, "timed out after 0.3 s (wall clock limit)");
    assert_true(r.usage.wall_us >= 300000 && r.usage.wall_us < 2000000);
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_busy_loop_cpu_quota(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    SbxLimits lim = {.cpu_millis = 200, .timeout_ms = 10000};
    run_builtin(B_SPIN_1S, &lim, NULL, &r);
    T_EXPECT(&r, SBX_OK);
    uint64_t cpu = r.usage.cpu_user_us + r.usage.cpu_system_us;
    fprintf(stderr, "cpu quota 20%%: %.3f s CPU in %.3f s wall\n", cpu / 1e6, r.usage.wall_us / 1e6);
    assert_true(r.usage.wall_us >= 1000000);
    assert_true(cpu >= 100000 && cpu <= 450000); /* ~20% of 1 s, CFS granularity */
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_socket_builtin(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_builtin(B_SOCKET, NULL, NULL, &r);
    expect_violation(&r, "socket");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_connect_python(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_python("import socket\nsocket.create_connection(('127.0.0.1', 9))", NULL, &r);
    /* Killed by seccomp; the name comes from the kernel's audit record,
     * which is best effort (rate-limited), so it may be unknown. */
    T_EXPECT(&r, SBX_SANDBOX_VIOLATION);
    assert_int_equal(r.signal, SIGSYS);
    assert_true(strcmp(r.syscall, "socket") == 0 || r.syscall[0] == '\0');
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_open_builtin(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_builtin(B_OPEN, NULL, NULL, &r);
    expect_violation(&r, "openat");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_write_outside_scratch(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    const char *target = "/tmp/flowd-hostile-escape";
    unlink(target);
    TRun r;
    run_python("open('/tmp/flowd-hostile-escape', 'w').write('pwned')", NULL, &r);
    expect_python_error(&r, "PermissionError");
    assert_int_equal(access(target, F_OK), -1);
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_read_shadow(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_python("print(open('/etc/shadow').read())", NULL, &r);
    expect_python_error(&r, "PermissionError");
    assert_int_equal(r.output_len, 0);
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_ptrace(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_python("import ctypes\nctypes.CDLL(None).ptrace(0, 0, 0, 0)", NULL, &r);
    expect_violation(&r, "ptrace");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_mount(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_builtin(B_MOUNT, NULL, NULL, &r);
    expect_violation(&r, "mount");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_setuid0(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_builtin(B_SETUID0, NULL, NULL, &r);
    expect_violation(&r, "setuid");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_kill_builtin(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_builtin(B_KILL_INIT, NULL, NULL, &r);
    expect_violation(&r, "kill");
    t_run_free(&r);
    for (int i = 0; i < 3; i++) { /* the same attempt entry, a longer stderr line before */
        run_builtin(B_DIGITS_THEN_KILL, NULL, NULL, &r);
        expect_violation(&r, "kill");
        t_run_free(&r);
    }
    assert_healthy();
}

/* Built-ins are forked by a zygote that runs under a broader filter (it
 * forks, reaps, writes cgroup files, drops ids for its children); each
 * of those syscalls is still forbidden to a built-in and named. */
static void test_hostile_builtin_zygote_syscalls(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    static const struct {
        const char *name, *input;
    } cases[] = {
        {"clone", "56 17 0 0"}, /* fork-like: SIGCHLD */
        {"fork", "57 0 0 0"},          {"wait4", "61 -1 0 1"},       {"kill", "62 1 0 0"},
        {"setresuid", "117 0 0 0"},    {"setgroups", "116 0 0 0"},   {"prctl", "157 15 0 0"},  /* PR_SET_NAME */
        {"pipe2", "293 0 0 0"},        {"dup2", "33 1 9 0"},         {"fcntl", "72 1 4 2048"}, /* F_SETFL O_NONBLOCK */
        {"openat", "257 -100 0 0"},    {"epoll_ctl", "233 0 0 0"},   {"recvmsg", "47 0 0 0"},
        {"sendto", "44 1 0 0"},        {"pwrite64", "18 1 0 0"},     {"prlimit64", "302 0 7 0"},
        {"rt_sigaction", "13 31 0 0"}, {"seccomp", "317 0 0 0"},     {"chdir", "80 0 0 0"},
        {"getppid", "110 0 0 0"},      {"close_range", "436 0 0 0"}, {"set_robust_list", "273 0 24 0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TRun r;
        run_builtin(B_RAW_SYSCALL, NULL, cases[i].input, &r);
        print_message("%s: %s\n", cases[i].name, r.message);
        expect_violation(&r, cases[i].name);
        t_run_free(&r);
    }
    TRun ok;
    run_builtin(B_RAW_SYSCALL, NULL, "72 1 3 0", &ok); /* fcntl F_GETFL stays allowed */
    T_EXPECT(&ok, SBX_OK);
    t_run_free(&ok);
    assert_healthy();
}

static void test_hostile_kill_ppid_python(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_python("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", NULL, &r);
    expect_python_error(&r, "PermissionError");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_exhaust_fds(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    SbxLimits lim = {.nofile = 32, .memory_bytes = 128u << 20, .timeout_ms = 20000};
    run_python("fs = [open('/etc/hostname') for _ in range(10000)]", &lim, &r);
    expect_python_error(&r, "Too many open files");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_fill_disk_past_fsize(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    SbxLimits lim = {.fsize_bytes = 1u << 20, .memory_bytes = 128u << 20, .timeout_ms = 20000};
    /* Python ignores SIGXFSZ; put the default back so the kernel's answer
     * is visible as it would be for any other program. */
    run_python("import signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_DFL)\n"
               "f = open('big', 'wb')\nwhile True: f.write(b'x' * 65536); f.flush()",
               &lim, &r);
    T_EXPECT(&r, SBX_SIGNALED);
    assert_int_equal(r.signal, SIGXFSZ);
    assert_string_equal(r.message, "killed by signal SIGXFSZ: file size limit 1 MiB exceeded");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_stdout_gigabytes(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    SbxLimits lim = {.output_max_bytes = 1u << 20, .timeout_ms = 20000};
    run_builtin(B_STDOUT_FLOOD, &lim, NULL, &r);
    T_EXPECT(&r, SBX_INVALID_OUTPUT);
    assert_string_equal(r.message, "output larger than the limit of 1 MiB; the process was killed");
    assert_int_equal(r.output_len, 0);
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_stderr_gigabytes(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    SbxLimits lim = {.log_max_bytes = 16384, .timeout_ms = 30000};
    run_builtin(B_STDERR_FLOOD, &lim, NULL, &r);
    T_EXPECT(&r, SBX_OK);
    assert_string_equal(r.output, "{}");
    /* 16 lines of 1023 bytes fit in 16 KiB, then one truncation line. */
    assert_int_equal(r.log_lines, 17);
    assert_string_equal(r.last_log, "... log truncated");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_output_over_limit(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    SbxLimits lim = {.output_max_bytes = 1000, .timeout_ms = 10000};
    run_builtin(B_OUTPUT_N, &lim, "1000", &r);
    T_EXPECT(&r, SBX_OK);
    assert_int_equal(r.output_len, 1000);
    t_run_free(&r);
    run_builtin(B_OUTPUT_N, &lim, "1001", &r);
    T_EXPECT(&r, SBX_INVALID_OUTPUT);
    t_run_free(&r);
    assert_healthy();
}

static bool pid_gone(pid_t pid)
{
    char path[64], stat[256] = "";
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return true;
    size_t n = fread(stat, 1, sizeof(stat) - 1, f);
    stat[n] = '\0';
    fclose(f);
    const char *close_paren = strrchr(stat, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

static void test_hostile_setsid_grandchild(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_sh("setsid sleep 300 </dev/null >/dev/null 2>&1 & echo \"{\\\"pid\\\": $!}\"", NULL, &r);
    T_EXPECT(&r, SBX_OK);
    const char *p = strstr(r.output, "\"pid\": ");
    assert_non_null(p);
    pid_t pid = (pid_t)atoi(p + 7);
    assert_true(pid > 0);
    /* The attempt is over, so the escapee must be dead (or a zombie about
     * to be reaped by the zygote, its subreaper). */
    bool gone = false;
    for (int i = 0; i < 100 && !gone; i++) {
        gone = pid_gone(pid);
        if (!gone)
            usleep(10000);
    }
    assert_true(gone);
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_read_server_environ(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_python("print(open('/proc/1/environ').read())", NULL, &r);
    expect_python_error(&r, "PermissionError");
    t_run_free(&r);
    run_python("import os\nprint(open('/proc/%d/environ' % os.getppid()).read())", NULL, &r);
    expect_python_error(&r, "PermissionError");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_getenv_secret(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    const char *env[] = {"GRANTED=yes", NULL};
    SbxRequest req = t_builtin(B_ENV_PROBE);
    req.env = env;
    t_run(pool, &req, &r);
    T_EXPECT(&r, SBX_OK);
    assert_string_equal(r.output, "{\"n\":1,\"secret\":false,\"granted\":\"yes\"}");
    t_run_free(&r);
    const char *argv[] = {T_PY, "-I", "-S", "-c", "import os, json\nprint(json.dumps(sorted(os.environ)))", NULL};
    req = t_argv(SBX_PROFILE_INTERPRETER, argv);
    req.env = env;
    t_run(pool, &req, &r);
    T_EXPECT(&r, SBX_OK);
    /* Python may add LC_CTYPE when coercing the C locale; never the secret. */
    assert_null(strstr(r.output, "FLOWD_TEST_SECRET"));
    assert_non_null(strstr(r.output, "\"GRANTED\""));
    t_run_free(&r);
    assert_healthy();
}

/* The secret is in this test's initial environment (main() re-executes
 * itself to put it there), as a server's would be. A built-in is a copy of
 * its zygote, so the zygote must not be a copy of the server. */
static void test_hostile_secret_in_memory(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_builtin(B_SCAN_SECRET, NULL, NULL, &r);
    T_EXPECT(&r, SBX_OK);
    assert_string_equal(r.output, "{\"found\":false}");
    t_run_free(&r);
    assert_healthy();
}

/* This suite runs twice: python forked from the zygote's warm interpreter
 * (sbx_hostile_test) and python3 executed (sbx_hostile_started_test). */
static void test_hostile_python_start_mode(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_python("import sys\nprint('gc' in sys.modules)", NULL, &r); /* the python zygote imported gc */
    T_EXPECT(&r, SBX_OK);
    bool started = strcmp(r.output, "False\n") == 0;
    SbxInfo info;
    sbx_pool_info(pool, &info);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    assert_false(info.python_template); /* built-ins share the general zygotes here */
#else
    assert_int_equal(info.python_template, !STARTED);
#endif
    assert_int_equal(started, !info.python_template);
    t_run_free(&r);
}

/* A python attempt forked from a python zygote has a copy of the zygote's
 * heap: it must not find there the environment (the granted secrets) of
 * attempts that came before it, perhaps another tenant's. */
static void test_hostile_heap_of_earlier_attempts(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    static const char *const granted[] = {"LANG=C.UTF-8", "OTHER_TENANT_TOKEN=s3cr3t-of-an-earlier-node", NULL};
    const char *argv[] = {T_PY, "-I", "-S", "-c", "print('{}')", NULL};
    TRun r;
    for (int i = 0; i < 6; i++) { /* both general zygotes, more than once */
        SbxRequest req = t_argv(SBX_PROFILE_INTERPRETER, argv);
        req.env = granted;
        t_run(pool, &req, &r);
        T_EXPECT(&r, SBX_OK);
        t_run_free(&r);
    }
    /* The main arena is [sbrk(0) - arena, sbrk(0)). */
    const char *scan = "import ctypes\n"
                       "class MI(ctypes.Structure):\n"
                       "    _fields_ = [(n, ctypes.c_size_t) for n in 'arena ordblks smblks hblks hblkhd usmblks "
                       "fsmblks uordblks fordblks keepcost'.split()]\n"
                       "libc = ctypes.CDLL(None)\n"
                       "libc.sbrk.restype = ctypes.c_void_p\n"
                       "libc.mallinfo2.restype = MI\n"
                       "top = libc.sbrk(0)\n"
                       "size = libc.mallinfo2().arena\n"
                       "heap = ctypes.string_at(top - size, size)\n"
                       "needle = ''.join(['s3cr3t-of-an-', 'earlier']).encode()  # not a constant of this code\n"
                       "print(len(heap) > 0, needle in heap)";
    for (int i = 0; i < 4; i++) {
        run_python(scan, NULL, &r);
        T_EXPECT(&r, SBX_OK);
        assert_string_equal(r.output, "True False\n");
        t_run_free(&r);
    }
    assert_healthy();
}

static void test_hostile_python_execve_shell(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_python("import os\nos.execv('/bin/sh', ['sh', '-c', 'echo pwned'])", NULL, &r);
    expect_python_error(&r, "PermissionError");
    assert_null(strstr(r.output, "pwned"));
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_thread_forbidden_syscall(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_python("import threading, ctypes, time\n"
               "t = threading.Thread(target=lambda: ctypes.CDLL(None).ptrace(0, 0, 0, 0))\n"
               "t.start()\ntime.sleep(5)\nprint('{}')",
               NULL, &r);
    expect_violation(&r, "ptrace");
    assert_true(r.usage.wall_us < 4000000); /* the sleeping main thread died too */
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_never_reads_input(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    size_t n = 8u << 20;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    TRun r;
    run_builtin(B_IGNORE_INPUT, NULL, big, &r);
    T_EXPECT(&r, SBX_OK);
    assert_string_equal(r.output, "{}");
    free(big);
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_python_scratch_writes(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_python("import os, json\nopen('a.txt', 'w').write('hello')\nos.mkdir('d')\n"
               "open('d/b', 'w').write('x')\nos.rename('d/b', 'd/c')\n"
               "print(json.dumps({'cwd': os.getcwd(), 'read': open('a.txt').read()}))",
               NULL, &r);
    T_EXPECT(&r, SBX_OK);
    assert_non_null(strstr(r.output, "\"read\": \"hello\""));
    const char *cwd = strstr(r.output, "\"cwd\": \"");
    assert_non_null(cwd);
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", cwd + 8);
    dir[strcspn(dir, "\"")] = '\0';
    assert_int_equal(access(dir, F_OK), -1); /* removed after the attempt */
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_segv(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
#if defined(__SANITIZE_ADDRESS__)
    /* ASan keeps its own SIGSEGV handler, whose report needs syscalls the
     * compute profile refuses: the crash turns into a violation. */
    fprintf(stderr, "skipped: ASan owns SIGSEGV in its processes\n");
    skip();
#endif
    TRun r;
    run_builtin(B_SEGV, NULL, NULL, &r);
    T_EXPECT(&r, SBX_SIGNALED);
    assert_int_equal(r.signal, SIGSEGV);
    assert_string_equal(r.message, "killed by signal 11 (SIGSEGV)");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_exit_code(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_builtin(B_EXIT3, NULL, NULL, &r);
    T_EXPECT(&r, SBX_NONZERO_EXIT);
    assert_int_equal(r.exit_code, 3);
    assert_string_equal(r.message, "exited with code 3");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_mmap_exec(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_builtin(B_MMAP_EXEC, NULL, NULL, &r);
    expect_violation(&r, "mmap");
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_cancel(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    SbxRequest req = t_builtin(B_SLEEP);
    assert_int_equal(t_start(pool, &req, &r), 0);
    usleep(100000);
    assert_int_equal(sbx_cancel(pool, req.id), 0);
    t_wait(&r, 10);
    T_EXPECT(&r, SBX_CANCELLED);
    assert_string_equal(r.message, "cancelled");
    assert_int_equal(sbx_cancel(pool, req.id), -ENOENT);
    t_run_free(&r);
    assert_healthy();
}

static void test_hostile_progress_spam(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    run_builtin(B_PROGRESS_SPAM, NULL, NULL, &r);
    T_EXPECT(&r, SBX_OK);
    assert_true(r.n_progress >= 1 && r.n_progress <= 5);
    assert_string_equal(r.last_progress, "{\"progress\":1999}");
    t_run_free(&r);
    assert_healthy();
}

static int group_setup(void **state)
{
    (void)state;
    skip_reason = t_cgroup_unavailable();
    if (skip_reason)
        return 0;
    SbxConfig cfg = {.mode = SBX_MODE_CGROUP,
                     .zygotes = 2,
                     .max_children = 8,
                     .cgroup_name = CG_NAME,
                     .scratch_root = SCRATCH,
                     .builtins = builtins,
                     .n_builtins = ELEMENTSOF(builtins),
                     /* sbx_hostile_started_test: python started by execve */
                     .no_template = STARTED};
    return t_pool_start(&cfg, true, &pool);
}

static int group_teardown(void **state)
{
    (void)state;
    pool = sbx_pool_free(pool);
    rmdir(SCRATCH);
    return 0;
}

int main(int argc, char **argv)
{
    sbx_zygote_maybe_run(argc, argv, builtins, ELEMENTSOF(builtins));
    if (!getenv("FLOWD_TEST_SECRET")) {
        setenv("FLOWD_TEST_SECRET",
               "hun"
               "ter2",
               1);
        execv("/proc/self/exe", argv);
        perror("execv");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_python_start_mode),
        cmocka_unit_test(test_hostile_fork_bomb),
        cmocka_unit_test(test_hostile_python_fork),
        cmocka_unit_test(test_hostile_memory_bomb_builtin),
        cmocka_unit_test(test_hostile_memory_bomb_python),
        cmocka_unit_test(test_hostile_busy_loop_timeout),
        cmocka_unit_test(test_hostile_busy_loop_cpu_quota),
        cmocka_unit_test(test_hostile_socket_builtin),
        cmocka_unit_test(test_hostile_connect_python),
        cmocka_unit_test(test_hostile_open_builtin),
        cmocka_unit_test(test_hostile_write_outside_scratch),
        cmocka_unit_test(test_hostile_read_shadow),
        cmocka_unit_test(test_hostile_ptrace),
        cmocka_unit_test(test_hostile_mount),
        cmocka_unit_test(test_hostile_setuid0),
        cmocka_unit_test(test_hostile_kill_builtin),
        cmocka_unit_test(test_hostile_builtin_zygote_syscalls),
        cmocka_unit_test(test_hostile_kill_ppid_python),
        cmocka_unit_test(test_hostile_exhaust_fds),
        cmocka_unit_test(test_hostile_fill_disk_past_fsize),
        cmocka_unit_test(test_hostile_stdout_gigabytes),
        cmocka_unit_test(test_hostile_stderr_gigabytes),
        cmocka_unit_test(test_hostile_output_over_limit),
        cmocka_unit_test(test_hostile_setsid_grandchild),
        cmocka_unit_test(test_hostile_read_server_environ),
        cmocka_unit_test(test_hostile_getenv_secret),
        cmocka_unit_test(test_hostile_secret_in_memory),
        cmocka_unit_test(test_hostile_heap_of_earlier_attempts),
        cmocka_unit_test(test_hostile_python_execve_shell),
        cmocka_unit_test(test_hostile_thread_forbidden_syscall),
        cmocka_unit_test(test_hostile_never_reads_input),
        cmocka_unit_test(test_hostile_python_scratch_writes),
        cmocka_unit_test(test_hostile_segv),
        cmocka_unit_test(test_hostile_exit_code),
        cmocka_unit_test(test_hostile_mmap_exec),
        cmocka_unit_test(test_hostile_cancel),
        cmocka_unit_test(test_hostile_progress_spam),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
