/* The CSV parser and formatter (RFC 4180 edge cases, a randomized
 * round trip), and the server-side file hooks of csv.read and csv.write:
 * confinement to FLOWD_DATA_DIR/files, size bound, encodings, timestamped
 * atomic writes that never replace a file. */
#include <dirent.h>
#include <sys/stat.h>

#include "nodes-test.h"
#include "server/nodes/node-internal.h"

static json_t *parse_ok(const char *text, CsvReadOptions o, json_t **columns)
{
    json_t *rows = NULL, *cols = NULL;
    NodeErr e = {0};
    if (o.delimiter == 0)
        o.delimiter = ',';
    if (csv_parse(text, strlen(text), &o, &rows, &cols, &e) < 0)
        fail_msg("csv_parse failed: %s", e.message);
    if (columns)
        *columns = cols;
    else
        json_decref(cols);
    return rows;
}

static const char *parse_err(const char *text, CsvReadOptions o)
{
    static char msg[512];
    json_t *rows = NULL, *cols = NULL;
    NodeErr e = {0};
    if (o.delimiter == 0)
        o.delimiter = ',';
    assert_int_equal(csv_parse(text, strlen(text), &o, &rows, &cols, &e), -1);
    assert_string_equal(e.type, "InvalidInput");
    snprintf(msg, sizeof(msg), "%s", e.message);
    free(e.message);
    return msg;
}

static void test_csv_parse_quotes_and_newlines(void **state)
{
    (void)state;
    json_t *cols;
    json_t *rows = parse_ok("name,note\r\n\"Lee, Ann\",\"said \"\"hi\"\"\"\r\n\"multi\nline\r\ntext\",\r\n",
                            (CsvReadOptions){.header = true}, &cols);
    T_EXPECT_JSON(cols, "[\"name\", \"note\"]");
    T_EXPECT_JSON(rows,
                  "[{\"name\": \"Lee, Ann\", \"note\": \"said \\\"hi\\\"\"}, {\"name\": \"multi\\nline\\r\\ntext\","
                  " \"note\": \"\"}]");
    json_decref(rows);
    json_decref(cols);
}

static void test_csv_parse_line_endings_bom_empty_lines(void **state)
{
    (void)state;
    json_t *rows = parse_ok("\xEF\xBB\xBF"
                            "a,b\n1,2\r3,4\r\n\n\r\n5,6",
                            (CsvReadOptions){0}, NULL);
    T_EXPECT_JSON(rows, "[[\"a\", \"b\"], [\"1\", \"2\"], [\"3\", \"4\"], [\"5\", \"6\"]]");
    json_decref(rows);
    rows = parse_ok("\"\"\n,\n", (CsvReadOptions){0}, NULL); /* a quoted empty field is a record */
    T_EXPECT_JSON(rows, "[[\"\"], [\"\", \"\"]]");
    json_decref(rows);
    rows = parse_ok("", (CsvReadOptions){.header = true}, NULL);
    T_EXPECT_JSON(rows, "[]");
    json_decref(rows);
}

static void test_csv_parse_delimiter_and_stray_quote(void **state)
{
    (void)state;
    json_t *rows = parse_ok("a;b\tc;5 \"inch\"", (CsvReadOptions){.delimiter = ';'}, NULL);
    T_EXPECT_JSON(rows, "[[\"a\", \"b\\tc\", \"5 \\\"inch\\\"\"]]"); /* a quote inside an unquoted field is text */
    json_decref(rows);
}

static void test_csv_parse_errors_name_line(void **state)
{
    (void)state;
    const char *msg = parse_err("a,b\n1,\"open\n2,3\n", (CsvReadOptions){0});
    assert_non_null(strstr(msg, "line 2, field 2: a quoted field is never closed"));
    msg = parse_err("a,b\n\"x\"y,2\n", (CsvReadOptions){0});
    assert_non_null(strstr(msg, "line 2, field 1: unexpected 'y' after a closing quote"));
    msg = parse_err("a,b\n1,2\n\"multi\nline\",3,4\n", (CsvReadOptions){.header = true});
    assert_non_null(strstr(msg, "line 3: 3 fields, but the header has 2"));
    msg = parse_err("a\n1\n2\n3\n", (CsvReadOptions){.header = true, .max_rows = 2});
    assert_non_null(strstr(msg, "more than 2 rows"));
}

static void test_csv_parse_header_names_and_ragged(void **state)
{
    (void)state;
    json_t *cols;
    json_t *rows = parse_ok("id,,id,name\n1,2,3,4\n5\n6,7,8,9,10\n",
                            (CsvReadOptions){.header = true, .allow_ragged = true}, &cols);
    T_EXPECT_JSON(cols, "[\"id\", \"column_2\", \"id_2\", \"name\"]");
    T_EXPECT_JSON(json_array_get(rows, 1), "{\"id\": \"5\", \"column_2\": null, \"id_2\": null, \"name\": null}");
    T_EXPECT_JSON(json_array_get(rows, 2), "{\"id\": \"6\", \"column_2\": \"7\", \"id_2\": \"8\", \"name\": \"9\", "
                                           "\"column_5\": \"10\"}");
    json_decref(rows);
    json_decref(cols);
}

static void test_csv_parse_infer_types(void **state)
{
    (void)state;
    json_t *rows = parse_ok("1,-2,3.5,1e3,007,\"42\",true,FALSE,,x,-,1.2.3,9999999999999999999\n",
                            (CsvReadOptions){.infer_types = true}, NULL);
    T_EXPECT_JSON(rows, "[[1, -2, 3.5, 1000.0, \"007\", \"42\", true, false, null, \"x\", \"-\", \"1.2.3\", "
                        "\"9999999999999999999\"]]");
    json_decref(rows);
    rows = parse_ok("1,true,\n", (CsvReadOptions){0}, NULL); /* off by default */
    T_EXPECT_JSON(rows, "[[\"1\", \"true\", \"\"]]");
    json_decref(rows);
}

static char *format(const char *rows_json, CsvWriteOptions o)
{
    json_t *rows = json_loads(rows_json, 0, NULL), *cols = NULL;
    StrBuf b = {0};
    NodeErr e = {0};
    if (!o.delimiter)
        o.delimiter = ',';
    assert_non_null(rows);
    if (csv_format(rows, &o, &b, &cols, &e) < 0)
        fail_msg("csv_format failed: %s", e.message);
    json_decref(rows);
    json_decref(cols);
    return b.s ? sb_take(&b) : strdup("");
}

static void test_csv_format_quoting_and_values(void **state)
{
    (void)state;
    char *s = format("[{\"s\": \"a,b\", \"q\": \"say \\\"x\\\"\", \"n\": \"l1\\nl2\", \"sp\": \" pad\", \"i\": -3, "
                     "\"r\": 0.1, \"b\": false, \"z\": null, \"o\": {\"k\": [1]}}]",
                     (CsvWriteOptions){.header = true, .crlf = true});
    assert_string_equal(s, "s,q,n,sp,i,r,b,z,o\r\n\"a,b\",\"say \"\"x\"\"\",\"l1\nl2\",\" pad\",-3,0.1,false,,"
                           "\"{\"\"k\"\":[1]}\"\r\n");
    free(s);
    s = format("[[1, \"=SUM(A1)\"], [\"@x\", \"-\"]]", (CsvWriteOptions){.escape_formulas = true});
    assert_string_equal(s, "1,\"'=SUM(A1)\"\n\"'@x\",\"'-\"\n");
    free(s);
    json_t *cols = json_pack("[s,s]", "c", "a");
    s = format("[{\"a\": 1, \"b\": 2}, {\"b\": 3, \"c\": 4}]",
               (CsvWriteOptions){.header = true, .delimiter = ';', .columns = cols});
    assert_string_equal(s, "c;a\n;1\n4;\n");
    free(s);
    json_decref(cols);
    s = format("[[\"\"], [null]]", (CsvWriteOptions){0});
    assert_string_equal(s, "\"\"\n\"\"\n"); /* not empty lines */
    free(s);
}

static void test_csv_format_rejects_mixed_rows(void **state)
{
    json_t *rows = json_loads("[{\"a\": 1}, [1]]", 0, NULL), *cols = NULL;
    StrBuf b = {0};
    NodeErr e = {0};
    (void)state;
    assert_int_equal(csv_format(rows, &(CsvWriteOptions){.delimiter = ','}, &b, &cols, &e), -1);
    assert_non_null(strstr(e.message, "row 1 is array"));
    free(e.message);
    sb_free(&b);
    json_decref(rows);
}

/* format(parse(x)) keeps every field, whatever bytes the fields hold. */
static void test_csv_roundtrip_random(void **state)
{
    static const char alphabet[] = "ab,;\"\r\n x\xC3\xA9";
    unsigned seed = 12345;
    (void)state;
    for (int iter = 0; iter < 3000; iter++) {
        json_t *rows = json_array();
        int nrows = 1 + (int)(rand_r(&seed) % 4), ncols = 1 + (int)(rand_r(&seed) % 4);
        for (int r = 0; r < nrows; r++) {
            json_t *row = json_array();
            for (int c = 0; c < ncols; c++) {
                char cell[16];
                int len = (int)(rand_r(&seed) % 6), k = 0;
                for (int i = 0; i < len; i++) {
                    size_t pick = rand_r(&seed) % (sizeof(alphabet) - 3);
                    if (pick >= 11) { /* the two bytes of é together */
                        cell[k++] = '\xC3';
                        cell[k++] = '\xA9';
                    } else
                        cell[k++] = alphabet[pick];
                }
                json_array_append_new(row, json_stringn(cell, (size_t)k));
            }
            json_array_append_new(rows, row);
        }
        StrBuf b = {0};
        json_t *cols = NULL, *back = NULL;
        NodeErr e = {0};
        assert_int_equal(csv_format(rows, &(CsvWriteOptions){.delimiter = ',', .crlf = iter % 2}, &b, &cols, &e), 0);
        json_decref(cols);
        if (csv_parse(b.s, b.len, &(CsvReadOptions){.delimiter = ','}, &back, &cols, &e) < 0)
            fail_msg("round trip %d: %s on %s", iter, e.message, b.s);
        if (!json_equal(rows, back))
            fail_msg("round trip %d: %s became %s", iter, t_text(rows), b.s);
        json_decref(rows);
        json_decref(back);
        json_decref(cols);
        sb_free(&b);
    }
}

/* Random bytes never crash the parser; errors always carry a message. */
static void test_csv_parse_random_bytes(void **state)
{
    static const char alphabet[] = ",\"\r\na;";
    unsigned seed = 99;
    char buf[64];
    (void)state;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = rand_r(&seed) % sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
        json_t *rows = NULL, *cols = NULL;
        NodeErr e = {0};
        CsvReadOptions o = {
            .delimiter = ',', .header = iter % 2, .infer_types = iter % 3 == 0, .allow_ragged = iter % 5 == 0};
        if (csv_parse(buf, n, &o, &rows, &cols, &e) < 0)
            assert_non_null(e.message);
        free(e.message);
        json_decref(rows);
        json_decref(cols);
    }
}

/* ---- file hooks ---- */

static char data_dir[256];

static void put_file(const char *rel, const char *content)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/files/%s", data_dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static int setup_data_dir(void **state)
{
    char err[256], path[512];
    (void)state;
    snprintf(data_dir, sizeof(data_dir), "%s/nodes-csv-XXXXXX", getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(data_dir));
    assert_int_equal(nodes_setup(&(NodesConfig){.data_dir = data_dir, .csv_max_bytes = 1 << 20}, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/files/in", data_dir);
    assert_int_equal(mkdir(path, 0755), 0);
    put_file("in/people.csv", "id,name\n1,Ann\n2,Bob\n");
    snprintf(path, sizeof(path), "%s/secret.csv", data_dir);
    FILE *f = fopen(path, "w");
    fputs("top,secret\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/files/in/escape.csv", data_dir);
    assert_int_equal(symlink("../../secret.csv", path), 0);
    snprintf(path, sizeof(path), "%s/files/in/inside.csv", data_dir);
    assert_int_equal(symlink("people.csv", path), 0);
    return 0;
}

static json_t *prepare(const char *config, char **msg, int *r)
{
    json_t *env = json_pack("{s:s,s:i,s:o,s:o}", "node", "n", "attempt", 1, "config", json_loads(config, 0, NULL),
                            "inputs", json_object());
    json_t *prepared = NULL;
    *msg = NULL;
    *r = nodes_prepare(nodes_find("csv.read"), json_object_get(env, "config"), json_object_get(env, "inputs"),
                       &prepared, msg);
    if (prepared)
        json_object_set_new(env, "prepared", prepared);
    return env;
}

static void test_csv_read_prepare_then_parse(void **state)
{
    char *msg;
    int r;
    TOut out;
    (void)state;
    json_t *env = prepare("{\"path\": \"in/people.csv\"}", &msg, &r);
    assert_int_equal(r, 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(env, "prepared"), "text")),
                        "id,name\n1,Ann\n2,Bob\n");
    char *text = json_dumps(env, 0);
    t_run_builtin(nodes_find("csv.read"), text, &out);
    free(text);
    json_decref(env);
    assert_int_equal(out.exit_code, 0);
    T_EXPECT_JSON(json_object_get(out.json, "records"),
                  "[{\"id\": \"1\", \"name\": \"Ann\"}, {\"id\": \"2\", \"name\": "
                  "\"Bob\"}]");
    json_decref(out.json);
    env = prepare("{\"path\": \"in/inside.csv\"}", &msg, &r); /* a symlink that stays inside */
    assert_int_equal(r, 0);
    json_decref(env);
    json_t *prepared = json_true();
    assert_int_equal(nodes_prepare(nodes_find("filter"), NULL, NULL, &prepared, &msg), 0); /* no hook */
    assert_null(prepared);
}

static void test_csv_read_prepare_confined(void **state)
{
    char *msg;
    int r;
    (void)state;
    json_decref(prepare("{\"path\": \"in/escape.csv\"}", &msg, &r));
    assert_true(r == -EXDEV || r == -ELOOP);
    assert_non_null(strstr(msg, "outside FLOWD_DATA_DIR/files"));
    free(msg);
    json_decref(prepare("{\"path\": \"../secret.csv\"}", &msg, &r));
    assert_int_equal(r, -EINVAL);
    assert_non_null(strstr(msg, "\"..\""));
    free(msg);
    json_decref(prepare("{\"path\": \"/etc/passwd\"}", &msg, &r));
    assert_int_equal(r, -EINVAL);
    free(msg);
    json_decref(prepare("{\"path\": \"in/nope.csv\"}", &msg, &r));
    assert_int_equal(r, -ENOENT);
    assert_non_null(strstr(msg, "files/in/nope.csv does not exist"));
    free(msg);
    json_decref(prepare("{\"path\": \"in\"}", &msg, &r));
    assert_int_equal(r, -EINVAL);
    assert_non_null(strstr(msg, "not a regular file"));
    free(msg);
}

static void test_csv_read_prepare_size_and_encoding(void **state)
{
    char *msg;
    int r;
    (void)state;
    json_decref(prepare("{\"path\": \"in/people.csv\", \"max_bytes\": 10}", &msg, &r));
    assert_int_equal(r, -EFBIG);
    assert_non_null(strstr(msg, "larger than the limit of 10 bytes"));
    free(msg);
    put_file("in/latin.csv", "name\nJos\xE9\n");
    json_decref(prepare("{\"path\": \"in/latin.csv\"}", &msg, &r));
    assert_int_equal(r, -EILSEQ);
    assert_non_null(strstr(msg, "not valid UTF-8 (at byte 8)"));
    free(msg);
    json_t *env = prepare("{\"path\": \"in/latin.csv\", \"encoding\": \"latin1\"}", &msg, &r);
    assert_int_equal(r, 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(env, "prepared"), "text")),
                        "name\nJos\xC3\xA9\n");
    json_decref(env);
}

static int count_entries(const char *rel_dir, const char *prefix)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/files/%s", data_dir, rel_dir);
    DIR *d = opendir(path);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d)))
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

static void test_csv_write_finish_timestamped_atomic(void **state)
{
    char *msg = NULL, path[512], buf[64] = "";
    (void)state;
    node_files_fixed_time = 1795874400; /* 2026-11-28T14:00:00Z */
    json_t *config = json_loads("{\"path\": \"out/daily/report.csv\"}", 0, NULL);
    json_t *out = json_loads("{\"csv\": \"a\\r\\n1\\r\\n\", \"rows\": 1, \"columns\": [\"a\"]}", 0, NULL);
    assert_int_equal(nodes_finish(nodes_find("csv.write"), config, &out, &msg), 0);
    T_EXPECT_JSON(out, "{\"path\": \"out/daily/report_20261128T140000Z.csv\", \"rows\": 1, \"bytes\": 6, "
                       "\"columns\": [\"a\"]}");
    json_decref(out);
    snprintf(path, sizeof(path), "%s/files/out/daily/report_20261128T140000Z.csv", data_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "a\r\n");
    /* The same second again: a new name, the first file untouched. */
    out = json_loads("{\"csv\": \"b\\r\\n\", \"rows\": 0}", 0, NULL);
    assert_int_equal(nodes_finish(nodes_find("csv.write"), config, &out, &msg), 0);
    assert_string_equal(json_string_value(json_object_get(out, "path")), "out/daily/report_20261128T140000Z-2.csv");
    json_decref(out);
    assert_int_equal(count_entries("out/daily", ".flowd-tmp"), 0);
    assert_int_equal(count_entries("out/daily", "report_"), 2);
    /* A child output without the CSV text is INVALID_OUTPUT material. */
    out = json_loads("{\"rows\": 1}", 0, NULL);
    assert_int_equal(nodes_finish(nodes_find("csv.write"), config, &out, &msg), -EINVAL);
    assert_non_null(msg);
    free(msg);
    json_decref(out);
    json_decref(config);
    node_files_fixed_time = 0;
}

static void test_csv_write_finish_refuses_symlinked_dir(void **state)
{
    char *msg = NULL, path[512], target[512];
    (void)state;
    snprintf(target, sizeof(target), "%s", data_dir);
    snprintf(path, sizeof(path), "%s/files/up", data_dir);
    assert_int_equal(symlink(target, path), 0);
    json_t *config = json_loads("{\"path\": \"up/x.csv\"}", 0, NULL);
    json_t *out = json_loads("{\"csv\": \"a\\n\", \"rows\": 1}", 0, NULL);
    int r = nodes_finish(nodes_find("csv.write"), config, &out, &msg);
    assert_true(r == -EXDEV || r == -ELOOP);
    assert_non_null(strstr(msg, "outside FLOWD_DATA_DIR/files"));
    free(msg);
    json_decref(out);
    json_decref(config);
    assert_int_equal(count_entries("..", "x_"), 0);
}

int main(void)
{
    nodes_init(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_parse_quotes_and_newlines),
        cmocka_unit_test(test_csv_parse_line_endings_bom_empty_lines),
        cmocka_unit_test(test_csv_parse_delimiter_and_stray_quote),
        cmocka_unit_test(test_csv_parse_errors_name_line),
        cmocka_unit_test(test_csv_parse_header_names_and_ragged),
        cmocka_unit_test(test_csv_parse_infer_types),
        cmocka_unit_test(test_csv_format_quoting_and_values),
        cmocka_unit_test(test_csv_format_rejects_mixed_rows),
        cmocka_unit_test(test_csv_roundtrip_random),
        cmocka_unit_test(test_csv_parse_random_bytes),
        cmocka_unit_test(test_csv_read_prepare_then_parse),
        cmocka_unit_test(test_csv_read_prepare_confined),
        cmocka_unit_test(test_csv_read_prepare_size_and_encoding),
        cmocka_unit_test(test_csv_write_finish_timestamped_atomic),
        cmocka_unit_test(test_csv_write_finish_refuses_symlinked_dir),
    };
    return cmocka_run_group_tests(tests, setup_data_dir, NULL);
}
