/* node-util.c: config checks, the run skeleton of built-ins, field paths
 * and the value order the record kinds share. Everything from node_main()
 * down runs in the sandboxed child under the compute profile: read, write
 * and memory only, no locale, no files. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/nodes/node-internal.h"

const char *node_subpath(char *buf, size_t size, const char *base, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(buf, size, "%s", base);

    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < size)
        vsnprintf(buf + n, size - (size_t)n, fmt, ap);
    va_end(ap);
    return buf;
}

static bool in_list(const char *s, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static void list_join(StrBuf *b, const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++)
        sb_printf(b, "%s\"%s\"", i ? ", " : "", list[i]);
}

void node_check_keys(const json_t *config, const char *path, const char *const *known, Diags *d)
{
    const char *key;
    json_t *v;
    char p[512];

    json_object_foreach ((json_t *)config, key, v) {
        if (strcmp(key, "params") == 0 || in_list(key, known))
            continue;
        StrBuf b = {0};
        list_join(&b, known);
        diags_add(d, node_subpath(p, sizeof(p), path, ".%s", key), "unknown setting; this kind knows %s",
                  b.s ? b.s : "none");
        sb_free(&b);
    }
}

const char *node_check_string(const json_t *config, const char *key, const char *path, const char *def, Diags *d)
{
    const json_t *v = json_object_get(config, key);
    char p[512];

    if (!v)
        return def;
    if (!json_is_string(v) || json_string_length(v) == 0) {
        if (d)
            diags_add(d, node_subpath(p, sizeof(p), path, ".%s", key), "must be a non-empty string");
        return def;
    }
    return json_string_value(v);
}

bool node_check_bool(const json_t *config, const char *key, const char *path, bool def, Diags *d)
{
    const json_t *v = json_object_get(config, key);
    char p[512];

    if (!v)
        return def;
    if (!json_is_boolean(v)) {
        if (d)
            diags_add(d, node_subpath(p, sizeof(p), path, ".%s", key), "must be true or false");
        return def;
    }
    return json_is_true(v);
}

long long node_check_int(const json_t *config, const char *key, const char *path, long long def, long long min,
                         long long max, Diags *d)
{
    const json_t *v = json_object_get(config, key);
    char p[512];

    if (!v)
        return def;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        if (d)
            diags_add(d, node_subpath(p, sizeof(p), path, ".%s", key), "must be an integer from %lld to %lld", min,
                      max);
        return def;
    }
    return json_integer_value(v);
}

int node_check_enum(const json_t *config, const char *key, const char *path, const char *const *choices, int def,
                    Diags *d)
{
    const json_t *v = json_object_get(config, key);
    char p[512];

    if (!v)
        return def;
    for (int i = 0; json_is_string(v) && choices[i]; i++)
        if (strcmp(json_string_value(v), choices[i]) == 0)
            return i;
    if (!d)
        return def;
    StrBuf b = {0};
    list_join(&b, choices);
    diags_add(d, node_subpath(p, sizeof(p), path, ".%s", key), "must be one of %s", b.s);
    sb_free(&b);
    return def;
}

bool node_check_field(const json_t *v, const char *path, Diags *d)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;

    if (!s || n == 0) {
        diags_add(d, path, "must be a field name or dotted path like \"address.city\"");
        return false;
    }
    if (n > NODE_MAX_PATH_LEN || s[0] == '.' || s[n - 1] == '.' || strstr(s, "..")) {
        diags_add(d, path,
                  "\"%.64s\" is not a field path: dotted segments must be non-empty and the whole at "
                  "most %d characters",
                  s, NODE_MAX_PATH_LEN);
        return false;
    }
    return true;
}

void node_check_io(const json_t *config, const char *path, bool allow_root, Diags *d)
{
    const char *in = node_check_string(config, "input", path, NULL, d);
    const char *out = node_check_string(config, "output", path, NULL, d);
    char p[512];

    if (in && strcmp(in, "$") == 0 && !allow_root)
        diags_add(d, node_subpath(p, sizeof(p), path, ".input"),
                  "this kind works on an array: name the input that holds it (default \"records\")");
    else if (in && strcmp(in, "$") != 0)
        node_check_field(json_object_get(config, "input"), node_subpath(p, sizeof(p), path, ".input"), d);
    if (out && strchr(out, '.'))
        diags_add(d, node_subpath(p, sizeof(p), path, ".output"), "must be a top-level output key, without dots");
}

int node_err(NodeErr *e, const char *type, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    free(e->message);
    e->type = type;
    e->message = msg;
    return -1;
}

int node_run_envelope(NodeRunFn fn, const json_t *env, json_t **ret, NodeErr *e)
{
    const json_t *inputs = json_object_get(env, "inputs");
    const json_t *config = json_object_get(env, "config");
    _cleanup_(json_decrefp) json_t *empty = json_object();
    NodeCtx c = {
        .env = env,
        .config = json_is_object(config) ? config : empty,
        .inputs = json_is_object(inputs) ? inputs : empty,
        .node = json_string_value(json_object_get(env, "node")),
    };

    if (inputs && !json_is_object(inputs))
        return node_err(e, "InvalidInput", "the node's inputs must be an object");
    return fn(&c, ret, e);
}

int node_main(NodeRunFn fn)
{
    json_t *env = NULL, *out = NULL;
    NodeErr e = {0};
    int rc;

    if (node_read_envelope(&env) < 0)
        return node_fail("InvalidInput", "the input envelope is not a JSON object");
    if (node_run_envelope(fn, env, &out, &e) < 0)
        rc = node_fail(e.type ? e.type : "NodeError", "%s", e.message ? e.message : "failed");
    else
        rc = node_write_output(out) < 0 ? 1 : 0;
    free(e.message);
    json_decref(out);
    json_decref(env);
    return rc;
}

static void key_list(StrBuf *b, const json_t *obj)
{
    const char *k;
    json_t *v;
    size_t i = 0;

    json_object_foreach ((json_t *)obj, k, v) {
        if (i == 10) {
            sb_puts(b, ", ...");
            break;
        }
        sb_printf(b, "%s\"%s\"", i++ ? ", " : "", k);
    }
    if (i == 0)
        sb_puts(b, "none");
}

const json_t *node_operand(const NodeCtx *c, const char *def, const char **ret_key, NodeErr *e)
{
    const char *key = json_string_value(json_object_get(c->config, "input"));
    if (!key)
        key = def;
    *ret_key = key;
    if (strcmp(key, "$") == 0)
        return c->inputs;
    const json_t *v = node_get(c->inputs, key);
    if (!v) {
        StrBuf b = {0};
        key_list(&b, c->inputs);
        node_err(e, "InvalidInput",
                 "input \"%s\" is missing (the node's inputs are %s); set \"input\" in the "
                 "config or map an upstream output to it",
                 key, b.s);
        sb_free(&b);
    }
    return v;
}

json_t *node_output(const NodeCtx *c, const char *in_key, const char *fallback, json_t *result)
{
    const char *key = json_string_value(json_object_get(c->config, "output"));

    if (!key)
        key = strcmp(in_key, "$") == 0 ? fallback : in_key;
    if (!key && json_is_object(result))
        return result;
    json_t *out = json_object();
    json_object_set_new(out, key ? key : "result", result);
    return out;
}

static bool segment_index(const char *s, size_t n, size_t *ret)
{
    size_t v = 0;
    if (n == 0 || n > 9)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *ret = v;
    return true;
}

json_t *node_get(const json_t *v, const char *path)
{
    json_t *cur = (json_t *)v;

    /* A key that itself contains dots wins over the dotted walk. */
    if (json_is_object(cur) && strchr(path, '.') && json_object_get(cur, path))
        return json_object_get(cur, path);
    while (cur && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path), idx;
        if (json_is_object(cur))
            cur = json_object_getn(cur, path, n);
        else if (json_is_array(cur) && segment_index(path, n, &idx))
            cur = json_array_get(cur, idx);
        else
            return NULL;
        path += n + (dot ? 1 : 0);
    }
    return cur;
}

int node_set(json_t *obj, const char *path, json_t *value)
{
    const char *dot;

    while ((dot = strchr(path, '.'))) {
        json_t *next = json_object_getn(obj, path, (size_t)(dot - path));
        if (!next) {
            next = json_object();
            json_object_setn_new(obj, path, (size_t)(dot - path), next);
        }
        if (!json_is_object(next)) {
            json_decref(value);
            return -1;
        }
        obj = next;
        path = dot + 1;
    }
    return json_object_set_new(obj, path, value);
}

static int type_rank(const json_t *v)
{
    if (json_is_number(v))
        return 0;
    if (json_is_string(v))
        return 1;
    if (json_is_boolean(v))
        return 2;
    if (json_is_array(v))
        return 3;
    if (json_is_object(v))
        return 4;
    return 5; /* null or absent */
}

static int cmp_numbers(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return (x > y) - (x < y);
    }
    double x = json_number_value(a), y = json_number_value(b);
    return (x > y) - (x < y);
}

static int cmp_strings(const json_t *a, const json_t *b)
{
    size_t la = json_string_length(a), lb = json_string_length(b);
    int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
    return c ? (c > 0) - (c < 0) : (la > lb) - (la < lb);
}

static int cmp_arrays(const json_t *a, const json_t *b)
{
    size_t la = json_array_size(a), lb = json_array_size(b);
    for (size_t i = 0; i < la && i < lb; i++) {
        int c = node_compare(json_array_get(a, i), json_array_get(b, i));
        if (c)
            return c;
    }
    return (la > lb) - (la < lb);
}

static int cmp_objects(const json_t *a, const json_t *b)
{
    _cleanup_free_ char *x = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
    _cleanup_free_ char *y = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    int c = strcmp(x ? x : "", y ? y : "");
    return (c > 0) - (c < 0);
}

int node_compare(const json_t *a, const json_t *b)
{
    int ra = type_rank(a), rb = type_rank(b);

    if (ra != rb)
        return (ra > rb) - (ra < rb);
    switch (ra) {
    case 0:
        return cmp_numbers(a, b);
    case 1:
        return cmp_strings(a, b);
    case 2:
        return json_is_true(a) - json_is_true(b);
    case 3:
        return cmp_arrays(a, b);
    case 4:
        return cmp_objects(a, b);
    default:
        return 0;
    }
}

bool node_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return cmp_numbers(a, b) == 0;
    if (!a || !b)
        return !a && !b;
    return json_equal((json_t *)a, (json_t *)b);
}

const char *node_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

void node_stable_sort(size_t *idx, size_t n, int (*cmp)(size_t a, size_t b, void *u), void *u)
{
    if (n < 2)
        return;
    size_t *tmp = xcalloc(n, sizeof(size_t));
    /* Bottom-up merge sort: runs of width w merged into tmp, then swapped. */
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = cmp(idx[j], idx[i], u) < 0 ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[k++] = idx[i++];
            while (j < hi)
                tmp[k++] = idx[j++];
        }
        memcpy(idx, tmp, n * sizeof(size_t));
    }
    free(tmp);
}
