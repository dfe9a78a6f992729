/* sort: orders the records of an input array by one or more fields, each
 * ascending or descending; stable, so equal records keep their order. */
#include <stdlib.h>
#include <string.h>

#include "server/nodes/node-internal.h"

static const char *const orders[] = {"asc", "desc", NULL};
static const char *const types[] = {"auto", "number", "string", NULL};
enum { TYPE_AUTO, TYPE_NUMBER, TYPE_STRING };

typedef struct SortKey {
    const char *field;
    bool desc;
    int type;
} SortKey;

static void check_key(const json_t *k, const char *path, Diags *d)
{
    static const char *const keys[] = {"field", "order", "type", NULL};
    char p[512];

    if (json_is_string(k)) {
        node_check_field(k, path, d);
        return;
    }
    if (!json_is_object(k)) {
        diags_add(d, path,
                  "a sort key is a field name or {\"field\": ..., \"order\": \"asc\"|\"desc\", "
                  "\"type\": \"auto\"|\"number\"|\"string\"}");
        return;
    }
    node_check_keys(k, path, keys, d);
    node_check_field(json_object_get(k, "field"), node_subpath(p, sizeof(p), path, ".field"), d);
    node_check_enum(k, "order", path, orders, 0, d);
    node_check_enum(k, "type", path, types, TYPE_AUTO, d);
}

static void sort_check(const json_t *config, const char *path, Diags *d)
{
    static const char *const keys[] = {"input", "output", "by", NULL};
    const json_t *by = json_object_get(config, "by");
    char p[512];
    size_t i;
    json_t *k;

    node_check_keys(config, path, keys, d);
    node_check_io(config, path, false, d);
    if (json_is_string(by)) {
        node_check_field(by, node_subpath(p, sizeof(p), path, ".by"), d);
        return;
    }
    if (!json_is_array(by) || json_array_size(by) == 0 || json_array_size(by) > NODE_MAX_FIELDS) {
        diags_add(d, node_subpath(p, sizeof(p), path, ".by"),
                  "a sort node needs \"by\": a field name or an array of 1 to %d sort keys", NODE_MAX_FIELDS);
        return;
    }
    json_array_foreach ((json_t *)by, i, k)
        check_key(k, node_subpath(p, sizeof(p), path, ".by[%zu]", i), d);
}

typedef struct SortCtx {
    const json_t *records;
    SortKey *keys;
    size_t n_keys;
    json_t **coerced; /* per record and key, for typed keys; NULL when auto */
} SortCtx;

/* A typed key compares numbers as numbers and strings as strings, whatever
 * the JSON type: "42" sorts as 42 for "number". Values that do not convert
 * sort last, like null. */
static json_t *coerce(const json_t *v, int type)
{
    char buf[64], *end;

    if (type == TYPE_NUMBER && json_is_string(v)) {
        double d = strtod(json_string_value(v), &end);
        return end != json_string_value(v) && *end == '\0' ? json_real(d) : json_null();
    }
    if (type == TYPE_NUMBER)
        return json_is_number(v) ? json_incref((json_t *)v) : json_null();
    if (json_is_string(v))
        return json_incref((json_t *)v);
    if (json_is_integer(v))
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
    else
        return json_null();
    return json_string(buf);
}

static const json_t *key_value(const SortCtx *s, size_t rec, size_t k)
{
    if (s->keys[k].type != TYPE_AUTO)
        return s->coerced[rec * s->n_keys + k];
    return node_get(json_array_get(s->records, rec), s->keys[k].field);
}

static int by_keys(size_t a, size_t b, void *u)
{
    const SortCtx *s = u;

    for (size_t k = 0; k < s->n_keys; k++) {
        const json_t *x = key_value(s, a, k), *y = key_value(s, b, k);
        bool xnull = !x || json_is_null(x), ynull = !y || json_is_null(y);
        /* Missing and null values sort last in both directions. */
        if (xnull || ynull) {
            if (xnull != ynull)
                return xnull ? 1 : -1;
            continue;
        }
        int c = node_compare(x, y);
        if (c)
            return s->keys[k].desc ? -c : c;
    }
    return 0;
}

static size_t parse_keys(const json_t *by, SortKey *keys)
{
    if (json_is_string(by)) {
        keys[0] = (SortKey){.field = json_string_value(by)};
        return 1;
    }
    size_t i;
    json_t *k;
    json_array_foreach ((json_t *)by, i, k) {
        if (json_is_string(k))
            keys[i] = (SortKey){.field = json_string_value(k)};
        else
            keys[i] = (SortKey){
                .field = json_string_value(json_object_get(k, "field")),
                .desc = node_check_enum(k, "order", "", orders, 0, NULL) == 1,
                .type = node_check_enum(k, "type", "", types, TYPE_AUTO, NULL),
            };
    }
    return json_array_size(by);
}

static void coerce_all(SortCtx *s, size_t n)
{
    bool typed = false;
    for (size_t k = 0; k < s->n_keys; k++)
        typed |= s->keys[k].type != TYPE_AUTO;
    if (!typed)
        return;
    s->coerced = xcalloc(n * s->n_keys, sizeof(json_t *));
    for (size_t r = 0; r < n; r++)
        for (size_t k = 0; k < s->n_keys; k++)
            if (s->keys[k].type != TYPE_AUTO)
                s->coerced[r * s->n_keys + k] =
                    coerce(node_get(json_array_get(s->records, r), s->keys[k].field), s->keys[k].type);
}

static int sort_run(const NodeCtx *c, json_t **ret, NodeErr *e)
{
    const char *key;
    const json_t *in = node_operand(c, "records", &key, e);
    const json_t *by = json_object_get(c->config, "by");
    SortKey keys[NODE_MAX_FIELDS];

    if (!in)
        return -1;
    if (!json_is_array(in))
        return node_err(e, "InvalidInput", "input \"%s\" is %s; sort needs an array of records", key,
                        node_type_name(in));
    if (!json_is_string(by) && (!json_is_array(by) || json_array_size(by) > NODE_MAX_FIELDS))
        return node_err(e, "InvalidInput", "config \"by\" is not a list of sort keys");
    size_t n = json_array_size(in);
    SortCtx s = {.records = in, .keys = keys, .n_keys = parse_keys(by, keys)};
    size_t *idx = xcalloc(n ? n : 1, sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    coerce_all(&s, n);
    node_stable_sort(idx, n, by_keys, &s);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(out, json_array_get(in, idx[i]));
    for (size_t i = 0; s.coerced && i < n * s.n_keys; i++)
        json_decref(s.coerced[i]);
    free(s.coerced);
    free(idx);
    *ret = node_output(c, key, NULL, out);
    return 0;
}

static int sort_main(void) { return node_main(sort_run); }

const NodeKind node_kind_sort = {
    .name = "sort",
    .summary = "orders records by one or more fields, ascending or descending (stable)",
    .check = sort_check,
    .builtin = sort_main,
    .profile = SBX_PROFILE_COMPUTE,
};
