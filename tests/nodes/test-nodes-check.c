/* Config checks of every node kind: each problem is reported, with its path
 * under the node's config, and good configs pass. Also the registry and
 * nodes_switch_ports(). */
#include "nodes-test.h"

static void test_nodes_find_every_kind(void **state)
{
    static const char *const names[] = {"noop",   "python",   "select", "filter",   "sort",      "aggregate", "merge",
                                        "switch", "validate", "mask",   "csv.read", "csv.write", "exec"};
    size_t n;
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_non_null(nodes_find(names[i]));
    nodes_all(&n);
    assert_true(n >= 13);
    assert_null(nodes_find("plugin:word_count")); /* no FLOWD_PLUGIN_DIR */
    assert_string_equal(nodes_suggest("filtr"), "filter");
    assert_string_equal(nodes_suggest("csv.raed"), "csv.read");
}

static void test_nodes_builtins_table_is_static(void **state)
{
    size_t n1, n2;
    (void)state;
    const SbxBuiltin *b = nodes_builtins(&n1);
    nodes_init(NULL);
    nodes_builtins(&n2);
    assert_int_equal(n1, n2);
    assert_int_equal(n1, 11); /* every kind but python and exec */
    assert_string_equal(b[0].name, "noop");
    for (size_t i = 0; i < n1; i++)
        assert_int_equal(b[i].profile, SBX_PROFILE_COMPUTE);
    SbxRequest req = {0};
    nodes_fill_request(nodes_find("mask"), &req);
    assert_string_equal(b[req.builtin].name, "mask");
    assert_null(req.argv);
}

static void test_select_check(void **state)
{
    Diags d;
    (void)state;
    t_check_ok("select", "{\"fields\": [\"id\", \"address.city\"]}");
    t_check_ok("select", "{\"input\": \"$\", \"fields\": {\"city\": \"address.city\"}, \"missing\": \"null\"}");
    t_check_ok("select", "{\"exclude\": [\"password\"], \"params\": {}}");
    t_check("select", "{\"fields\": [\"a..b\", 3], \"missing\": \"ignore\", \"colour\": 1, \"output\": \"x.y\"}", &d);
    t_has_diag(&d, "nodes[2].config.fields[0]", "not a field path");
    t_has_diag(&d, "nodes[2].config.fields[1]", "field name");
    t_has_diag(&d, "nodes[2].config.missing", "\"skip\", \"null\", \"error\"");
    t_has_diag(&d, "nodes[2].config.colour", "unknown setting");
    t_has_diag(&d, "nodes[2].config.output", "without dots");
    assert_int_equal(d.len, 5);
    diags_free(&d);
    t_check("select", "{}", &d);
    t_has_diag(&d, "nodes[2].config", "either \"fields\"");
    diags_free(&d);
}

static void test_filter_check(void **state)
{
    Diags d;
    (void)state;
    t_check_ok("filter", "{\"conditions\": [{\"field\": \"age\", \"op\": \">=\", \"value\": 18},"
                         "{\"any\": [{\"field\": \"tags\", \"op\": \"contains\", \"value\": \"vip\"},"
                         "{\"not\": {\"field\": \"email\", \"op\": \"exists\"}}]}], \"match\": \"any\"}");
    t_check("filter",
            "{\"conditions\": [{\"field\": \"a\", \"op\": \"~\", \"value\": 1}, {\"field\": \"b\", \"op\": \"in\", "
            "\"value\": 3}, {\"op\": \"<\", \"value\": true}, {\"field\": \"c\", \"op\": \"==\"}, 7], "
            "\"match\": \"most\", \"input\": \"$\"}",
            &d);
    t_has_diag(&d, "nodes[2].config.conditions[0].op", "must be one of");
    t_has_diag(&d, "nodes[2].config.conditions[1].value", "array");
    t_has_diag(&d, "nodes[2].config.conditions[2].field", "field name");
    t_has_diag(&d, "nodes[2].config.conditions[2].value", "compares numbers or strings");
    t_has_diag(&d, "nodes[2].config.conditions[3].value", "needs a value");
    t_has_diag(&d, "nodes[2].config.conditions[4]", "a condition is an object");
    t_has_diag(&d, "nodes[2].config.match", "\"all\", \"any\"");
    t_has_diag(&d, "nodes[2].config.input", "works on an array");
    diags_free(&d);
    t_check("filter", "{}", &d);
    t_has_diag(&d, "nodes[2].config.conditions", "needs \"conditions\"");
    diags_free(&d);
}

static void test_filter_check_nesting_bounded(void **state)
{
    char cfg[4096] = "{\"conditions\": [";
    Diags d;
    (void)state;
    for (int i = 0; i < 12; i++)
        strcat(cfg, "{\"not\": ");
    strcat(cfg, "{\"field\": \"a\", \"op\": \"exists\"}");
    for (int i = 0; i < 12; i++)
        strcat(cfg, "}");
    strcat(cfg, "]}");
    t_check("filter", cfg, &d);
    assert_true(d.len >= 1);
    assert_non_null(strstr(d.items[0].message, "nested deeper"));
    diags_free(&d);
}

static void test_sort_check(void **state)
{
    Diags d;
    (void)state;
    t_check_ok("sort", "{\"by\": \"name\"}");
    t_check_ok("sort", "{\"by\": [\"region\", {\"field\": \"amount\", \"order\": \"desc\", \"type\": \"number\"}]}");
    t_check("sort", "{\"by\": [{\"field\": \"a\", \"order\": \"down\", \"type\": \"date\"}, 4, {\"order\": \"asc\"}]}",
            &d);
    t_has_diag(&d, "nodes[2].config.by[0].order", "\"asc\", \"desc\"");
    t_has_diag(&d, "nodes[2].config.by[0].type", "\"auto\", \"number\", \"string\"");
    t_has_diag(&d, "nodes[2].config.by[1]", "a sort key is");
    t_has_diag(&d, "nodes[2].config.by[2].field", "field name");
    diags_free(&d);
    t_check("sort", "{\"by\": []}", &d);
    t_has_diag(&d, "nodes[2].config.by", "needs \"by\"");
    diags_free(&d);
}

static void test_aggregate_check(void **state)
{
    Diags d;
    (void)state;
    t_check_ok("aggregate", "{}");
    t_check_ok("aggregate", "{\"group_by\": [\"region\"], \"metrics\": [{\"op\": \"count\"}, {\"op\": \"sum\", "
                            "\"field\": \"amount\", \"as\": \"total\"}]}");
    t_check("aggregate",
            "{\"group_by\": 3, \"metrics\": [{\"op\": \"median\", \"field\": \"x\"}, {\"op\": \"sum\"}, "
            "{\"field\": \"y\"}, \"count\"]}",
            &d);
    t_has_diag(&d, "nodes[2].config.group_by", "field name");
    t_has_diag(&d, "nodes[2].config.metrics[0].op", "\"count\", \"sum\", \"avg\", \"min\", \"max\"");
    t_has_diag(&d, "nodes[2].config.metrics[1].field", "needs a field");
    t_has_diag(&d, "nodes[2].config.metrics[2].op", "needs an operation");
    t_has_diag(&d, "nodes[2].config.metrics[3]", "a metric is an object");
    diags_free(&d);
}

static void test_merge_check(void **state)
{
    Diags d;
    (void)state;
    t_check_ok("merge", "{}");
    t_check_ok("merge", "{\"keys\": [\"a\", \"b\"], \"deep\": true}");
    t_check_ok("merge", "{\"mode\": \"concat\", \"keys\": [\"eu\", \"us\"], \"output\": \"all\"}");
    t_check("merge", "{\"mode\": \"concat\", \"deep\": true}", &d);
    t_has_diag(&d, "nodes[2].config.keys", "needs \"keys\"");
    t_has_diag(&d, "nodes[2].config.deep", "only applies");
    diags_free(&d);
    t_check("merge", "{\"mode\": \"zip\", \"keys\": [\"\"], \"output\": \"x\"}", &d);
    t_has_diag(&d, "nodes[2].config.mode", "\"object\", \"concat\"");
    t_has_diag(&d, "nodes[2].config.keys[0]", "input name");
    diags_free(&d);
}

static void test_switch_check(void **state)
{
    Diags d;
    (void)state;
    t_check_ok("switch", "{\"cases\": [{\"port\": \"high\", \"when\": {\"field\": \"amount\", \"op\": \">\", "
                         "\"value\": 1000}}], \"default\": \"low\"}");
    t_check("switch",
            "{\"cases\": [{\"port\": \"a b\", \"when\": {\"field\": \"x\", \"op\": \"exists\"}}, "
            "{\"port\": \"ok\"}, {\"port\": \"ok\", \"when\": {\"all\": []}}], \"default\": \"\"}",
            &d);
    t_has_diag(&d, "nodes[2].config.cases[0].port", "a port is a name");
    t_has_diag(&d, "nodes[2].config.cases[1].when", "needs a condition");
    t_has_diag(&d, "nodes[2].config.cases[2].port", "already used by case 1");
    t_has_diag(&d, "nodes[2].config.cases[2].when.all", "1 to");
    t_has_diag(&d, "nodes[2].config.default", "a port is a name");
    diags_free(&d);
    t_check("switch", "{\"default\": \"x\"}", &d);
    t_has_diag(&d, "nodes[2].config.cases", "needs \"cases\"");
    diags_free(&d);
}

static void test_nodes_switch_ports(void **state)
{
    const char *ports[8];
    (void)state;
    json_t *c = json_loads("{\"cases\": [{\"port\": \"high\", \"when\": {}}, {\"port\": \"mid\", \"when\": {}}, "
                           "{\"port\": \"high\", \"when\": {}}], \"default\": \"low\"}",
                           0, NULL);
    assert_int_equal(nodes_switch_ports(c, ports, 8), 3);
    assert_string_equal(ports[0], "high");
    assert_string_equal(ports[1], "mid");
    assert_string_equal(ports[2], "low");
    assert_int_equal(nodes_switch_ports(c, ports, 1), 3); /* count beyond max */
    assert_true(nodes_switch_has_port(c, "mid"));
    assert_true(nodes_switch_has_port(c, "low"));
    assert_false(nodes_switch_has_port(c, "default"));
    assert_false(nodes_switch_has_port(c, "nope"));
    json_decref(c);
    c = json_loads("{\"cases\": [{\"port\": \"default\", \"when\": {}}]}", 0, NULL);
    assert_int_equal(nodes_switch_ports(c, ports, 8), 1); /* default port given once */
    assert_true(nodes_switch_has_port(c, "default"));
    json_decref(c);
}

static void test_validate_check(void **state)
{
    Diags d;
    (void)state;
    t_check_ok("validate", "{\"required\": [\"id\"], \"types\": {\"id\": \"integer\", \"tags\": [\"array\", "
                           "\"null\"]}}");
    t_check_ok("validate", "{\"allow_extra\": false}");
    t_check("validate", "{\"required\": \"id\", \"types\": {\"age\": \"int\", \"x\": [\"string\", 2]}}", &d);
    t_has_diag(&d, "nodes[2].config.required", "array");
    t_has_diag(&d, "nodes[2].config.types.age", "must be a type");
    t_has_diag(&d, "nodes[2].config.types.x", "must be a type");
    diags_free(&d);
    t_check("validate", "{}", &d);
    t_has_diag(&d, "nodes[2].config", "needs \"required\"");
    diags_free(&d);
}

static void test_mask_check(void **state)
{
    Diags d;
    (void)state;
    t_check_ok("mask", "{}");
    t_check_ok("mask", "{\"detect\": [\"email\"], \"fields\": [\"name\"], \"mode\": \"hash\", \"salt_secret\": "
                       "\"MASK_SALT\"}");
    t_check("mask",
            "{\"detect\": [\"email\", \"iban\"], \"mode\": \"blur\", \"salt_secret\": \"S\", \"fields\": "
            "[1]}",
            &d);
    t_has_diag(&d, "nodes[2].config.detect[1]", "must be one of");
    t_has_diag(&d, "nodes[2].config.mode", "\"redact\", \"partial\", \"hash\"");
    t_has_diag(&d, "nodes[2].config.fields[0]", "field name");
    diags_free(&d);
    t_check("mask", "{\"mode\": \"partial\", \"salt_secret\": \"S\"}", &d);
    t_has_diag(&d, "nodes[2].config.salt_secret", "only applies");
    diags_free(&d);
}

static void test_csv_read_check(void **state)
{
    Diags d;
    (void)state;
    t_check_ok("csv.read", "{\"path\": \"in/customers.csv\", \"delimiter\": \";\", \"infer_types\": true}");
    t_check("csv.read",
            "{\"path\": \"../etc/passwd\", \"delimiter\": \"ab\", \"header\": \"yes\", \"max_bytes\": "
            "0, \"encoding\": \"utf-16\"}",
            &d);
    t_has_diag(&d, "nodes[2].config.path", "\"..\"");
    t_has_diag(&d, "nodes[2].config.delimiter", "one character");
    t_has_diag(&d, "nodes[2].config.header", "true or false");
    t_has_diag(&d, "nodes[2].config.max_bytes", "integer from 1");
    t_has_diag(&d, "nodes[2].config.encoding", "\"utf-8\", \"latin1\"");
    diags_free(&d);
    t_check("csv.read", "{\"path\": \"/etc/passwd\"}", &d);
    t_has_diag(&d, "nodes[2].config.path", "not absolute");
    diags_free(&d);
    t_check("csv.read", "{}", &d);
    t_has_diag(&d, "nodes[2].config.path", "needs the file's path");
    diags_free(&d);
    t_check("csv.read", "{\"path\": \"a//b.csv\", \"delimiter\": \"\\\"\"}", &d);
    t_has_diag(&d, "nodes[2].config.path", "empty component");
    t_has_diag(&d, "nodes[2].config.delimiter", "one character");
    diags_free(&d);
}

static void test_csv_write_check(void **state)
{
    Diags d;
    (void)state;
    t_check_ok("csv.write", "{\"path\": \"out/report.csv\", \"columns\": [\"id\", \"name\"], \"line_ending\": "
                            "\"lf\"}");
    t_check("csv.write", "{\"path\": \"out/./x.csv\", \"columns\": [], \"line_ending\": \"cr\", \"input\": \"$\"}", &d);
    t_has_diag(&d, "nodes[2].config.path", "\".\"");
    t_has_diag(&d, "nodes[2].config.columns", "1 to 4096");
    t_has_diag(&d, "nodes[2].config.line_ending", "\"crlf\", \"lf\"");
    t_has_diag(&d, "nodes[2].config.input", "works on an array");
    diags_free(&d);
}

static void test_exec_check_disabled(void **state)
{
    Diags d;
    (void)state;
    t_check("exec", "{\"program\": \"/bin/cat\"}", &d);
    t_has_diag(&d, "nodes[2].config.program", "disabled");
    diags_free(&d);
    t_check("exec", "{\"program\": \"cat\", \"args\": [1]}", &d);
    t_has_diag(&d, "nodes[2].config.program", "absolute path");
    t_has_diag(&d, "nodes[2].config.args[0]", "string");
    diags_free(&d);
}

static void test_nodes_setup_checks_variables(void **state)
{
    char err[512];
    (void)state;
    assert_int_equal(nodes_setup(&(NodesConfig){.exec_allow = "/bin/cat:relative/x"}, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "FLOWD_EXEC_ALLOW"));
    assert_non_null(strstr(err, "relative/x"));
    assert_int_equal(nodes_setup(&(NodesConfig){.exec_allow = "/etc/passwd"}, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "not executable"));
    assert_int_equal(nodes_setup(&(NodesConfig){.plugin_dir = "/nonexistent/plugins"}, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "FLOWD_PLUGIN_DIR"));
    assert_int_equal(nodes_setup(&(NodesConfig){.exec_allow = "/bin/cat::/bin/sh"}, err, sizeof(err)), 0);
    t_check_ok("exec", "{\"program\": \"/bin/sh\", \"args\": [\"-c\", \"cat\"]}");
    Diags d;
    t_check("exec", "{\"program\": \"/bin/bash\"}", &d);
    t_has_diag(&d, "nodes[2].config.program", "not in FLOWD_EXEC_ALLOW");
    diags_free(&d);
    SbxRequest req = {0};
    nodes_fill_request(nodes_find("exec"), &req);
    assert_int_equal(req.builtin, -1);
    assert_int_equal(req.profile, SBX_PROFILE_EXEC);
    assert_string_equal(req.argv[1], "--flowd-exec-node");
    assert_string_equal(req.argv[2], "/bin/cat::/bin/sh");
    assert_int_equal(nodes_setup(&(NodesConfig){0}, err, sizeof(err)), 0);
}

int main(void)
{
    nodes_init(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nodes_find_every_kind),
        cmocka_unit_test(test_nodes_builtins_table_is_static),
        cmocka_unit_test(test_select_check),
        cmocka_unit_test(test_filter_check),
        cmocka_unit_test(test_filter_check_nesting_bounded),
        cmocka_unit_test(test_sort_check),
        cmocka_unit_test(test_aggregate_check),
        cmocka_unit_test(test_merge_check),
        cmocka_unit_test(test_switch_check),
        cmocka_unit_test(test_nodes_switch_ports),
        cmocka_unit_test(test_validate_check),
        cmocka_unit_test(test_mask_check),
        cmocka_unit_test(test_csv_read_check),
        cmocka_unit_test(test_csv_write_check),
        cmocka_unit_test(test_exec_check_disabled),
        cmocka_unit_test(test_nodes_setup_checks_variables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
