/* sbx_unit_test.c: the pure parts of the sandbox: frame codec (round trips,
 * truncation, garbage), outcome classification and its messages, profile
 * compilation, small formatting helpers. Needs no root and no cgroups. */
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "tests/sandbox/sbx-test.h"

#include "sandbox/sbx-frame.h"
#include "sandbox/sbx-internal.h"
#include "sandbox/sbx-util.h"

/* ---- frame codec ---- */

static void test_sbx_frame_spawn_roundtrip(void **state)
{
    (void)state;
    const char *argv[] = {"/usr/bin/python3", "-c", "print(1)", NULL};
    const char *env[] = {"A=1", "B=", NULL};
    SbxRequest req = {.id = 42,
                      .builtin = -1,
                      .profile = SBX_PROFILE_INTERPRETER,
                      .argv = argv,
                      .env = env,
                      .limits = {.memory_bytes = 1ull << 33,
                                 .cpu_millis = 250,
                                 .pids = 7,
                                 .timeout_ms = 1500,
                                 .output_max_bytes = 99,
                                 .fsize_bytes = 5,
                                 .nofile = 11,
                                 .log_max_bytes = 12}};
    SbxBuf buf = {0};
    SbxWriter w;
    assert_int_equal(sbx_spawn_encode(&w, &buf, &req, SBX_PROFILE_INTERPRETER), 0);
    SbxFrameType type;
    SbxReader r;
    size_t size;
    assert_int_equal(sbx_frame_next(buf.data, buf.len, &type, &r, &size), 1);
    assert_int_equal(size, buf.len);
    assert_int_equal(type, SBX_FRAME_SPAWN);
    SbxSpawnMsg m;
    assert_int_equal(sbx_spawn_decode(&r, &m), 0);
    assert_int_equal(m.id, 42);
    assert_int_equal(m.builtin, -1);
    assert_int_equal(m.profile, SBX_PROFILE_INTERPRETER);
    assert_int_equal(m.limits.memory_bytes, 1ull << 33);
    assert_int_equal(m.limits.cpu_millis, 250);
    assert_int_equal(m.limits.log_max_bytes, 12);
    assert_string_equal(m.argv[0], "/usr/bin/python3");
    assert_string_equal(m.argv[2], "print(1)");
    assert_null(m.argv[3]);
    assert_string_equal(m.env[0], "A=1");
    assert_string_equal(m.env[1], "B=");
    assert_null(m.env[2]);
    sbx_spawn_msg_done(&m);
    sbx_buf_free(&buf);
}

static void test_sbx_frame_builtin_has_no_argv(void **state)
{
    (void)state;
    SbxRequest req = {.id = 1, .builtin = 3, .env = NULL};
    SbxBuf buf = {0};
    SbxWriter w;
    assert_int_equal(sbx_spawn_encode(&w, &buf, &req, SBX_PROFILE_COMPUTE), 0);
    SbxFrameType type;
    SbxReader r;
    size_t size;
    assert_int_equal(sbx_frame_next(buf.data, buf.len, &type, &r, &size), 1);
    SbxSpawnMsg m;
    assert_int_equal(sbx_spawn_decode(&r, &m), 0);
    assert_int_equal(m.builtin, 3);
    assert_null(m.argv);
    assert_non_null(m.env);
    assert_null(m.env[0]);
    sbx_spawn_msg_done(&m);
    sbx_buf_free(&buf);
}

static void test_sbx_frame_done_roundtrip(void **state)
{
    (void)state;
    SbxResult res = {.outcome = SBX_SANDBOX_VIOLATION,
                     .exit_code = -1,
                     .signal = SIGSYS,
                     .syscall = "socket",
                     .output = "{\"a\":1}",
                     .output_len = 7,
                     .usage = {.peak_memory_bytes = 5, .cpu_user_us = 6, .cpu_system_us = 7, .wall_us = 8},
                     .message = "sandbox violation: forbidden system call socket"};
    SbxBuf buf = {0};
    SbxWriter w;
    assert_int_equal(sbx_done_encode(&w, &buf, 77, &res), 0);
    SbxFrameType type;
    SbxReader r;
    size_t size;
    assert_int_equal(sbx_frame_next(buf.data, buf.len, &type, &r, &size), 1);
    assert_int_equal(type, SBX_FRAME_DONE);
    uint64_t id;
    SbxResult out;
    assert_int_equal(sbx_done_decode(&r, &id, &out), 0);
    assert_int_equal(id, 77);
    assert_int_equal(out.outcome, SBX_SANDBOX_VIOLATION);
    assert_int_equal(out.signal, SIGSYS);
    assert_string_equal(out.syscall, "socket");
    assert_string_equal(out.message, res.message);
    assert_int_equal(out.output_len, 7);
    assert_memory_equal(out.output, "{\"a\":1}", 7);
    assert_int_equal(out.usage.wall_us, 8);
    sbx_buf_free(&buf);
}

static void test_sbx_frame_next_needs_whole_frame(void **state)
{
    (void)state;
    SbxBuf buf = {0};
    SbxWriter w;
    sbx_frame_begin(&w, &buf, SBX_FRAME_CANCEL);
    sbx_put_u64(&w, 9);
    assert_int_equal(sbx_frame_end(&w), 0);
    SbxFrameType type;
    SbxReader r;
    size_t size;
    for (size_t n = 0; n < buf.len; n++)
        assert_int_equal(sbx_frame_next(buf.data, n, &type, &r, &size), 0);
    assert_int_equal(sbx_frame_next(buf.data, buf.len, &type, &r, &size), 1);
    assert_int_equal(sbx_get_u64(&r), 9);
    assert_false(r.bad);
    sbx_buf_free(&buf);
}

static void test_sbx_frame_next_rejects_oversize(void **state)
{
    (void)state;
    const unsigned char huge[8] = {0xff, 0xff, 0xff, 0x7f, 2, 0, 0, 0};
    const unsigned char empty[4] = {0, 0, 0, 0};
    SbxFrameType type;
    SbxReader r;
    size_t size;
    assert_int_equal(sbx_frame_next((const char *)huge, sizeof(huge), &type, &r, &size), -EBADMSG);
    assert_int_equal(sbx_frame_next((const char *)empty, sizeof(empty), &type, &r, &size), -EBADMSG);
}

static void test_sbx_frame_truncated_bodies_are_bad(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/true", NULL};
    SbxRequest req = {.id = 5, .builtin = -1, .profile = SBX_PROFILE_EXEC, .argv = argv};
    SbxBuf buf = {0};
    SbxWriter w;
    assert_int_equal(sbx_spawn_encode(&w, &buf, &req, SBX_PROFILE_EXEC), 0);
    /* Every shorter body must decode as an error, never read past it. */
    for (size_t cut = 1; cut < buf.len - SBX_FRAME_HDR - 1; cut++) {
        char *copy = malloc(cut);
        memcpy(copy, buf.data + SBX_FRAME_HDR + 1, cut);
        SbxReader r = {.p = copy, .left = cut};
        SbxSpawnMsg m;
        assert_int_equal(sbx_spawn_decode(&r, &m), -EBADMSG);
        free(copy);
    }
    sbx_buf_free(&buf);
}

/* A cheap fuzz loop: random bodies never crash or over-read a decoder
 * (run under ASan with --config=asan to see the latter). */
static void test_sbx_frame_random_garbage(void **state)
{
    (void)state;
    unsigned seed = 12345;
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(rand_r(&seed) % 96);
        char *b = malloc(n ? n : 1);
        for (size_t k = 0; k < n; k++)
            b[k] = (char)(rand_r(&seed) % 4 == 0 ? 0 : rand_r(&seed));
        SbxReader r = {.p = b, .left = n};
        SbxSpawnMsg m;
        if (sbx_spawn_decode(&r, &m) == 0)
            sbx_spawn_msg_done(&m);
        r = (SbxReader){.p = b, .left = n};
        uint64_t id;
        SbxResult res;
        (void)sbx_done_decode(&r, &id, &res);
        r = (SbxReader){.p = b, .left = n};
        SbxZygoteInit in;
        if (sbx_init_decode(&r, &in) == 0)
            sbx_init_done(&in);
        free(b);
    }
}

static void test_sbx_frame_init_roundtrip(void **state)
{
    (void)state;
    struct sock_filter insns[2] = {{0x20, 0, 0, 4}, {0x06, 0, 0, 0x7fff0000}};
    SbxSlotPaths slots[2] = {{{"/m/s0", "/c/s0", "", ""}}, {{"/m/s1", "/c/s1", "", ""}}};
    char *ro[] = {"/opt/x", NULL};
    SbxZygoteInit in = {.index = 3,
                        .uid = 65534,
                        .gid = 65533,
                        .mode = SBX_MODE_CGROUP,
                        .cgroup_version = 1,
                        .memsw = true,
                        .landlock_abi = 7,
                        .max_children = 6,
                        .scratch_root = "/tmp/s",
                        .ro_paths = ro,
                        .slots = slots,
                        .n_slots = 2};
    for (int p = 0; p < _SBX_PROFILE_MAX; p++)
        in.bpf[p] = (SbxBpf){.insns = insns, .len = 2};
    SbxBuf buf = {0};
    SbxWriter w;
    assert_int_equal(sbx_init_encode(&w, &buf, &in), 0);
    SbxFrameType type;
    SbxReader r;
    size_t size;
    assert_int_equal(sbx_frame_next(buf.data, buf.len, &type, &r, &size), 1);
    SbxZygoteInit out;
    assert_int_equal(sbx_init_decode(&r, &out), 0);
    assert_int_equal(out.index, 3);
    assert_int_equal(out.gid, 65533);
    assert_true(out.memsw);
    assert_int_equal(out.landlock_abi, 7);
    assert_string_equal(out.scratch_root, "/tmp/s");
    assert_string_equal(out.ro_paths[0], "/opt/x");
    assert_null(out.ro_paths[1]);
    assert_int_equal(out.bpf[SBX_PROFILE_EXEC].len, 2);
    assert_memory_equal(out.bpf[0].insns, insns, sizeof(insns));
    assert_string_equal(out.slots[1].dir[SBX_CG_CPU], "/c/s1");
    assert_string_equal(out.slots[1].dir[SBX_CG_PIDS], "");
    sbx_init_done(&out);
    sbx_buf_free(&buf);
}

/* ---- classification ---- */

static SbxLimits lim = {
    .memory_bytes = 64u << 20, .timeout_ms = 2000, .output_max_bytes = 1u << 20, .fsize_bytes = 1u << 20};

static void classify(SbxExitInfo *x, SbxResult *res, char *msg)
{
    x->limits = &lim;
    if (x->syscall_nr == 0 && x->stage == SBX_STAGE_NONE)
        x->syscall_nr = -1;
    memset(res, 0, sizeof(*res));
    sbx_classify(x, res, msg, 256);
}

static void test_sbx_classify_ok_and_exit_codes(void **state)
{
    (void)state;
    SbxResult res;
    char msg[256];
    SbxExitInfo x = {.status = 0};
    classify(&x, &res, msg);
    assert_int_equal(res.outcome, SBX_OK);
    x = (SbxExitInfo){.status = 3 << 8};
    classify(&x, &res, msg);
    assert_int_equal(res.outcome, SBX_NONZERO_EXIT);
    assert_int_equal(res.exit_code, 3);
    assert_string_equal(msg, "exited with code 3");
}

static void test_sbx_classify_oom_needs_sigkill_and_counter(void **state)
{
    (void)state;
    SbxResult res;
    char msg[256];
    SbxExitInfo x = {.status = SIGKILL, .oom = true, .peak_bytes = 64u << 20};
    classify(&x, &res, msg);
    assert_int_equal(res.outcome, SBX_OOM_KILLED);
    assert_string_equal(msg, "killed: memory limit 64 MiB exceeded (peak 64 MiB)");
    x = (SbxExitInfo){.status = SIGKILL};
    classify(&x, &res, msg);
    assert_int_equal(res.outcome, SBX_SIGNALED);
    assert_string_equal(msg, "killed by signal 9 (SIGKILL)");
    x = (SbxExitInfo){.status = 1 << 8, .oom = true}; /* a grandchild was OOM-killed */
    classify(&x, &res, msg);
    assert_int_equal(res.outcome, SBX_NONZERO_EXIT);
}

static void test_sbx_classify_sandbox_reasons_win(void **state)
{
    (void)state;
    SbxResult res;
    char msg[256];
    SbxExitInfo x = {.status = SIGKILL, .timed_out = true, .oom = true};
    classify(&x, &res, msg);
    assert_int_equal(res.outcome, SBX_TIMEOUT);
    assert_string_equal(msg, "timed out after 2.0 s (wall clock limit)");
    x = (SbxExitInfo){.status = SIGKILL, .timed_out = true, .cancelled = true};
    classify(&x, &res, msg);
    assert_int_equal(res.outcome, SBX_CANCELLED);
    x = (SbxExitInfo){.status = SIGKILL, .overflow = true};
    classify(&x, &res, msg);
    assert_int_equal(res.outcome, SBX_INVALID_OUTPUT);
    assert_string_equal(msg, "output larger than the limit of 1 MiB; the process was killed");
}

static void test_sbx_classify_violation_names_syscall(void **state)
{
    (void)state;
    SbxResult res;
    char msg[256];
    SbxExitInfo x = {.status = SIGSYS, .syscall_nr = 41};
    classify(&x, &res, msg);
    assert_int_equal(res.outcome, SBX_SANDBOX_VIOLATION);
    assert_string_equal(res.syscall, "socket");
    assert_string_equal(msg, "sandbox violation: forbidden system call socket");
    x = (SbxExitInfo){.status = SIGSYS, .syscall_nr = -1};
    classify(&x, &res, msg);
    assert_string_equal(res.syscall, "");
    assert_string_equal(msg, "sandbox violation: forbidden system call (name unknown)");
}

static void test_sbx_classify_setup_failure_is_internal(void **state)
{
    (void)state;
    SbxResult res;
    char msg[256];
    SbxExitInfo x = {.status = 127 << 8, .stage = SBX_STAGE_EXEC, .stage_err = ENOENT};
    classify(&x, &res, msg);
    assert_int_equal(res.outcome, SBX_INTERNAL);
    assert_string_equal(msg, "sandbox setup failed while executing the program: No such file or "
                             "directory");
}

static void test_sbx_classify_fsize_and_usage(void **state)
{
    (void)state;
    SbxResult res;
    char msg[256];
    SbxExitInfo x = {.status = SIGXFSZ, .wall_us = 5, .ru = {.ru_utime = {1, 2}, .ru_stime = {0, 3}, .ru_maxrss = 100}};
    classify(&x, &res, msg);
    assert_int_equal(res.outcome, SBX_SIGNALED);
    assert_string_equal(msg, "killed by signal SIGXFSZ: file size limit 1 MiB exceeded");
    assert_int_equal(res.usage.cpu_user_us, 1000002);
    assert_int_equal(res.usage.cpu_system_us, 3);
    assert_int_equal(res.usage.peak_memory_bytes, 102400); /* ru_maxrss fallback */
    assert_int_equal(res.usage.wall_us, 5);
}

/* ---- profiles and helpers ---- */

static void test_sbx_seccomp_compile_all_profiles(void **state)
{
    (void)state;
    for (int landlock = 0; landlock < 2; landlock++)
        for (int p = 0; p < _SBX_PROFILE_MAX; p++) {
            SbxBpf bpf = {0};
            SbxError e = {0};
            assert_int_equal(sbx_seccomp_compile((SbxProfile)p, landlock, &bpf, &e), 0);
            assert_true(bpf.len > 10 && bpf.len < 1000);
            sbx_bpf_free(&bpf);
        }
}

/* The compiled compute program, loaded in a child, lets a built-in work and
 * stops socket(): checks the program, not just that it compiles. */
static void test_sbx_seccomp_compute_blocks_socket(void **state)
{
    (void)state;
    SbxBpf bpf = {0};
    assert_int_equal(sbx_seccomp_compile(SBX_PROFILE_COMPUTE, false, &bpf, NULL), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sock_fprog prog = {.len = (unsigned short)bpf.len, .filter = bpf.insns};
        signal(SIGSYS, SIG_DFL);
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
            _exit(3);
        char *p = malloc(1 << 20); /* brk/mmap without PROT_EXEC: allowed */
        p[0] = 1;
        syscall(SYS_socket, 2, 1, 0);
        _exit(4);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
    sbx_bpf_free(&bpf);
}

static void test_sbx_format_bytes(void **state)
{
    (void)state;
    char b[32];
    sbx_format_bytes(64u << 20, b, sizeof(b));
    assert_string_equal(b, "64 MiB");
    sbx_format_bytes(1536u << 20, b, sizeof(b));
    assert_string_equal(b, "1.5 GiB");
    sbx_format_bytes(100, b, sizeof(b));
    assert_string_equal(b, "100 bytes");
    sbx_format_bytes(2048, b, sizeof(b));
    assert_string_equal(b, "2 KiB");
}

static void test_sbx_parse_keyed_u64(void **state)
{
    (void)state;
    uint64_t v = 0;
    const char *oc = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
    assert_int_equal(sbx_parse_keyed_u64(oc, "oom_kill", &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(sbx_parse_keyed_u64(oc, "oom", &v), -ENOENT);
    assert_int_equal(sbx_parse_keyed_u64("populated 1\nfrozen 0\n", "populated", &v), 0);
    assert_int_equal(v, 1);
}

static void test_sbx_names_tables(void **state)
{
    (void)state;
    for (int i = 0; i < _SBX_OUTCOME_MAX; i++)
        assert_non_null(sbx_outcome_name((SbxOutcome)i));
    for (int i = 0; i < _SBX_PROFILE_MAX; i++)
        assert_non_null(sbx_profile_name((SbxProfile)i));
    for (int i = 0; i < _SBX_MODE_MAX; i++)
        assert_non_null(sbx_mode_name((SbxMode)i));
    assert_null(sbx_outcome_name(_SBX_OUTCOME_MAX));
    assert_string_equal(sbx_outcome_name(SBX_OOM_KILLED), "OOM_KILLED");
    assert_string_equal(sbx_mode_name(SBX_MODE_RLIMIT), "rlimit");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sbx_frame_spawn_roundtrip),
        cmocka_unit_test(test_sbx_frame_builtin_has_no_argv),
        cmocka_unit_test(test_sbx_frame_done_roundtrip),
        cmocka_unit_test(test_sbx_frame_next_needs_whole_frame),
        cmocka_unit_test(test_sbx_frame_next_rejects_oversize),
        cmocka_unit_test(test_sbx_frame_truncated_bodies_are_bad),
        cmocka_unit_test(test_sbx_frame_random_garbage),
        cmocka_unit_test(test_sbx_frame_init_roundtrip),
        cmocka_unit_test(test_sbx_classify_ok_and_exit_codes),
        cmocka_unit_test(test_sbx_classify_oom_needs_sigkill_and_counter),
        cmocka_unit_test(test_sbx_classify_sandbox_reasons_win),
        cmocka_unit_test(test_sbx_classify_violation_names_syscall),
        cmocka_unit_test(test_sbx_classify_setup_failure_is_internal),
        cmocka_unit_test(test_sbx_classify_fsize_and_usage),
        cmocka_unit_test(test_sbx_seccomp_compile_all_profiles),
        cmocka_unit_test(test_sbx_seccomp_compute_blocks_socket),
        cmocka_unit_test(test_sbx_format_bytes),
        cmocka_unit_test(test_sbx_parse_keyed_u64),
        cmocka_unit_test(test_sbx_names_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
