/* test-flowctl-args: flowctl's command line (client/flowctl-args.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/flowctl.h"

/* argv strings must be writable (labels are cut in place), as real ones are. */
static char storage[32][128];
static char *argv_buf[33];
static char errbuf[256];

static int parse(FctlArgs *a, ...)
{
    va_list ap;
    int argc = 0;
    const char *s;

    strcpy(storage[argc], "flowctl");
    argv_buf[argc] = storage[argc];
    argc++;
    va_start(ap, a);
    while ((s = va_arg(ap, const char *))) {
        snprintf(storage[argc], sizeof(storage[argc]), "%s", s);
        argv_buf[argc] = storage[argc];
        argc++;
    }
    va_end(ap);
    argv_buf[argc] = NULL;
    errbuf[0] = '\0';
    return fctl_parse_args(argc, argv_buf, a, errbuf, sizeof(errbuf));
}

static int setup(void **state)
{
    (void)state;
    unsetenv("FLOWD_ADDR");
    unsetenv("FLOWD_TOKEN");
    unsetenv("FLOWD_TOKEN_FILE");
    unsetenv("FLOWD_CA");
    unsetenv("FLOWD_TLS_SERVER_NAME");
    return 0;
}

static void test_fctl_parse_args_run_full(void **state)
{
    FctlArgs a;
    (void)state;

    assert_int_equal(parse(&a, "--addr", "h:1", "run", "wf.json", "-i", "-", "--label", "env=prod", "-l", "team=data",
                           "--output=json", "--on-interrupt", "detach", "--idempotency-key", "k1", NULL),
                     0);
    assert_int_equal(a.command, FCTL_CMD_RUN);
    assert_string_equal(a.file, "wf.json");
    assert_string_equal(a.input, "-");
    assert_string_equal(a.addr, "h:1");
    assert_int_equal(a.n_labels, 2);
    assert_string_equal(a.labels[0].key, "env");
    assert_string_equal(a.labels[0].value, "prod");
    assert_string_equal(a.labels[1].key, "team");
    assert_int_equal(a.output, FCTL_OUTPUT_JSON);
    assert_int_equal(a.on_interrupt, FCTL_INTERRUPT_DETACH);
    assert_string_equal(a.idempotency_key, "k1");
    assert_false(a.detach);
}

static void test_fctl_parse_args_defaults_and_env(void **state)
{
    FctlArgs a;
    (void)state;

    assert_int_equal(parse(&a, "list", NULL), 0);
    assert_string_equal(a.addr, "127.0.0.1:50051");
    assert_null(a.token);
    setenv("FLOWD_ADDR", "env:2", 1);
    setenv("FLOWD_TOKEN", "tok", 1);
    setenv("FLOWD_CA", "/ca.pem", 1);
    assert_int_equal(parse(&a, "list", NULL), 0);
    assert_string_equal(a.addr, "env:2");
    assert_string_equal(a.token, "tok");
    assert_string_equal(a.ca, "/ca.pem");
    /* Flags win over the environment, and a token file flag over FLOWD_TOKEN. */
    assert_int_equal(parse(&a, "list", "--addr", "flag:3", "--token-file", "/t", NULL), 0);
    assert_string_equal(a.addr, "flag:3");
    assert_null(a.token);
    assert_string_equal(a.token_file, "/t");
    setup(state);
}

static void test_fctl_parse_args_subcommands(void **state)
{
    FctlArgs a;
    (void)state;

    assert_int_equal(parse(&a, "dlq", "retry", "dl-7", NULL), 0);
    assert_int_equal(a.command, FCTL_CMD_DLQ_RETRY);
    assert_string_equal(a.id, "dl-7");
    assert_int_equal(parse(&a, "dlq", "list", "--limit", "5", NULL), 0);
    assert_int_equal(a.command, FCTL_CMD_DLQ_LIST);
    assert_int_equal(a.limit, 5);
    assert_int_equal(parse(&a, "dlq", NULL), -EINVAL);
    assert_non_null(strstr(errbuf, "dlq list"));
    assert_string_equal(fctl_command_name(FCTL_CMD_DLQ_RETRY), "dlq retry");
}

static void test_fctl_parse_args_token_create_passes_rest(void **state)
{
    FctlArgs a;
    (void)state;

    assert_int_equal(parse(&a, "token", "create", "--user", "bob", "--role", "admin", NULL), 0);
    assert_int_equal(a.command, FCTL_CMD_TOKEN_CREATE);
    assert_int_equal(a.n_rest, 4);
    assert_string_equal(a.rest[0], "--user");
    assert_string_equal(a.rest[3], "admin");
}

static void test_fctl_parse_args_watch_get_list_cancel_logs(void **state)
{
    FctlArgs a;
    (void)state;

    assert_int_equal(parse(&a, "watch", "r1", "--from", "17", NULL), 0);
    assert_int_equal(a.command, FCTL_CMD_WATCH);
    assert_string_equal(a.run_id, "r1");
    assert_int_equal(a.from_seq, 17);
    assert_int_equal(parse(&a, "get", "r1", "--outputs", NULL), 0);
    assert_true(a.outputs);
    assert_int_equal(parse(&a, "list", "--status", "FAILED", "-n", "3", NULL), 0);
    assert_int_equal(a.status, FC_RUN_FAILED);
    assert_int_equal(a.limit, 3);
    assert_int_equal(parse(&a, "cancel", "r1", "--reason", "oops", NULL), 0);
    assert_string_equal(a.reason, "oops");
    assert_int_equal(parse(&a, "logs", "r1", "--node", "load", NULL), 0);
    assert_string_equal(a.node, "load");
}

static void test_fctl_parse_args_errors(void **state)
{
    FctlArgs a;
    (void)state;

    assert_int_equal(parse(&a, "rn", "x", NULL), -EINVAL);
    assert_string_equal(errbuf, "unknown command \"rn\"; did you mean \"run\"?");
    assert_int_equal(parse(&a, "run", "x", "--adr", "h", NULL), -EINVAL);
    assert_string_equal(errbuf, "unknown option --adr; did you mean --addr?");
    assert_int_equal(parse(&a, "run", NULL), -EINVAL);
    assert_non_null(strstr(errbuf, "run needs a FILE"));
    assert_int_equal(parse(&a, "run", "a", "b", NULL), -EINVAL);
    assert_non_null(strstr(errbuf, "extra \"b\""));
    assert_int_equal(parse(&a, "list", "--from", "3", NULL), -EINVAL);
    assert_string_equal(errbuf, "list does not take --from (see flowctl list --help)");
    assert_int_equal(parse(&a, "list", "--limit", "0", NULL), -EINVAL);
    assert_int_equal(parse(&a, "list", "--limit", "x", NULL), -EINVAL);
    assert_int_equal(parse(&a, "list", "--status", "bogus", NULL), -EINVAL);
    assert_int_equal(parse(&a, "run", "x", "--label", "novalue", NULL), -EINVAL);
    assert_non_null(strstr(errbuf, "KEY=VALUE"));
    assert_int_equal(parse(&a, "run", "x", "--output", "yaml", NULL), -EINVAL);
    assert_int_equal(parse(&a, "run", "x", "--input", NULL), -EINVAL);
    assert_string_equal(errbuf, "--input needs a value");
    assert_int_equal(parse(&a, "run", "x", "--detach=yes", NULL), -EINVAL);
    assert_int_equal(parse(&a, "get", "r", "--token", "a", "--token-file", "b", NULL), -EINVAL);
}

static void test_fctl_parse_args_help(void **state)
{
    FctlArgs a;
    (void)state;

    assert_int_equal(parse(&a, "run", "--help", NULL), 0);
    assert_int_equal(a.command, FCTL_CMD_RUN);
    assert_true(a.help);
    assert_int_equal(parse(&a, "--help", NULL), 0);
    assert_int_equal(a.command, FCTL_CMD_NONE);
    assert_true(a.help);
    assert_int_equal(parse(&a, "help", "watch", NULL), 0);
    assert_int_equal(a.command, FCTL_CMD_HELP);
    assert_int_equal(a.help_for, FCTL_CMD_WATCH);
    assert_int_equal(parse(&a, "dlq", "-h", NULL), 0);
    assert_true(a.help);
}

static void test_fctl_parse_args_double_dash(void **state)
{
    FctlArgs a;
    (void)state;

    assert_int_equal(parse(&a, "run", "--", "-odd-name.json", NULL), 0);
    assert_string_equal(a.file, "-odd-name.json");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_fctl_parse_args_run_full, setup),
        cmocka_unit_test_setup(test_fctl_parse_args_defaults_and_env, setup),
        cmocka_unit_test_setup(test_fctl_parse_args_subcommands, setup),
        cmocka_unit_test_setup(test_fctl_parse_args_token_create_passes_rest, setup),
        cmocka_unit_test_setup(test_fctl_parse_args_watch_get_list_cancel_logs, setup),
        cmocka_unit_test_setup(test_fctl_parse_args_errors, setup),
        cmocka_unit_test_setup(test_fctl_parse_args_help, setup),
        cmocka_unit_test_setup(test_fctl_parse_args_double_dash, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
