/* sbx_template_test.c: python attempts started from a zygote's warm
 * interpreter (sandbox/template-python.c) behave as python3 -I -S -c run
 * by execve: the same sys state, environment, stdio, signal dispositions
 * and exit statuses. Each case runs the same code through a real pool and
 * as a plain python3 process, and compares what they print.
 * Needs root and a writable cgroupfs (Bazel tag no-sandbox); skips
 * otherwise. */
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/sandbox/sbx-test.h"

#define CG_NAME "flowd-test-template"

static SbxPool *pool;
static const char *skip_reason;

/* Prints "forked" in a child of a python zygote, "started" in a python3
 * executed for the attempt: the zygote imported gc (to freeze it), a
 * started python3 -S does not. (/proc/self is out of Landlock's reach.) */
#define WHERE "import sys\nprint('forked' if 'gc' in sys.modules else 'started')"

/* The locale flowd gives every node: the one the template is warmed for. */
static const char *const node_env[] = {"LANG=C.UTF-8", NULL};

#define SKIP_IF_NO_POOL() T_SKIP_IF(skip_reason)

/* What the code would print and exit with as a process of its own. */
typedef struct Direct {
    char out[65536];
    int status;
} Direct;

static void run_direct(const char *const *argv, const char *const *env, Direct *d)
{
    int out[2], in[2];
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(in), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, (char *const *)env), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    (void)!write(in[1], "{}", 2);
    close(in[1]);
    size_t n = 0;
    ssize_t k;
    while (n < sizeof(d->out) - 1 && (k = read(out[0], d->out + n, sizeof(d->out) - 1 - n)) > 0)
        n += (size_t)k;
    d->out[n] = 0;
    close(out[0]);
    assert_int_equal(waitpid(pid, &d->status, 0), pid);
}

static void run_pool(const char *const *argv, const char *const *env, TRun *r)
{
    SbxRequest req = t_argv(SBX_PROFILE_INTERPRETER, argv);
    req.env = env;
    t_run(pool, &req, r);
}

/* The code runs both ways with the same argv and environment. */
static void compare(const char *code, const char *const *env, TRun *r, Direct *d)
{
    const char *argv[] = {T_PY, "-I", "-S", "-c", code, "one", "two", NULL};
    run_pool(argv, env, r);
    run_direct(argv, env, d);
}

static const char probe[] =
    "import sys, os, signal, threading, locale\n"
    "s = sys.stdout\n"
    "t = threading.Thread(target=lambda: None)\n"
    "t.start()\n"
    "t.join()\n"
    "print(repr((sys.path, tuple(sys.flags), sys.argv, sys.orig_argv[:4], sys.orig_argv[5:], sys.executable,\n"
    "    sys._base_executable, sys.prefix, sorted(os.environ.items()), sorted(os.environb.items()),\n"
    "    os.getenv('A'), s.encoding, s.errors, s.line_buffering, s.buffer.raw.seekable(), sys.stderr.errors,\n"
    "    sys.stderr.line_buffering, sys.stdin.encoding, sys.stdin.errors, sys.getfilesystemencoding(),\n"
    "    signal.getsignal(signal.SIGPIPE), signal.getsignal(signal.SIGXFSZ),\n"
    "    signal.getsignal(signal.SIGINT) is signal.default_int_handler, __name__, sys.flags.hash_randomization,\n"
    "    t.native_id != threading.get_native_id(), threading.current_thread() is threading.main_thread(),\n"
    "    locale.setlocale(locale.LC_CTYPE), locale.setlocale(locale.LC_TIME), locale.getpreferredencoding(False))))\n";

static void test_template_runs_python(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    TRun r;
    const char *argv[] = {T_PY, "-I", "-S", "-c", WHERE, NULL};
    run_pool(argv, node_env, &r);
    T_EXPECT(&r, SBX_OK);
    assert_string_equal(r.output, "forked\n");
    t_run_free(&r);
}

static void test_template_same_state_as_python3(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    const char *env[] = {"A=1", "PYTHONPATH=/nowhere", "LANG=C.UTF-8", "HOME=/tmp", NULL};
    TRun r;
    Direct d;
    compare(probe, env, &r, &d);
    T_EXPECT(&r, SBX_OK);
    assert_true(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0);
    assert_string_equal(r.output, d.out);
    assert_non_null(strstr(r.output, "('A', '1')"));
    t_run_free(&r);
}

static void expect_same_exit(const char *code, int want_status, const char *want_log)
{
    TRun r;
    Direct d;
    compare(code, node_env, &r, &d);
    assert_true(WIFEXITED(d.status));
    assert_int_equal(WEXITSTATUS(d.status), want_status);
    if (want_status == 0) {
        T_EXPECT(&r, SBX_OK);
    } else {
        T_EXPECT(&r, SBX_NONZERO_EXIT);
        assert_int_equal(r.exit_code, want_status);
    }
    assert_string_equal(r.output, d.out);
    if (want_log)
        assert_non_null(strstr(r.log ? r.log : "", want_log));
    t_run_free(&r);
}

static void test_template_exit_statuses(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    expect_same_exit("print('{}')", 0, NULL);
    expect_same_exit("import sys\nprint('{}')\nsys.exit(None)", 0, NULL);
    expect_same_exit("import sys\nprint('{}')\nsys.exit(3)", 3, NULL);
    expect_same_exit("import sys\nsys.exit('bye now')", 1, "bye now");
    expect_same_exit("raise ValueError('no good')", 1, "ValueError: no good");
    expect_same_exit("def broken(:\n  pass", 1, "SyntaxError");
    /* The end of the program runs atexit and flushes stdout, as python's does. */
    expect_same_exit("import atexit, sys\nsys.stdout.write('{\"a\":')\natexit.register(lambda: print('1}'))", 0, NULL);
}

static void expect_started(const char *const *env)
{
    const char *argv[] = {T_PY, "-I", "-S", "-c", WHERE, NULL};
    TRun r;
    run_pool(argv, env, &r);
    T_EXPECT(&r, SBX_OK);
    assert_string_equal(r.output, "started\n");
    t_run_free(&r);
}

/* python picks its encodings and UTF-8 mode from the locale: an attempt
 * under another one than the template's starts python3. So does any other
 * command line. */
static void test_template_only_for_its_locale_and_flags(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    const char *const none[] = {NULL};
    const char *const c_all[] = {"LANG=C.UTF-8", "LC_ALL=C", NULL};
    const char *const other[] = {"LC_CTYPE=en_US.UTF-8", "LANG=C.UTF-8", NULL};
    expect_started(none);
    expect_started(c_all);
    expect_started(other);
    const char *const ctype_only[] = {"LC_CTYPE=C.UTF-8", NULL};
    const char *argv[] = {T_PY, "-I", "-c", WHERE, NULL};
    TRun r;
    run_pool(argv, node_env, &r); /* no -S */
    T_EXPECT(&r, SBX_OK);
    assert_string_equal(r.output, "started\n");
    t_run_free(&r);
    const char *warm_argv[] = {T_PY, "-I", "-S", "-c", WHERE, NULL};
    run_pool(warm_argv, ctype_only, &r);
    T_EXPECT(&r, SBX_OK);
    assert_string_equal(r.output, "forked\n");
    t_run_free(&r);
}

static void test_template_children_differ(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    const char *argv[] = {T_PY, "-I", "-S", "-c", "import random, os\nprint(random.random(), os.getpid())", NULL};
    TRun a, b;
    run_pool(argv, node_env, &a);
    run_pool(argv, node_env, &b);
    T_EXPECT(&a, SBX_OK);
    T_EXPECT(&b, SBX_OK);
    assert_string_not_equal(a.output, b.output);
    t_run_free(&a);
    t_run_free(&b);
}

/* A module python cannot load (here: not an ELF file at all; in life, a
 * python3 of another version) leaves an ordinary zygote: the python zygote
 * executes the zygote program, and python attempts are started. */
static void test_template_falls_back_when_module_fails(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    const char *dir = "/tmp/flowd-sbx-template-bad";
    char so[128];
    snprintf(so, sizeof(so), "%s/flowd_sbx_python.so", dir);
    mkdir(dir, 0755);
    FILE *f = fopen(so, "w");
    assert_non_null(f);
    fputs("not a shared object\n", f);
    fclose(f);
    SbxConfig cfg = {.mode = SBX_MODE_CGROUP,
                     .zygotes = 1,
                     .max_children = 2,
                     .cgroup_name = CG_NAME "-bad",
                     .scratch_root = "/tmp/flowd-sbx-template-bad/scratch",
                     .python_zygote = so};
    SbxPool *bad = NULL;
    SbxError e = {0};
    assert_int_equal(sbx_pool_new(&cfg, &bad, &e), 0);
    assert_int_equal(sbx_pool_start(bad, t_on_event, NULL), 0);
    SbxInfo info;
    sbx_pool_info(bad, &info);
    assert_false(info.python_template); /* its zygotes said so in READY */
    sbx_pool_info(pool, &info);
    assert_true(info.python_template);
    const char *argv[] = {T_PY, "-I", "-S", "-c", WHERE, NULL};
    SbxRequest req = t_argv(SBX_PROFILE_INTERPRETER, argv);
    req.env = node_env;
    TRun r;
    t_run(bad, &req, &r);
    T_EXPECT(&r, SBX_OK);
    assert_string_equal(r.output, "started\n");
    t_run_free(&r);
    sbx_pool_free(bad);
    unlink(so);
    rmdir("/tmp/flowd-sbx-template-bad/scratch");
    rmdir(dir);
}

/* A python zygote that dies is replaced by another python zygote: the
 * attempt it ran ends INTERNAL, the next ones are forked again. */
static void test_template_zygote_restarts(void **state)
{
    (void)state;
    SKIP_IF_NO_POOL();
    const char *argv[] = {T_PY, "-I", "-S", "-c", "import time\ntime.sleep(30)", NULL};
    SbxRequest req = t_argv(SBX_PROFILE_INTERPRETER, argv);
    req.env = node_env;
    t_kill_zygote_of(pool, &req);
    TRun r;
    const char *where[] = {T_PY, "-I", "-S", "-c", WHERE, NULL};
    run_pool(where, node_env, &r);
    T_EXPECT(&r, SBX_OK);
    assert_string_equal(r.output, "forked\n");
    t_run_free(&r);
}

static int group_setup(void **state)
{
    (void)state;
    skip_reason = t_cgroup_unavailable();
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    /* Built-ins run in the general zygotes there, so those stay ours. */
    skip_reason = "sanitizer build: no python template (sbx_hostile_test covers the started path)";
#endif
    if (skip_reason)
        return 0;
    SbxConfig cfg = {.mode = SBX_MODE_CGROUP,
                     .zygotes = 1,
                     .max_children = 4,
                     .cgroup_name = CG_NAME,
                     .scratch_root = "/tmp/flowd-sbx-template"};
    return t_pool_start(&cfg, true, &pool);
}

static int group_teardown(void **state)
{
    (void)state;
    pool = sbx_pool_free(pool);
    rmdir("/tmp/flowd-sbx-template");
    return 0;
}

int main(int argc, char **argv)
{
    sbx_zygote_maybe_run(argc, argv, NULL, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_runs_python),     cmocka_unit_test(test_template_same_state_as_python3),
        cmocka_unit_test(test_template_exit_statuses),   cmocka_unit_test(test_template_only_for_its_locale_and_flags),
        cmocka_unit_test(test_template_children_differ), cmocka_unit_test(test_template_falls_back_when_module_fails),
        cmocka_unit_test(test_template_zygote_restarts),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
