/* Node kinds through the real sandbox: built-ins forked by a zygote under
 * the compute seccomp profile (no open: nothing in them may touch a file,
 * a locale or /proc), exec attempts through the adapter under the exec
 * profile, and the example plugin loaded by the plugin runner under the
 * interpreter profile with Landlock. Needs root and a writable cgroupfs;
 * skips with the reason otherwise.
 *
 * exec and plugin attempts execve this binary as the sandbox uid, which
 * cannot reach Bazel's output tree under /root, so the setup copies the
 * binary and the plugin to a fresh directory under /tmp. */
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include "nodes-test.h"
#include "sandbox/sbx.h"

typedef struct Run {
    bool done;
    uint64_t id;
    SbxOutcome outcome;
    int exit_code;
    char syscall[32];
    char message[512];
    char *output;
    unsigned n_progress;
    char last_progress[256];
    char log[4096];
} Run;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static Run *current;
static SbxPool *pool;
static char dir[64], self_copy[128], plugin_dir[128];
static const char *plugin_src;
static const char *skip_reason;
/* ASAN_OPTIONS only matters for --config=asan builds (exec attempts run
 * an ASan copy of this binary). */
static const char *const env[] = {"LANG=C.UTF-8", "PATH=/usr/bin:/bin", "ASAN_OPTIONS=detect_leaks=0", NULL};

static void on_event(const SbxEvent *ev, void *userdata)
{
    (void)userdata;
    pthread_mutex_lock(&mu);
    Run *r = current && current->id == ev->id ? current : NULL;
    if (r && ev->type == SBX_EV_PROGRESS) {
        r->n_progress++;
        snprintf(r->last_progress, sizeof(r->last_progress), "%s", ev->line);
    } else if (r && ev->type == SBX_EV_LOG) {
        size_t n = strlen(r->log);
        snprintf(r->log + n, sizeof(r->log) - n, "%s\n", ev->line);
    } else if (r && ev->type == SBX_EV_DONE) {
        r->outcome = ev->result->outcome;
        r->exit_code = ev->result->exit_code;
        snprintf(r->syscall, sizeof(r->syscall), "%s", ev->result->syscall);
        snprintf(r->message, sizeof(r->message), "%s", ev->result->message ? ev->result->message : "");
        r->output = strndup(ev->result->output ? ev->result->output : "", ev->result->output_len);
        r->done = true;
        pthread_cond_broadcast(&cv);
    }
    pthread_mutex_unlock(&mu);
}

/* Runs one attempt of kind with the envelope text and waits for DONE. */
static void run_kind(const NodeKind *k, const char *envelope, Run *r)
{
    static uint64_t next_id = 1;
    SbxRequest req = {.id = next_id++,
                      .env = env,
                      .input = envelope,
                      .input_len = strlen(envelope),
                      .limits = {.memory_bytes = 256u << 20, .timeout_ms = 20000, .pids = 32}};
    struct timespec until;

    assert_non_null(k);
    nodes_fill_request(k, &req);
    memset(r, 0, sizeof(*r));
    r->id = req.id;
    pthread_mutex_lock(&mu);
    current = r;
    pthread_mutex_unlock(&mu);
    assert_int_equal(sbx_spawn(pool, &req), 0);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&mu);
    while (!r->done && pthread_cond_timedwait(&cv, &mu, &until) != ETIMEDOUT)
        ;
    current = NULL;
    pthread_mutex_unlock(&mu);
    if (!r->done)
        fail_msg("%s did not finish", k->name);
}

static void expect(const Run *r, SbxOutcome want)
{
    if (r->outcome != want)
        fprintf(stderr, "outcome %s exit %d syscall \"%s\" message \"%s\"\noutput %.500s\nlog %s\n",
                sbx_outcome_name(r->outcome), r->exit_code, r->syscall, r->message, r->output, r->log);
    assert_string_equal(sbx_outcome_name(r->outcome), sbx_outcome_name(want));
}

static json_t *run_ok(const char *kind, const char *config, const char *inputs)
{
    Run r;
    char *envelope = t_envelope(config, inputs);
    run_kind(nodes_find(kind), envelope, &r);
    free(envelope);
    expect(&r, SBX_OK);
    json_t *out = json_loads(r.output, 0, NULL);
    free(r.output);
    assert_non_null(out);
    return out;
}

#define SKIP_IF_NEEDED()                                                                                               \
    do {                                                                                                               \
        if (skip_reason) {                                                                                             \
            fprintf(stderr, "skipped: %s\n", skip_reason);                                                             \
            skip();                                                                                                    \
        }                                                                                                              \
    } while (0)

static void test_builtins_under_compute_profile(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    /* Enough records that sort's merge sort and aggregate's groups allocate
     * (brk/mmap) in the child. */
    StrBuf in = {0};
    sb_puts(&in, "{\"records\": [");
    for (int i = 0; i < 5000; i++)
        sb_printf(&in, "%s{\"id\": %d, \"g\": \"g%d\", \"v\": %d.5, \"mail\": \"u%d@example.com\"}", i ? "," : "", i,
                  i % 7, (i * 7919) % 1000, i);
    sb_puts(&in, "]}");
    json_t *out = run_ok("sort", "{\"by\": [{\"field\": \"v\", \"order\": \"desc\"}, \"id\"]}", in.s);
    assert_int_equal(json_array_size(json_object_get(out, "records")), 5000);
    json_decref(out);
    out = run_ok("aggregate",
                 "{\"group_by\": \"g\", \"metrics\": [{\"op\": \"count\"}, {\"op\": \"avg\", \"field\": "
                 "\"v\"}, {\"op\": \"max\", \"field\": \"mail\"}]}",
                 in.s);
    assert_int_equal(json_array_size(json_object_get(out, "groups")), 7);
    json_decref(out);
    out = run_ok("filter", "{\"conditions\": [{\"field\": \"v\", \"op\": \">\", \"value\": 990}]}", in.s);
    assert_true(json_array_size(json_object_get(out, "records")) > 0);
    json_decref(out);
    out = run_ok("mask", "{\"mode\": \"hash\", \"input\": \"records\"}", in.s);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "masked"), "email")), 5000);
    json_decref(out);
    out = run_ok("select", "{\"fields\": {\"key\": \"id\"}}", in.s);
    json_decref(out);
    sb_free(&in);
    out = run_ok("switch",
                 "{\"cases\": [{\"port\": \"big\", \"when\": {\"field\": \"n\", \"op\": \">\", \"value\": "
                 "2}}]}",
                 "{\"n\": 3}");
    assert_string_equal(json_string_value(json_object_get(out, "port")), "big");
    json_decref(out);
    out = run_ok("merge", "{\"mode\": \"concat\", \"keys\": [\"a\", \"b\"]}", "{\"a\": [1], \"b\": [2]}");
    json_decref(out);
    out = run_ok("csv.write", "{\"path\": \"x.csv\"}", "{\"records\": [{\"a\": 0.1, \"b\": \"x,y\"}]}");
    assert_string_equal(json_string_value(json_object_get(out, "csv")), "a,b\r\n0.1,\"x,y\"\r\n");
    json_decref(out);
}

static void test_csv_read_and_validate_under_compute_profile(void **state)
{
    Run r;
    (void)state;
    SKIP_IF_NEEDED();
    run_kind(nodes_find("csv.read"),
             "{\"node\": \"n\", \"config\": {\"path\": \"a.csv\", \"infer_types\": true}, \"inputs\": {}, "
             "\"prepared\": {\"path\": \"a.csv\", \"text\": \"x,y\\n1.25,-7\\n\\\"q\\\"\\\"\\\",true\\n\"}}",
             &r);
    expect(&r, SBX_OK);
    json_t *out = json_loads(r.output, 0, NULL);
    free(r.output);
    T_EXPECT_JSON(json_object_get(out, "records"), "[{\"x\": 1.25, \"y\": -7}, {\"x\": \"q\\\"\", \"y\": true}]");
    json_decref(out);
    char *envelope = t_envelope("{\"required\": [\"id\"]}", "{\"name\": 1}");
    run_kind(nodes_find("validate"), envelope, &r);
    free(envelope);
    expect(&r, SBX_NONZERO_EXIT);
    assert_non_null(strstr(r.output, "\"InvalidInput\""));
    assert_non_null(strstr(r.output, "\\\"id\\\" is missing"));
    free(r.output);
}

/* An exec node that echoes its stdin. Not cat: coreutils call fadvise64,
 * which the exec seccomp profile does not allow (yet). */
#define ECHO                                                                                                           \
    "{\"program\": \"/usr/bin/python3\", \"args\": [\"-c\", \"import sys; sys.stdout.write(sys.stdin.read())\"]}"

static void test_exec_adapter(void **state)
{
    Run r;
    (void)state;
    SKIP_IF_NEEDED();
    json_t *out = run_ok("exec", ECHO, "{\"a\": [1, 2]}");
    T_EXPECT_JSON(out, "{\"a\": [1, 2]}");
    json_decref(out);
    out = run_ok("exec",
                 "{\"program\": \"/usr/bin/python3\", \"args\": [\"-c\", \"import json, os, sys; d = "
                 "json.load(sys.stdin); print(json.dumps({'sum': sum(d['xs']), 'node': "
                 "os.environ['FLOWD_NODE_ID']}))\"]}",
                 "{\"xs\": [1, 2, 3]}");
    T_EXPECT_JSON(out, "{\"sum\": 6, \"node\": \"n\"}");
    json_decref(out);
    char *envelope = t_envelope("{\"program\": \"/bin/sh\", \"args\": [\"-c\", \"echo oops >&2; exit 3\"]}", "{}");
    run_kind(nodes_find("exec"), envelope, &r);
    free(envelope);
    expect(&r, SBX_NONZERO_EXIT);
    assert_int_equal(r.exit_code, 3);
    assert_non_null(strstr(r.log, "oops"));
    free(r.output);
    /* Checked again at run time: a stored run may name a program that has
     * left the list since it was validated. */
    envelope = t_envelope("{\"program\": \"/bin/bash\"}", "{}");
    run_kind(nodes_find("exec"), envelope, &r);
    free(envelope);
    expect(&r, SBX_NONZERO_EXIT);
    assert_non_null(strstr(r.output, "not in FLOWD_EXEC_ALLOW"));
    free(r.output);
}

static void test_exec_adapter_large_inputs(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    /* 3 MiB: more than a pipe holds, so the adapter forks a writer. */
    size_t n = 3u << 20;
    char *big = malloc(n + 32);
    strcpy(big, "{\"s\": \"");
    memset(big + 7, 'x', n);
    strcpy(big + 7 + n, "\"}");
    json_t *out = run_ok("exec", ECHO, big);
    assert_int_equal(json_string_length(json_object_get(out, "s")), n);
    json_decref(out);
    free(big);
}

/* The ASan runtime calls setrlimit at start, which the interpreter profile
 * (plugin attempts) refuses; the exec profile allows it. */
#ifdef __SANITIZE_ADDRESS__
#define SKIP_UNDER_ASAN()                                                                                              \
    do {                                                                                                               \
        fprintf(stderr, "skipped: an ASan build cannot start under the interpreter profile (setrlimit)\n");            \
        skip();                                                                                                        \
    } while (0)
#else
#define SKIP_UNDER_ASAN() ((void)0)
#endif

static void test_plugin_word_count(void **state)
{
    Run r;
    (void)state;
    SKIP_IF_NEEDED();
    SKIP_UNDER_ASAN();
    const NodeKind *k = nodes_find("plugin:word_count");
    assert_non_null(k);
    SbxRequest req = {0};
    nodes_fill_request(k, &req);
    assert_int_equal(req.profile, SBX_PROFILE_INTERPRETER);
    char *envelope = t_envelope("{\"top\": 2}", "{\"texts\": [\"the cat and the hat\", \"The end\\nof it\"]}");
    run_kind(k, envelope, &r);
    free(envelope);
    expect(&r, SBX_OK);
    json_t *out = json_loads(r.output, 0, NULL);
    T_EXPECT_JSON(out, "{\"words\": 9, \"unique\": 7, \"lines\": 3, \"chars\": 32, \"top\": [{\"word\": \"the\", "
                       "\"count\": 3}, {\"word\": \"and\", \"count\": 1}]}");
    json_decref(out);
    free(r.output);
    assert_true(r.n_progress >= 1);
    assert_non_null(strstr(r.last_progress, "\"progress\""));
    assert_non_null(strstr(r.log, "word_count: node n attempt 1: 9 words"));
    envelope = t_envelope("{}", "{\"texts\": [1]}");
    run_kind(k, envelope, &r);
    free(envelope);
    expect(&r, SBX_NONZERO_EXIT);
    assert_non_null(strstr(r.output, "\"InvalidInput\""));
    free(r.output);
}

static void test_plugin_not_loadable(void **state)
{
    Run r;
    char path[256];
    (void)state;
    SKIP_IF_NEEDED();
    SKIP_UNDER_ASAN();
    snprintf(path, sizeof(path), "%s/broken.so", plugin_dir);
    FILE *f = fopen(path, "w");
    fputs("not an ELF file", f);
    fclose(f);
    chmod(path, 0644);
    const NodeKind *k = nodes_find("plugin:broken"); /* added after start */
    assert_non_null(k);
    run_kind(k, "{\"node\": \"n\", \"config\": {}, \"inputs\": {}}", &r);
    expect(&r, SBX_NONZERO_EXIT);
    assert_non_null(strstr(r.output, "PluginError"));
    assert_non_null(strstr(r.output, "cannot load"));
    free(r.output);
    assert_null(nodes_find("plugin:../etc/x"));
    assert_null(nodes_find("plugin:missing"));
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
    char buf[65536];
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    size_t n;
    if (!in || !out)
        return -1;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
    return chmod(to, mode);
}

static int setup(void **state)
{
    static char scratch[128];
    char err[512], so[256];
    size_t n;
    (void)state;
    if (geteuid() != 0)
        skip_reason = "not root: cgroup slots and uid switching need root";
    else if (access("/sys/fs/cgroup", W_OK) != 0)
        skip_reason = "/sys/fs/cgroup is not writable (Bazel linux-sandbox? the test is tagged no-sandbox)";
    else if (!plugin_src)
        skip_reason = "no plugin path argument";
    if (skip_reason)
        return 0;
    snprintf(dir, sizeof(dir), "/tmp/flowd-nodes-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    chmod(dir, 0755);
    snprintf(self_copy, sizeof(self_copy), "%s/flowd-test", dir);
    assert_int_equal(copy_file("/proc/self/exe", self_copy, 0755), 0);
    snprintf(plugin_dir, sizeof(plugin_dir), "%s/plugins", dir);
    assert_int_equal(mkdir(plugin_dir, 0755), 0);
    snprintf(so, sizeof(so), "%s/word_count.so", plugin_dir);
    assert_int_equal(copy_file(plugin_src, so, 0644), 0);
    snprintf(scratch, sizeof(scratch), "%s/scratch", dir);
    assert_int_equal(mkdir(scratch, 0711), 0);
    if (nodes_setup(
            &(NodesConfig){.self_exe = self_copy, .plugin_dir = plugin_dir, .exec_allow = "/bin/sh:/usr/bin/python3"},
            err, sizeof(err)) < 0)
        fail_msg("nodes_setup: %s", err);
    const SbxBuiltin *b = nodes_builtins(&n);
    SbxConfig cfg = {.mode = SBX_MODE_CGROUP,
                     .zygotes = 1,
                     .max_children = 4,
                     .cgroup_name = "flowd-nodes-test",
                     .scratch_root = scratch,
                     .builtins = b,
                     .n_builtins = n,
                     .ro_paths = nodes_ro_paths()};
    SbxError e = {0};
    if (sbx_pool_new(&cfg, &pool, &e) < 0)
        fail_msg("sbx_pool_new: %s", e.msg);
    assert_int_equal(sbx_pool_start(pool, on_event, NULL), 0);
    return 0;
}

static int teardown(void **state)
{
    char cmd[160];
    (void)state;
    pool = sbx_pool_free(pool);
    if (dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t n;

    /* The order of main() in flowd: exec/plugin attempts first, then the
     * zygote, then the tests. */
    nodes_helper_maybe_run(argc, argv);
    json_object_seed(0);
    nodes_init(NULL);
    const SbxBuiltin *b = nodes_builtins(&n);
    sbx_zygote_maybe_run(argc, argv, b, n);
    plugin_src = argc > 1 ? argv[1] : NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins_under_compute_profile),
        cmocka_unit_test(test_csv_read_and_validate_under_compute_profile),
        cmocka_unit_test(test_exec_adapter),
        cmocka_unit_test(test_exec_adapter_large_inputs),
        cmocka_unit_test(test_plugin_word_count),
        cmocka_unit_test(test_plugin_not_loadable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
