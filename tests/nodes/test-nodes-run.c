/* Behaviour of every built-in kind: each case forks a child that runs the
 * built-in with an envelope on fd 0 and its output captured from fd 1, as
 * in the sandbox (without the seccomp filter: test-nodes-sandbox runs some
 * under it). */
#include "nodes-test.h"

static const char people[] =
    "{\"records\": ["
    "{\"id\": 1, \"name\": \"Ann\", \"age\": 34, \"region\": \"eu\", \"amount\": 10, \"tags\": [\"vip\"],"
    " \"address\": {\"city\": \"Oslo\"}},"
    "{\"id\": 2, \"name\": \"bob\", \"age\": 17, \"region\": \"us\", \"amount\": 2.5, \"tags\": [],"
    " \"address\": {\"city\": \"Austin\"}},"
    "{\"id\": 3, \"name\": \"Cy\", \"age\": 52, \"region\": \"eu\", \"amount\": 7, \"email\": null},"
    "{\"id\": 4, \"name\": \"Di\", \"region\": \"us\", \"amount\": \"n/a\", \"address\": {\"city\": \"Boston\"}}"
    "]}";

static void test_noop_passes_inputs(void **state)
{
    (void)state;
    json_t *out = t_ok("noop", "{}", "{\"a\": [1, 2], \"b\": \"x\"}");
    T_EXPECT_JSON(out, "{\"a\": [1, 2], \"b\": \"x\"}");
    json_decref(out);
}

static void test_builtin_bad_envelope(void **state)
{
    TOut r;
    (void)state;
    t_run_builtin(nodes_find("filter"), "not json", &r);
    assert_int_equal(r.exit_code, 1);
    assert_non_null(strstr(r.out, "InvalidInput"));
    json_decref(r.json);
}

static void test_select_fields_and_rename(void **state)
{
    (void)state;
    json_t *out = t_ok("select", "{\"fields\": [\"id\", \"address.city\"]}", people);
    T_EXPECT_JSON(out, "{\"records\": [{\"id\": 1, \"city\": \"Oslo\"}, {\"id\": 2, \"city\": \"Austin\"}, "
                       "{\"id\": 3}, {\"id\": 4, \"city\": \"Boston\"}]}");
    json_decref(out);
    out = t_ok("select",
               "{\"fields\": {\"who\": \"name\", \"town\": \"address.city\"}, \"missing\": \"null\", "
               "\"output\": \"people\"}",
               people);
    T_EXPECT_JSON(json_array_get(json_object_get(out, "people"), 2), "{\"who\": \"Cy\", \"town\": null}");
    json_decref(out);
}

static void test_select_object_and_exclude(void **state)
{
    (void)state;
    json_t *out = t_ok("select", "{\"input\": \"$\", \"fields\": [\"a\", \"b.c\"]}",
                       "{\"a\": 1, \"b\": {\"c\": 2, \"d\": 3}, \"e\": 4}");
    T_EXPECT_JSON(out, "{\"a\": 1, \"c\": 2}");
    json_decref(out);
    out = t_ok("select", "{\"input\": \"user\", \"exclude\": [\"password\", \"profile.ssn\"]}",
               "{\"user\": {\"name\": \"a\", \"password\": \"x\", \"profile\": {\"ssn\": \"1\", \"age\": 3}}}");
    T_EXPECT_JSON(out, "{\"user\": {\"name\": \"a\", \"profile\": {\"age\": 3}}}");
    json_decref(out);
}

static void test_select_errors(void **state)
{
    (void)state;
    const char *msg = t_fails("select", "{\"fields\": [\"age\"], \"missing\": \"error\"}", people, "InvalidInput");
    assert_non_null(strstr(msg, "records[3] has no field \"age\""));
    msg = t_fails("select", "{\"fields\": [\"a\"]}", "{\"rows\": [], \"other\": 1}", "InvalidInput");
    assert_non_null(strstr(msg, "input \"records\" is missing"));
    assert_non_null(strstr(msg, "\"rows\", \"other\""));
    msg = t_fails("select", "{\"fields\": [\"a\"]}", "{\"records\": [{\"a\": 1}, 5]}", "InvalidInput");
    assert_non_null(strstr(msg, "records[1] is integer, not an object"));
}

/* The "id" of each output record, in order, must be want; frees out. */
static void expect_ids(json_t *out, const char *want)
{
    json_t *ids = json_array();
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get(out, "records"), i, r)
        json_array_append(ids, json_object_get(r, "id"));
    T_EXPECT_JSON(ids, want);
    json_decref(ids);
    json_decref(out);
}

static void filter_ids(const char *conds, const char *want)
{
    char cfg[2048];
    snprintf(cfg, sizeof(cfg), "{\"conditions\": %s}", conds);
    json_t *out = t_ok("filter", cfg, people);
    expect_ids(out, want);
}

static void test_filter_operators(void **state)
{
    (void)state;
    filter_ids("[{\"field\": \"age\", \"op\": \">=\", \"value\": 34}]", "[1, 3]");
    filter_ids("[{\"field\": \"age\", \"op\": \"<\", \"value\": 34}]", "[2]"); /* missing age never compares */
    filter_ids("[{\"field\": \"amount\", \"op\": \"<=\", \"value\": 7.0}]", "[2, 3]");
    filter_ids("[{\"field\": \"amount\", \"op\": \"==\", \"value\": 10.0}]", "[1]"); /* 10 == 10.0 */
    filter_ids("[{\"field\": \"region\", \"op\": \"!=\", \"value\": \"eu\"}]", "[2, 4]");
    filter_ids("[{\"field\": \"name\", \"op\": \">\", \"value\": \"C\"}]", "[2, 3, 4]"); /* bytewise: b > C */
    filter_ids("[{\"field\": \"id\", \"op\": \"in\", \"value\": [2, 4, 9]}]", "[2, 4]");
    filter_ids("[{\"field\": \"tags\", \"op\": \"contains\", \"value\": \"vip\"}]", "[1]");
    filter_ids("[{\"field\": \"name\", \"op\": \"contains\", \"value\": \"o\"}]", "[2]");
    filter_ids("[{\"field\": \"address\", \"op\": \"contains\", \"value\": \"city\"}]", "[1, 2, 4]");
    filter_ids("[{\"field\": \"email\", \"op\": \"exists\"}]", "[3]"); /* present, even null */
    filter_ids("[{\"field\": \"email\", \"op\": \"==\", \"value\": null}]", "[1, 2, 3, 4]");
    filter_ids("[{\"field\": \"address\", \"op\": \"exists\", \"value\": false}]", "[3]");
    filter_ids("[{\"field\": \"address.city\", \"op\": \"==\", \"value\": \"Boston\"}]", "[4]");
}

static void test_filter_all_any_nested(void **state)
{
    (void)state;
    filter_ids("[{\"field\": \"region\", \"op\": \"==\", \"value\": \"eu\"}, {\"field\": \"age\", \"op\": \">\", "
               "\"value\": 40}]",
               "[3]");
    json_t *out = t_ok("filter",
                       "{\"match\": \"any\", \"conditions\": [{\"field\": \"id\", \"op\": \"==\", \"value\": "
                       "1}, {\"field\": \"id\", \"op\": \"==\", \"value\": 4}]}",
                       people);
    assert_int_equal(json_array_size(json_object_get(out, "records")), 2);
    json_decref(out);
    filter_ids("[{\"any\": [{\"field\": \"age\", \"op\": \"<\", \"value\": 18}, {\"not\": {\"field\": \"age\", "
               "\"op\": \"exists\"}}]}]",
               "[2, 4]");
}

static void test_filter_input_errors(void **state)
{
    (void)state;
    const char *msg = t_fails("filter", "{\"conditions\": [{\"field\": \"a\", \"op\": \"exists\"}]}",
                              "{\"records\": {\"a\": 1}}", "InvalidInput");
    assert_non_null(strstr(msg, "is object; filter needs an array"));
}

static void sort_ids(const char *by, const char *records, const char *want)
{
    char cfg[1024];
    snprintf(cfg, sizeof(cfg), "{\"by\": %s}", by);
    json_t *out = t_ok("sort", cfg, records);
    expect_ids(out, want);
}

static void test_sort_keys_and_order(void **state)
{
    (void)state;
    sort_ids("\"age\"", people, "[2, 1, 3, 4]");                                     /* missing last */
    sort_ids("[{\"field\": \"age\", \"order\": \"desc\"}]", people, "[3, 1, 2, 4]"); /* missing last too */
    sort_ids("[\"region\", {\"field\": \"id\", \"order\": \"desc\"}]", people, "[3, 1, 4, 2]");
    sort_ids("\"name\"", people, "[1, 3, 4, 2]"); /* bytewise: uppercase first */
}

static void test_sort_stable(void **state)
{
    (void)state;
    const char *recs = "{\"records\": [{\"id\": 1, \"k\": 2}, {\"id\": 2, \"k\": 1}, {\"id\": 3, \"k\": 2}, "
                       "{\"id\": 4, \"k\": 1}, {\"id\": 5, \"k\": 2}, {\"id\": 6, \"k\": 1}, {\"id\": 7}]}";
    sort_ids("\"k\"", recs, "[2, 4, 6, 1, 3, 5, 7]");
    sort_ids("[{\"field\": \"k\", \"order\": \"desc\"}]", recs, "[1, 3, 5, 2, 4, 6, 7]");
}

static void test_sort_numbers_vs_strings(void **state)
{
    (void)state;
    const char *recs = "{\"records\": [{\"id\": 1, \"v\": \"10\"}, {\"id\": 2, \"v\": \"9\"}, {\"id\": 3, \"v\": 9.5},"
                       " {\"id\": 4, \"v\": \"x\"}, {\"id\": 5, \"v\": 100}]}";
    sort_ids("\"v\"", recs, "[3, 5, 1, 2, 4]");                                      /* auto: numbers before strings */
    sort_ids("[{\"field\": \"v\", \"type\": \"number\"}]", recs, "[2, 3, 1, 5, 4]"); /* "x" is no number: last */
    sort_ids("[{\"field\": \"v\", \"type\": \"string\"}]", recs, "[1, 5, 2, 3, 4]"); /* "10" "100" "9" "9.5" */
}

static void test_aggregate_groups(void **state)
{
    (void)state;
    json_t *out = t_ok("aggregate",
                       "{\"group_by\": \"region\", \"metrics\": [{\"op\": \"count\"}, {\"op\": \"sum\", "
                       "\"field\": \"amount\", \"as\": \"total\"}, {\"op\": \"avg\", \"field\": \"age\"},"
                       " {\"op\": \"min\", \"field\": \"name\"}, {\"op\": \"max\", \"field\": \"age\"}, "
                       "{\"op\": \"count\", \"field\": \"age\", \"as\": \"with_age\"}]}",
                       people);
    T_EXPECT_JSON(out, "{\"groups\": [{\"region\": \"eu\", \"count\": 2, \"total\": 17, \"avg_age\": 43.0, "
                       "\"min_name\": \"Ann\", \"max_age\": 52, \"with_age\": 2}, {\"region\": \"us\", \"count\": 2, "
                       "\"total\": 2.5, \"avg_age\": 17.0, \"min_name\": \"Di\", \"max_age\": 17, \"with_age\": 1}]}");
    json_decref(out);
}

static void test_aggregate_no_group_and_empty(void **state)
{
    (void)state;
    json_t *out = t_ok("aggregate",
                       "{\"metrics\": [{\"op\": \"count\"}, {\"op\": \"sum\", \"field\": \"x\"}, "
                       "{\"op\": \"avg\", \"field\": \"x\"}]}",
                       "{\"records\": []}");
    T_EXPECT_JSON(out, "{\"groups\": [{\"count\": 0, \"sum_x\": null, \"avg_x\": null}]}");
    json_decref(out);
    out = t_ok("aggregate", "{\"group_by\": [\"a\", \"b\"], \"output\": \"stats\"}",
               "{\"records\": [{\"a\": 1, \"b\": 1}, {\"a\": 1}, {\"a\": 1, \"b\": 1}, {\"a\": 2, \"b\": null}]}");
    T_EXPECT_JSON(out, "{\"stats\": [{\"a\": 1, \"b\": 1, \"count\": 2}, {\"a\": 1, \"b\": null, \"count\": 1}, "
                       "{\"a\": 2, \"b\": null, \"count\": 1}]}"); /* absent and null group together */
    json_decref(out);
}

static void test_merge_objects(void **state)
{
    (void)state;
    json_t *out = t_ok("merge", "{}", "{\"a\": 1, \"b\": {\"c\": 2}}");
    T_EXPECT_JSON(out, "{\"a\": 1, \"b\": {\"c\": 2}}");
    json_decref(out);
    out = t_ok("merge", "{\"keys\": [\"left\", \"right\", \"absent\"]}",
               "{\"left\": {\"x\": 1, \"n\": {\"p\": 1}}, \"right\": {\"y\": 2, \"n\": {\"q\": 2}}}");
    T_EXPECT_JSON(out, "{\"x\": 1, \"y\": 2, \"n\": {\"q\": 2}}");
    json_decref(out);
    out = t_ok("merge", "{\"keys\": [\"left\", \"right\"], \"deep\": true}",
               "{\"left\": {\"x\": 1, \"n\": {\"p\": 1}}, \"right\": {\"y\": 2, \"n\": {\"q\": 2}}}");
    T_EXPECT_JSON(out, "{\"x\": 1, \"y\": 2, \"n\": {\"p\": 1, \"q\": 2}}");
    json_decref(out);
    const char *msg = t_fails("merge", "{\"keys\": [\"a\"]}", "{\"a\": [1]}", "InvalidInput");
    assert_non_null(strstr(msg, "input \"a\" is array"));
}

static void test_merge_concat_after_switch(void **state)
{
    (void)state;
    /* Only one branch of a switch delivered: the other key is absent. */
    json_t *out = t_ok("merge", "{\"mode\": \"concat\", \"keys\": [\"high\", \"low\"]}", "{\"low\": [3, 4]}");
    T_EXPECT_JSON(out, "{\"records\": [3, 4]}");
    json_decref(out);
    out = t_ok("merge", "{\"mode\": \"concat\", \"keys\": [\"high\", \"low\"], \"output\": \"all\"}",
               "{\"low\": [3], \"high\": [1, 2]}");
    T_EXPECT_JSON(out, "{\"all\": [1, 2, 3]}");
    json_decref(out);
}

static void test_switch_routes(void **state)
{
    (void)state;
    const char *cfg = "{\"cases\": [{\"port\": \"high\", \"when\": {\"field\": \"order.total\", \"op\": \">\", "
                      "\"value\": 1000}}, {\"port\": \"vip\", \"when\": {\"field\": \"vip\", \"op\": \"==\", "
                      "\"value\": true}}], \"default\": \"normal\"}";
    json_t *out = t_ok("switch", cfg, "{\"order\": {\"total\": 5000}, \"vip\": true}");
    T_EXPECT_JSON(out, "{\"order\": {\"total\": 5000}, \"vip\": true, \"port\": \"high\"}"); /* first match wins */
    json_decref(out);
    out = t_ok("switch", cfg, "{\"order\": {\"total\": 5}, \"vip\": true}");
    assert_string_equal(json_string_value(json_object_get(out, "port")), "vip");
    json_decref(out);
    out = t_ok("switch", cfg, "{\"order\": {\"total\": 5}}");
    assert_string_equal(json_string_value(json_object_get(out, "port")), "normal");
    json_decref(out);
    out = t_ok("switch", "{\"cases\": [{\"port\": \"a\", \"when\": {\"field\": \"x\", \"op\": \"exists\"}}]}", "{}");
    assert_string_equal(json_string_value(json_object_get(out, "port")), "default");
    json_decref(out);
}

static void test_validate_passes_inputs(void **state)
{
    (void)state;
    const char *in = "{\"id\": 3, \"name\": \"x\", \"score\": 2.0, \"tags\": null}";
    json_t *out = t_ok("validate",
                       "{\"required\": [\"id\", \"name\"], \"types\": {\"id\": \"integer\", \"score\": "
                       "\"integer\", \"tags\": [\"array\", \"null\"]}}",
                       in);
    T_EXPECT_JSON(out, in);
    json_decref(out);
}

static void test_validate_names_every_problem(void **state)
{
    (void)state;
    const char *msg = t_fails("validate",
                              "{\"input\": \"records\", \"required\": [\"id\", \"address.city\"], "
                              "\"types\": {\"id\": \"integer\", \"age\": \"number\", \"name\": "
                              "\"string\"}, \"allow_extra\": false}",
                              "{\"records\": [{\"id\": 1, \"address\": {\"city\": \"x\"}}, {\"id\": \"2\", "
                              "\"age\": \"old\", \"address\": {}}, 7, {\"address\": {\"city\": \"y\"}, "
                              "\"nick\": \"z\"}]}",
                              "InvalidInput");
    assert_non_null(strstr(msg, "6 problems"));
    assert_non_null(strstr(msg, "records[1]: \"id\" must be integer, is string"));
    assert_non_null(strstr(msg, "records[1]: \"age\" must be number, is string"));
    assert_non_null(strstr(msg, "records[1]: \"address.city\" is missing"));
    assert_non_null(strstr(msg, "records[2] is integer, not an object"));
    assert_non_null(strstr(msg, "records[3]: \"id\" is missing"));
    assert_non_null(strstr(msg, "records[3]: unexpected field \"nick\""));
}

static void test_validate_bounds_message(void **state)
{
    (void)state;
    char in[65536] = "{\"records\": [";
    for (int i = 0; i < 300; i++)
        strcat(in, i ? ",{}" : "{}");
    strcat(in, "]}");
    const char *msg = t_fails("validate", "{\"input\": \"records\", \"required\": [\"id\"]}", in, "InvalidInput");
    assert_non_null(strstr(msg, "300 problems"));
    assert_non_null(strstr(msg, "and 200 more"));
}

static void test_mask_document(void **state)
{
    (void)state;
    json_t *out = t_ok("mask", "{\"fields\": [\"Name\"]}",
                       "{\"name\": \"Ann Lee\", \"note\": \"mail ann@example.com or call +1 (555) 123-4567\", "
                       "\"items\": [{\"card\": \"4111 1111 1111 1111\", \"ssn\": \"123-45-6789\"}], \"n\": 5}");
    T_EXPECT_JSON(out, "{\"name\": \"***\", \"note\": \"mail *** or call ***\", \"items\": [{\"card\": \"***\", "
                       "\"ssn\": \"***\"}], \"n\": 5, \"masked\": {\"email\": 1, \"phone\": 1, \"credit_card\": 1, "
                       "\"national_id\": 1, \"field\": 1}}");
    json_decref(out);
}

static void test_csv_read_from_prepared(void **state)
{
    TOut r;
    (void)state;
    t_run_builtin(nodes_find("csv.read"),
                  "{\"node\": \"n\", \"config\": {\"path\": \"a.csv\", \"infer_types\": true}, \"inputs\": {}, "
                  "\"prepared\": {\"path\": \"a.csv\", \"text\": \"id,name\\r\\n1,\\\"A, B\\\"\\r\\n2,C\\r\\n\"}}",
                  &r);
    assert_int_equal(r.exit_code, 0);
    T_EXPECT_JSON(r.json, "{\"records\": [{\"id\": 1, \"name\": \"A, B\"}, {\"id\": 2, \"name\": \"C\"}], \"count\": "
                          "2, \"columns\": [\"id\", \"name\"], \"path\": \"a.csv\"}");
    json_decref(r.json);
    const char *msg = t_fails("csv.read", "{\"path\": \"a.csv\"}", "{}", "InvalidInput");
    assert_non_null(strstr(msg, "nodes_prepare"));
}

static void test_csv_write_formats(void **state)
{
    (void)state;
    json_t *out = t_ok("csv.write", "{\"path\": \"out/r.csv\", \"line_ending\": \"lf\"}",
                       "{\"records\": [{\"a\": 1, \"b\": \"x,y\"}, {\"b\": \"q\\\"uote\", \"c\": true}]}");
    T_EXPECT_JSON(out, "{\"csv\": \"a,b,c\\n1,\\\"x,y\\\",\\n,\\\"q\\\"\\\"uote\\\",true\\n\", \"rows\": 2, "
                       "\"columns\": [\"a\", \"b\", \"c\"]}");
    json_decref(out);
}

int main(void)
{
    nodes_init(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noop_passes_inputs),
        cmocka_unit_test(test_builtin_bad_envelope),
        cmocka_unit_test(test_select_fields_and_rename),
        cmocka_unit_test(test_select_object_and_exclude),
        cmocka_unit_test(test_select_errors),
        cmocka_unit_test(test_filter_operators),
        cmocka_unit_test(test_filter_all_any_nested),
        cmocka_unit_test(test_filter_input_errors),
        cmocka_unit_test(test_sort_keys_and_order),
        cmocka_unit_test(test_sort_stable),
        cmocka_unit_test(test_sort_numbers_vs_strings),
        cmocka_unit_test(test_aggregate_groups),
        cmocka_unit_test(test_aggregate_no_group_and_empty),
        cmocka_unit_test(test_merge_objects),
        cmocka_unit_test(test_merge_concat_after_switch),
        cmocka_unit_test(test_switch_routes),
        cmocka_unit_test(test_validate_passes_inputs),
        cmocka_unit_test(test_validate_names_every_problem),
        cmocka_unit_test(test_validate_bounds_message),
        cmocka_unit_test(test_mask_document),
        cmocka_unit_test(test_csv_read_from_prepared),
        cmocka_unit_test(test_csv_write_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
