/* node-csv.c: the RFC 4180 parser and formatter behind csv.read and
 * csv.write. Pure functions on memory: they run in the sandboxed child.
 *
 * Parsing: fields separated by the delimiter, records by CRLF, LF or CR;
 * a field in double quotes may hold delimiters, newlines and doubled
 * quotes; a quote inside an unquoted field is kept as text; text after a
 * closing quote is an error. A UTF-8 byte order mark is skipped, and empty
 * lines are skipped. Type inference (off by default) applies to unquoted
 * fields only, so quoting a value keeps it a string. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/nodes/node-internal.h"

typedef struct CsvParser {
    const char *s;
    size_t len, pos;
    size_t line; /* 1-based line of pos */
    const CsvReadOptions *o;
    StrBuf field;
} CsvParser;

static bool is_eol(char c) { return c == '\n' || c == '\r'; }

static void skip_eol(CsvParser *p)
{
    if (p->pos < p->len && p->s[p->pos] == '\r')
        p->pos++;
    if (p->pos < p->len && p->s[p->pos] == '\n')
        p->pos++;
    p->line++;
}

static bool plain_int(const char *s, size_t n)
{
    size_t i = s[0] == '-';
    if (i >= n || n - i > 18 || (s[i] == '0' && n - i > 1))
        return false;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool plain_real(const char *s, size_t n)
{
    size_t i = s[0] == '-', digits = 0;
    bool dot = false, exp = false;

    if (i < n && s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')
        return false; /* leading zeros: an identifier like 007.5, keep text */
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            digits++;
        else if (c == '.' && !dot && !exp)
            dot = true;
        else if ((c == 'e' || c == 'E') && digits && !exp) {
            exp = true;
            if (i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-'))
                i++;
            if (i + 1 >= n)
                return false;
        } else
            return false;
    }
    return digits > 0 && (dot || exp);
}

/* Unquoted text with inference on: integer, number, boolean, null or string. */
static json_t *infer(const char *s, size_t n)
{
    char buf[64];

    if (n == 0)
        return json_null();
    if (n < sizeof(buf) && (plain_int(s, n) || plain_real(s, n))) {
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (plain_int(s, n))
            return json_integer(strtoll(buf, NULL, 10));
        double d = strtod(buf, NULL);
        if (isfinite(d))
            return json_real(d);
    }
    if (n == 4 && strncasecmp(s, "true", 4) == 0)
        return json_true();
    if (n == 5 && strncasecmp(s, "false", 5) == 0)
        return json_false();
    return json_stringn(s, n);
}

static int quoted_field(CsvParser *p, size_t field_no, json_t **ret, NodeErr *e)
{
    size_t start_line = p->line;

    p->field.len = 0;
    p->pos++; /* the opening quote */
    for (;;) {
        const char *q = memchr(p->s + p->pos, '"', p->len - p->pos);
        if (!q)
            return node_err(e, "InvalidInput", "line %zu, field %zu: a quoted field is never closed", start_line,
                            field_no);
        for (const char *c = p->s + p->pos; c < q; c++)
            p->line += *c == '\n' || (*c == '\r' && c + 1 < q && c[1] != '\n');
        sb_append(&p->field, p->s + p->pos, (size_t)(q - (p->s + p->pos)));
        p->pos = (size_t)(q - p->s) + 1;
        if (p->pos < p->len && p->s[p->pos] == '"') {
            sb_append(&p->field, "\"", 1);
            p->pos++;
            continue;
        }
        break;
    }
    if (p->pos < p->len && p->s[p->pos] != p->o->delimiter && !is_eol(p->s[p->pos]))
        return node_err(e, "InvalidInput",
                        "line %zu, field %zu: unexpected '%c' after a closing quote (a quote inside a quoted field "
                        "is written twice: \"\")",
                        p->line, field_no, p->s[p->pos]);
    *ret = json_stringn(p->field.s ? p->field.s : "", p->field.len);
    return *ret ? 0 : node_err(e, "InvalidInput", "line %zu, field %zu: not valid UTF-8", start_line, field_no);
}

static int plain_field(CsvParser *p, size_t field_no, json_t **ret, NodeErr *e)
{
    size_t start = p->pos;

    while (p->pos < p->len && p->s[p->pos] != p->o->delimiter && !is_eol(p->s[p->pos]))
        p->pos++;
    size_t n = p->pos - start;
    *ret = p->o->infer_types ? infer(p->s + start, n) : json_stringn(p->s + start, n);
    return *ret ? 0 : node_err(e, "InvalidInput", "line %zu, field %zu: not valid UTF-8", p->line, field_no);
}

/* One record into *ret (an array of values); *ret = NULL for an empty line. */
static int record(CsvParser *p, json_t **ret, NodeErr *e)
{
    json_t *rec = json_array();

    if (is_eol(p->s[p->pos])) {
        skip_eol(p);
        json_decref(rec);
        *ret = NULL;
        return 0;
    }
    for (;;) {
        json_t *v;
        size_t field_no = json_array_size(rec) + 1;
        int r =
            p->pos < p->len && p->s[p->pos] == '"' ? quoted_field(p, field_no, &v, e) : plain_field(p, field_no, &v, e);
        if (r < 0) {
            json_decref(rec);
            return -1;
        }
        json_array_append_new(rec, v);
        if (p->pos < p->len && p->s[p->pos] == p->o->delimiter) {
            p->pos++;
            continue;
        }
        if (p->pos < p->len)
            skip_eol(p);
        break;
    }
    *ret = rec;
    return 0;
}

static json_t *column_names(const json_t *header)
{
    json_t *names = json_array(), *seen = json_object();
    size_t i;
    json_t *v;
    char buf[64];

    json_array_foreach ((json_t *)header, i, v) {
        const char *name = json_is_string(v) && json_string_length(v) ? json_string_value(v) : NULL;
        if (!name) {
            snprintf(buf, sizeof(buf), "column_%zu", i + 1);
            name = buf;
        }
        char *unique = xstrdup(name);
        for (int k = 2; json_object_get(seen, unique); k++) {
            free(unique);
            unique = xasprintf("%s_%d", name, k);
        }
        json_object_set_new(seen, unique, json_true());
        json_array_append_new(names, json_string(unique));
        free(unique);
    }
    json_decref(seen);
    return names;
}

static int to_object(const CsvParser *p, json_t *columns, json_t *rec, size_t line, json_t **ret, NodeErr *e)
{
    size_t nc = json_array_size(columns), nf = json_array_size(rec);
    char buf[64];

    if (nf != nc && !p->o->allow_ragged)
        return node_err(e, "InvalidInput",
                        "line %zu: %zu field%s, but the header has %zu (set \"allow_ragged\": "
                        "true to accept short and long rows)",
                        line, nf, nf == 1 ? "" : "s", nc);
    json_t *obj = json_object();
    for (size_t i = 0; i < nc || i < nf; i++) {
        const char *name = i < nc ? json_string_value(json_array_get(columns, i)) : NULL;
        if (!name) {
            snprintf(buf, sizeof(buf), "column_%zu", i + 1);
            name = buf;
        }
        json_t *v = json_array_get(rec, i);
        json_object_set_new(obj, name, v ? json_incref(v) : json_null());
    }
    *ret = obj;
    return 0;
}

static int add_record(CsvParser *p, json_t *rows, json_t **columns, json_t *rec, size_t line, NodeErr *e)
{
    if (p->o->header && !*columns) {
        *columns = column_names(rec);
        return 0;
    }
    if (p->o->max_rows && json_array_size(rows) >= p->o->max_rows)
        return node_err(e, "InvalidInput", "more than %zu rows (max_rows); raise \"max_rows\" or split the file",
                        p->o->max_rows);
    if (!p->o->header) {
        json_array_append(rows, rec);
        return 0;
    }
    json_t *obj = NULL;
    if (to_object(p, *columns, rec, line, &obj, e) < 0)
        return -1;
    json_array_append_new(rows, obj);
    return 0;
}

int csv_parse(const char *text, size_t len, const CsvReadOptions *o, json_t **ret_rows, json_t **ret_columns,
              NodeErr *e)
{
    CsvParser p = {.s = text, .len = len, .line = 1, .o = o};
    json_t *rows = json_array(), *columns = NULL;

    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p.pos = 3;
    while (p.pos < p.len) {
        json_t *rec = NULL;
        size_t line = p.line;
        if (record(&p, &rec, e) < 0 || (rec && add_record(&p, rows, &columns, rec, line, e) < 0)) {
            json_decref(rec);
            json_decref(rows);
            json_decref(columns);
            sb_free(&p.field);
            return -1;
        }
        json_decref(rec);
    }
    sb_free(&p.field);
    if (o->header && !columns)
        columns = json_array();
    *ret_rows = rows;
    *ret_columns = columns;
    return 0;
}

/* ---- formatting ---- */

static void real_text(double d, char *buf, size_t size)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

static void put_cell(StrBuf *out, const json_t *v, const CsvWriteOptions *o)
{
    char buf[64];
    char *dumped = NULL;
    const char *s;
    size_t n;

    if (!v || json_is_null(v))
        return;
    if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v)) {
        if (json_is_integer(v))
            snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
            real_text(json_real_value(v), buf, sizeof(buf));
        else
            snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
        sb_puts(out, buf);
        return;
    } else {
        s = dumped = json_dumps(v, JSON_COMPACT);
        n = s ? strlen(s) : 0;
    }
    bool formula = o->escape_formulas && json_is_string(v) && n > 0 && strchr("=+-@\t\r", s[0]);
    bool quote = formula || (n > 0 && (s[0] == ' ' || s[n - 1] == ' '));
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == o->delimiter || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (quote)
        sb_append(out, "\"", 1);
    if (formula)
        sb_append(out, "'", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' && quote)
            sb_append(out, "\"", 1);
        sb_append(out, s + i, 1);
    }
    if (quote)
        sb_append(out, "\"", 1);
    free(dumped);
}

static void end_line(StrBuf *out, const CsvWriteOptions *o) { sb_puts(out, o->crlf ? "\r\n" : "\n"); }

static json_t *union_columns(const json_t *rows)
{
    json_t *cols = json_array(), *seen = json_object();
    size_t i;
    json_t *row;
    const char *k;
    json_t *v;

    json_array_foreach ((json_t *)rows, i, row)
        json_object_foreach (row, k, v)
            if (!json_object_get(seen, k)) {
                json_object_set_new(seen, k, json_true());
                json_array_append_new(cols, json_string(k));
            }
    json_decref(seen);
    return cols;
}

static int rows_shape(const json_t *rows, bool *objects, NodeErr *e)
{
    size_t i;
    json_t *row;

    if (!json_is_array(rows))
        return node_err(e, "InvalidInput", "the rows to write must be an array, not %s", node_type_name(rows));
    *objects = json_array_size(rows) == 0 || json_is_object(json_array_get(rows, 0));
    json_array_foreach ((json_t *)rows, i, row)
        if (*objects ? !json_is_object(row) : !json_is_array(row))
            return node_err(e, "InvalidInput", "row %zu is %s; rows are all objects or all arrays", i,
                            node_type_name(row));
    return 0;
}

int csv_format(const json_t *rows, const CsvWriteOptions *o, StrBuf *out, json_t **ret_columns, NodeErr *e)
{
    bool objects = true;
    size_t i, j;
    json_t *row, *col;

    if (rows_shape(rows, &objects, e) < 0)
        return -1;
    json_t *cols = o->columns ? json_copy((json_t *)o->columns) : objects ? union_columns(rows) : json_array();
    if (o->header && json_array_size(cols) > 0) {
        json_array_foreach (cols, j, col) {
            if (j)
                sb_append(out, &o->delimiter, 1);
            put_cell(out, col, o);
        }
        end_line(out, o);
    }
    json_array_foreach ((json_t *)rows, i, row) {
        size_t n = objects ? json_array_size(cols) : json_array_size(row);
        /* A row of one empty cell would be an empty line, which readers skip. */
        const json_t *only = n != 1    ? NULL
                             : objects ? json_object_get(row, json_string_value(json_array_get(cols, 0)))
                                       : json_array_get(row, 0);
        if (n == 1 && (!only || json_is_null(only) || (json_is_string(only) && json_string_length(only) == 0))) {
            sb_puts(out, "\"\"");
            end_line(out, o);
            continue;
        }
        for (j = 0; j < n; j++) {
            if (j)
                sb_append(out, &o->delimiter, 1);
            put_cell(
                out,
                objects ? json_object_get(row, json_string_value(json_array_get(cols, j))) : json_array_get(row, j), o);
        }
        end_line(out, o);
    }
    *ret_columns = cols;
    return 0;
}
