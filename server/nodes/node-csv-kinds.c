/* csv.read and csv.write. Their sandboxed child cannot open files (compute
 * profile), so the server does the file I/O in the kinds' hooks and the
 * child does the parsing and formatting:
 *   csv.read:  prepare (server) reads files/<path>, size-bounded, into the
 *              envelope's "prepared" -> child parses it into records.
 *   csv.write: child formats the input records as CSV text in its output ->
 *              finish (server) writes it atomically as
 *              files/<dir>/<stem>_<UTC timestamp>.<ext>. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "server/nodes/node-internal.h"

#define CSV_DEFAULT_MAX_BYTES (8ull << 20)
#define CSV_DEFAULT_MAX_ROWS 1000000

static uint64_t csv_ceiling = 64ull << 20;
static const char *const encodings[] = {"utf-8", "latin1", NULL};
static const char *const line_endings[] = {"crlf", "lf", NULL};

void node_csv_configure(uint64_t max_bytes) { csv_ceiling = max_bytes ? max_bytes : 64ull << 20; }

static void check_path(const json_t *config, const char *path, Diags *d)
{
    const json_t *v = json_object_get(config, "path");
    char p[512];
    const char *why;

    node_subpath(p, sizeof(p), path, ".path");
    if (!v)
        diags_add(d, p, "needs the file's path, relative to FLOWD_DATA_DIR/files, e.g. \"in/customers.csv\"");
    else if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        diags_add(d, p, "must be a string");
    else if ((why = node_file_path_problem(json_string_value(v))))
        diags_add(d, p, "\"%.80s\" %s", json_string_value(v), why);
}

static char delimiter_of(const json_t *config)
{
    const char *s = json_string_value(json_object_get(config, "delimiter"));
    return s && strlen(s) == 1 ? s[0] : ',';
}

static void check_delimiter(const json_t *config, const char *path, Diags *d)
{
    const json_t *v = json_object_get(config, "delimiter");
    const char *s = json_string_value(v);
    char p[512];

    if (v && (!s || strlen(s) != 1 || strchr("\"\r\n", s[0])))
        diags_add(d, node_subpath(p, sizeof(p), path, ".delimiter"),
                  "must be one character other than a quote or a newline, e.g. \",\", \";\" or \"\\t\"");
}

static void read_check(const json_t *config, const char *path, Diags *d)
{
    static const char *const keys[] = {"path",   "delimiter", "header",   "infer_types", "allow_ragged",
                                       "output", "max_bytes", "max_rows", "encoding",    NULL};

    node_check_keys(config, path, keys, d);
    check_path(config, path, d);
    check_delimiter(config, path, d);
    node_check_bool(config, "header", path, true, d);
    node_check_bool(config, "infer_types", path, false, d);
    node_check_bool(config, "allow_ragged", path, false, d);
    node_check_string(config, "output", path, NULL, d);
    node_check_int(config, "max_bytes", path, 0, 1, (long long)csv_ceiling, d);
    node_check_int(config, "max_rows", path, 0, 1, 100000000, d);
    node_check_enum(config, "encoding", path, encodings, 0, d);
}

/* Offset of the first byte that is not well-formed UTF-8, or SIZE_MAX. */
static size_t utf8_invalid_at(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n)
            return i;
        uint32_t cp = len == 1 ? c : c & (0x7F >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += len;
    }
    return SIZE_MAX;
}

static char *latin1_to_utf8(const char *s, size_t n, size_t *ret_len)
{
    StrBuf b = {0};
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char two[2] = {(char)(0xC0 | c >> 6), (char)(0x80 | (c & 0x3F))};
        if (c < 0x80)
            sb_append(&b, s + i, 1);
        else
            sb_append(&b, two, 2);
    }
    *ret_len = b.len;
    return b.s ? sb_take(&b) : xstrdup("");
}

static int read_prepare(const json_t *config, const json_t *inputs, json_t **ret, char **ret_msg)
{
    const char *rel = json_string_value(json_object_get(config, "path"));
    json_int_t max = json_integer_value(json_object_get(config, "max_bytes"));
    uint64_t limit = max > 0 ? (uint64_t)max : CSV_DEFAULT_MAX_BYTES;
    char *data = NULL;
    size_t len = 0;

    (void)inputs;
    if (limit > csv_ceiling)
        limit = csv_ceiling;
    int r = node_file_read(rel, limit, &data, &len, ret_msg);
    if (r < 0)
        return r;
    if (json_is_string(json_object_get(config, "encoding")) &&
        strcmp(json_string_value(json_object_get(config, "encoding")), "latin1") == 0) {
        char *utf8 = latin1_to_utf8(data, len, &len);
        free(data);
        data = utf8;
    }
    size_t bad = utf8_invalid_at((const unsigned char *)data, len);
    if (bad != SIZE_MAX) {
        *ret_msg = xasprintf("files/%s is not valid UTF-8 (at byte %zu); set \"encoding\": \"latin1\" for a "
                             "Latin-1 file",
                             rel, bad);
        free(data);
        return -EILSEQ;
    }
    *ret = json_pack("{s:s,s:s%,s:I}", "path", rel, "text", data, len, "bytes", (json_int_t)len);
    free(data);
    return *ret ? 0 : -ENOMEM;
}

static int read_run(const NodeCtx *c, json_t **ret, NodeErr *e)
{
    const json_t *prepared = json_object_get(c->env, "prepared");
    const json_t *text = json_object_get(prepared, "text");
    json_int_t max_rows = json_integer_value(json_object_get(c->config, "max_rows"));
    const char *okey = json_string_value(json_object_get(c->config, "output"));
    CsvReadOptions o = {
        .delimiter = delimiter_of(c->config),
        .header = !json_is_false(json_object_get(c->config, "header")),
        .infer_types = json_is_true(json_object_get(c->config, "infer_types")),
        .allow_ragged = json_is_true(json_object_get(c->config, "allow_ragged")),
        .max_rows = max_rows > 0 ? (size_t)max_rows : CSV_DEFAULT_MAX_ROWS,
    };
    json_t *rows, *columns;

    if (!json_is_string(text))
        return node_err(e, "InvalidInput",
                        "csv.read ran without its file: the server did not prepare the "
                        "attempt (nodes_prepare)");
    if (csv_parse(json_string_value(text), json_string_length(text), &o, &rows, &columns, e) < 0) {
        char *msg = xasprintf("files/%s: %s", json_string_value(json_object_get(prepared, "path")), e->message);
        free(e->message);
        e->message = msg;
        return -1;
    }
    json_t *out = json_object();
    json_object_set_new(out, okey ? okey : "records", rows);
    json_object_set_new(out, "count", json_integer((json_int_t)json_array_size(rows)));
    if (columns)
        json_object_set_new(out, "columns", columns);
    json_object_set(out, "path", json_object_get(prepared, "path"));
    *ret = out;
    return 0;
}

static int read_main(void) { return node_main(read_run); }

static void write_check(const json_t *config, const char *path, Diags *d)
{
    static const char *const keys[] = {"path",      "input",       "columns",         "header",
                                       "delimiter", "line_ending", "escape_formulas", NULL};
    const json_t *cols = json_object_get(config, "columns");
    char p[512];
    size_t i;
    json_t *v;

    node_check_keys(config, path, keys, d);
    check_path(config, path, d);
    check_delimiter(config, path, d);
    node_check_io(config, path, false, d);
    node_check_bool(config, "header", path, true, d);
    node_check_bool(config, "escape_formulas", path, false, d);
    node_check_enum(config, "line_ending", path, line_endings, 0, d);
    if (cols && (!json_is_array(cols) || json_array_size(cols) == 0 || json_array_size(cols) > 4096))
        diags_add(d, node_subpath(p, sizeof(p), path, ".columns"), "must be an array of 1 to 4096 column names");
    else if (cols)
        json_array_foreach ((json_t *)cols, i, v)
            if (!json_is_string(v))
                diags_add(d, node_subpath(p, sizeof(p), path, ".columns[%zu]", i), "must be a column name");
}

static int write_run(const NodeCtx *c, json_t **ret, NodeErr *e)
{
    const char *key;
    const json_t *rows = node_operand(c, "records", &key, e);
    const json_t *le = json_object_get(c->config, "line_ending");
    CsvWriteOptions o = {
        .delimiter = delimiter_of(c->config),
        .header = !json_is_false(json_object_get(c->config, "header")),
        .crlf = !(json_is_string(le) && strcmp(json_string_value(le), "lf") == 0),
        .escape_formulas = json_is_true(json_object_get(c->config, "escape_formulas")),
        .columns = json_object_get(c->config, "columns"),
    };
    StrBuf text = {0};
    json_t *columns;

    if (!rows)
        return -1;
    if (csv_format(rows, &o, &text, &columns, e) < 0) {
        sb_free(&text);
        return -1;
    }
    *ret = json_pack("{s:s%,s:I,s:o}", "csv", text.s ? text.s : "", text.len, "rows", (json_int_t)json_array_size(rows),
                     "columns", columns);
    sb_free(&text);
    return *ret ? 0 : node_err(e, "InvalidOutput", "the CSV text is not valid UTF-8");
}

static int write_main(void) { return node_main(write_run); }

static int write_finish(const json_t *config, const json_t *output, json_t **ret, char **ret_msg)
{
    const json_t *text = json_object_get(output, "csv");
    const char *rel = json_string_value(json_object_get(config, "path"));
    char *written = NULL;

    if (!json_is_string(text) || !json_is_integer(json_object_get(output, "rows"))) {
        *ret_msg = xstrdup("csv.write's output has no \"csv\" text and \"rows\" count");
        return -EINVAL;
    }
    int r = node_file_write(rel, json_string_value(text), json_string_length(text), &written, ret_msg);
    if (r < 0)
        return r;
    *ret = json_pack("{s:s,s:O,s:I,s:O}", "path", written, "rows", json_object_get(output, "rows"), "bytes",
                     (json_int_t)json_string_length(text), "columns",
                     json_object_get(output, "columns") ? json_object_get(output, "columns") : json_null());
    free(written);
    return 0;
}

const NodeKind node_kind_csv_read = {
    .name = "csv.read",
    .summary = "reads a CSV file under FLOWD_DATA_DIR/files into records (RFC 4180)",
    .check = read_check,
    .builtin = read_main,
    .profile = SBX_PROFILE_COMPUTE,
    .prepare = read_prepare,
};

const NodeKind node_kind_csv_write = {
    .name = "csv.write",
    .summary = "writes records as a timestamped CSV file under FLOWD_DATA_DIR/files",
    .check = write_check,
    .builtin = write_main,
    .profile = SBX_PROFILE_COMPUTE,
    .finish = write_finish,
};
