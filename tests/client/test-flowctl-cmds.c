/* test-flowctl-cmds: flowctl's commands end to end against the in-process
 * fake server: what they print and the exit codes scripts rely on
 * (client/flowctl-cmds.c, client/flowctl-run.c). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/flowctl.h"
#include "fake-server.h"

static FakeServer *server, *auth_server;
static char addr[64], auth_addr[64];
static char dir[] = "/tmp/flowctl-test-XXXXXX";
static char out[65536], err[65536];

static void write_file(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "we");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *path_of(const char *name)
{
    static char paths[8][256];
    static int i;
    char *p = paths[i++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static void slurp(int fd, char *buf, size_t len)
{
    ssize_t n;
    lseek(fd, 0, SEEK_SET);
    n = read(fd, buf, len - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
}

/* Runs flowctl ARGS... in-process with stdout/stderr captured; returns the exit code. */
static int cli(const char *first, ...)
{
    static char storage[32][512];
    char *argv[33];
    int argc = 0, saved_out, saved_err, fo, fe, ex;
    char perr[256];
    FctlArgs a;
    va_list ap;
    const char *s;

    argv[argc++] = strcpy(storage[0], "flowctl");
    va_start(ap, first);
    for (s = first; s; s = va_arg(ap, const char *)) {
        snprintf(storage[argc], sizeof(storage[argc]), "%s", s);
        argv[argc] = storage[argc];
        argc++;
    }
    va_end(ap);
    argv[argc] = NULL;
    if (fctl_parse_args(argc, argv, &a, perr, sizeof(perr)) < 0) {
        snprintf(err, sizeof(err), "%s", perr);
        out[0] = '\0';
        return FCTL_EXIT_USAGE;
    }
    fflush(stdout);
    fflush(stderr);
    fo = open(dir, O_TMPFILE | O_RDWR, 0600);
    fe = open(dir, O_TMPFILE | O_RDWR, 0600);
    saved_out = dup(1);
    saved_err = dup(2);
    dup2(fo, 1);
    dup2(fe, 2);
    ex = fctl_main(&a);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    slurp(fo, out, sizeof(out));
    slurp(fe, err, sizeof(err));
    return ex;
}

static int group_setup(void **state)
{
    FakeServerOptions auth = {.token = "s3cret"};
    (void)state;

    assert_non_null(mkdtemp(dir));
    server = fake_server_start(NULL, addr, sizeof(addr));
    auth_server = fake_server_start(&auth, auth_addr, sizeof(auth_addr));
    setenv("FLOWD_ADDR", addr, 1);
    unsetenv("FLOWD_TOKEN");
    unsetenv("FLOWD_TOKEN_FILE");
    unsetenv("FLOWD_CA");
    write_file("good.json", "{\"name\": \"w\", \"nodes\": [{\"id\": \"a\", \"kind\": \"noop\"},"
                            " {\"id\": \"b\", \"kind\": \"noop\"}],"
                            " \"connections\": [{\"from\": \"a\", \"to\": \"b\"}]}");
    write_file("fail.json", "{\"name\": \"w\", \"nodes\": [{\"id\": \"a\", \"kind\": \"noop\"},"
                            " {\"id\": \"b\", \"kind\": \"fail\"}]}");
    write_file("bogus.json", "{\"nodes\": [{\"id\": \"a\", \"kind\": \"bogus\"}]}");
    write_file("typo.json", "{\"nodes\": [{\"id\": \"a\", \"kind\": \"noop\", \"retyr\": {}}]}");
    write_file("syntax.json", "{\n  \"nodes\": [\n    {\"id\": \"a\",}\n  ]\n}\n");
    write_file("in-bad.json", "{\"c\": {}}");
    write_file("in-good.json", "{\"a\": {\"x\": 1}}");
    write_file("token", "s3cret\n");
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[300];
    (void)state;

    fake_server_stop(server);
    fake_server_stop(auth_server);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_fctl_run_success_prints_events_and_outputs(void **state)
{
    (void)state;
    assert_int_equal(cli("run", path_of("good.json"), "--input", path_of("in-good.json"), NULL), FCTL_EXIT_OK);
    assert_non_null(strstr(out, "#1   RUN_QUEUED      run=run-1\n"));
    assert_non_null(strstr(out, "NODE_SUCCEEDED  node=b attempt=1  peak=1.0MiB  wall=2.0ms\n"));
    assert_non_null(strstr(out, "RUN_SUCCEEDED"));
    assert_non_null(strstr(out, "outputs:\n{\n  \"a\": {\n    \"ok\": true\n  },"));
}

static void test_fctl_run_failure_exit_1(void **state)
{
    (void)state;
    assert_int_equal(cli("run", path_of("fail.json"), NULL), FCTL_EXIT_FAILED);
    assert_non_null(strstr(out, "NODE_FAILED"));
    assert_non_null(strstr(err, "run run-1 failed"));
    assert_non_null(strstr(err, "node b (attempt 1): TIMEOUT: attempt exceeded 1s"));
}

static void test_fctl_run_json_lines(void **state)
{
    char *line, *save = NULL;
    int n = 0;
    (void)state;

    assert_int_equal(cli("run", path_of("good.json"), "-o", "json", NULL), FCTL_EXIT_OK);
    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
        json_t *o = json_loads(line, 0, NULL);
        assert_non_null(o);
        assert_non_null(json_object_get(o, "type"));
        json_decref(o);
    }
    assert_int_equal(n, 11);
}

static void test_fctl_run_invalid_on_server_exit_2(void **state)
{
    (void)state;
    assert_int_equal(cli("run", path_of("bogus.json"), NULL), FCTL_EXIT_USAGE);
    assert_non_null(strstr(err, "bogus.json: nodes[0].kind: unknown kind \"bogus\""));
}

static void test_fctl_run_invalid_file_exit_2(void **state)
{
    (void)state;
    assert_int_equal(cli("run", path_of("typo.json"), NULL), FCTL_EXIT_USAGE);
    assert_non_null(strstr(err, "typo.json: nodes[0].retyr: unknown key \"retyr\"; did you mean "
                                "\"retry\"?"));
    assert_int_equal(cli("run", path_of("syntax.json"), NULL), FCTL_EXIT_USAGE);
    assert_non_null(strstr(err, "syntax.json:3:16: JSON syntax error"));
    assert_int_equal(cli("run", path_of("good.json"), "-i", path_of("in-bad.json"), NULL), FCTL_EXIT_USAGE);
    assert_non_null(strstr(err, "in-bad.json: c: the workflow has no node \"c\""));
    assert_int_equal(cli("run", path_of("missing.json"), NULL), FCTL_EXIT_USAGE);
}

static void test_fctl_run_detach_prints_run_id(void **state)
{
    (void)state;
    assert_int_equal(cli("run", path_of("good.json"), "--detach", "-l", "k=v", NULL), FCTL_EXIT_OK);
    assert_string_equal(out, "run-1\n");
    assert_non_null(strstr(err, "flowctl watch run-1"));
}

static void test_fctl_validate(void **state)
{
    (void)state;
    assert_int_equal(cli("validate", path_of("good.json"), NULL), FCTL_EXIT_OK);
    assert_non_null(strstr(out, "valid (2 nodes)"));
    assert_int_equal(cli("validate", path_of("bogus.json"), NULL), FCTL_EXIT_USAGE);
    assert_non_null(strstr(err, "nodes[0].kind: unknown kind"));
    assert_int_equal(cli("validate", "--offline", path_of("bogus.json"), NULL), FCTL_EXIT_OK);
}

static void test_fctl_unreachable_exit_3(void **state)
{
    (void)state;
    assert_int_equal(cli("get", "run-1", "--addr", "127.0.0.1:1", NULL), FCTL_EXIT_UNREACHABLE);
    assert_non_null(strstr(err, "cannot reach the flowd server at 127.0.0.1:1"));
    assert_non_null(strstr(err, "--addr"));
    assert_int_equal(cli("run", path_of("good.json"), "--addr", "127.0.0.1:1", NULL), FCTL_EXIT_UNREACHABLE);
}

static void test_fctl_auth_exit_4(void **state)
{
    (void)state;
    assert_int_equal(cli("info", "--addr", auth_addr, NULL), FCTL_EXIT_AUTH);
    assert_non_null(strstr(err, "--token"));
    assert_int_equal(cli("run", path_of("good.json"), "--addr", auth_addr, NULL), FCTL_EXIT_AUTH);
    assert_int_equal(cli("info", "--addr", auth_addr, "--token", "s3cret", NULL), FCTL_EXIT_OK);
    assert_int_equal(cli("info", "--addr", auth_addr, "--token-file", path_of("token"), NULL), FCTL_EXIT_OK);
    assert_non_null(strstr(out, "alice (tenant t1; roles submitter)"));
}

static void test_fctl_get(void **state)
{
    json_t *doc;
    (void)state;

    assert_int_equal(cli("get", "run-1", NULL), FCTL_EXIT_OK);
    assert_non_null(strstr(out, "Run:       run-1\n"));
    assert_non_null(strstr(out, "NODE  STATUS     ATTEMPTS  WALL   CPU  PEAK MEM  FAILURE\n"));
    assert_non_null(strstr(out, "a     SUCCEEDED  1         8.1ms  0us  12.0MiB"));
    assert_int_equal(cli("get", "run-1", "--outputs", NULL), FCTL_EXIT_OK);
    assert_string_equal(out, "{\n  \"a\": {\n    \"ok\": true\n  },\n  \"b\": {\n    \"ok\": true\n"
                             "  }\n}\n");
    assert_int_equal(cli("get", "run-1", "-o", "json", NULL), FCTL_EXIT_OK);
    doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "SUCCEEDED");
    json_decref(doc);
    assert_int_equal(cli("get", "run-404", NULL), FCTL_EXIT_FAILED);
    assert_non_null(strstr(err, "NOT_FOUND"));
}

static void test_fctl_list_follows_pages(void **state)
{
    json_t *doc;
    (void)state;

    assert_int_equal(cli("list", NULL), FCTL_EXIT_OK);
    assert_non_null(strstr(out, "RUN    WORKFLOW  STATUS     NODES  CREATED"));
    assert_non_null(strstr(out, "\nrun-1  fake"));
    assert_int_equal(cli("list", "--limit", "2", "-o", "json", NULL), FCTL_EXIT_OK);
    doc = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(doc, "runs")), 2);
    assert_string_equal(json_string_value(json_object_get(doc, "next_page_token")), "2");
    json_decref(doc);
}

static void test_fctl_watch_and_logs(void **state)
{
    (void)state;
    assert_int_equal(cli("watch", "run-1", NULL), FCTL_EXIT_OK);
    assert_non_null(strstr(out, "RUN_SUCCEEDED"));
    assert_int_equal(cli("logs", "run-1", "--node", "b", NULL), FCTL_EXIT_OK);
    assert_string_equal(out, "hello from b\n");
    assert_int_equal(cli("logs", "run-1", NULL), FCTL_EXIT_OK);
    assert_non_null(strstr(out, "a                | hello from a\n"));
    assert_int_equal(cli("watch", "run-404", NULL), FCTL_EXIT_FAILED);
}

static void test_fctl_small_commands(void **state)
{
    (void)state;
    assert_int_equal(cli("cancel", "run-1", "--reason", "test", NULL), FCTL_EXIT_OK);
    assert_string_equal(out, "run run-1: CANCELLED\n");
    assert_int_equal(cli("dlq", "list", NULL), FCTL_EXIT_OK);
    assert_non_null(strstr(out, "dl-1  run-1  b     fake"));
    assert_int_equal(cli("dlq", "retry", "dl-1", NULL), FCTL_EXIT_OK);
    assert_string_equal(out, "run-2\n");
    assert_int_equal(cli("health", NULL), FCTL_EXIT_OK);
    assert_string_equal(out, "SERVING\n");
    assert_int_equal(cli("health", "--service", "nope", NULL), FCTL_EXIT_FAILED);
    assert_int_equal(cli("version", NULL), FCTL_EXIT_OK);
    assert_non_null(strstr(out, "server  fake-1"));
    assert_int_equal(cli("info", "-o", "json", NULL), FCTL_EXIT_OK);
    assert_non_null(strstr(out, "\"sandbox_mode\": \"rlimit\""));
}

static void test_fctl_help_pages_have_examples(void **state)
{
    static const char *const cmds[] = {"run",    "validate", "watch", "get",    "list",
                                       "cancel", "logs",     "info",  "health", "version"};
    (void)state;

    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        assert_int_equal(cli(cmds[i], "--help", NULL), FCTL_EXIT_OK);
        assert_non_null(strstr(out, "Usage: flowctl"));
        assert_non_null(strstr(out, "Example:\n  flowctl "));
    }
    assert_int_equal(cli("dlq", "--help", NULL), FCTL_EXIT_OK);
    assert_non_null(strstr(out, "dlq retry ID"));
    assert_int_equal(cli("token", "create", "--help", NULL), FCTL_EXIT_OK);
    assert_non_null(strstr(out, "flowd token create"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fctl_run_success_prints_events_and_outputs),
        cmocka_unit_test(test_fctl_run_failure_exit_1),
        cmocka_unit_test(test_fctl_run_json_lines),
        cmocka_unit_test(test_fctl_run_invalid_on_server_exit_2),
        cmocka_unit_test(test_fctl_run_invalid_file_exit_2),
        cmocka_unit_test(test_fctl_run_detach_prints_run_id),
        cmocka_unit_test(test_fctl_validate),
        cmocka_unit_test(test_fctl_unreachable_exit_3),
        cmocka_unit_test(test_fctl_auth_exit_4),
        cmocka_unit_test(test_fctl_get),
        cmocka_unit_test(test_fctl_list_follows_pages),
        cmocka_unit_test(test_fctl_watch_and_logs),
        cmocka_unit_test(test_fctl_small_commands),
        cmocka_unit_test(test_fctl_help_pages_have_examples),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
