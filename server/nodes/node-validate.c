/* validate: checks required fields and field types on its input object, or
 * on each record of an input array, and passes its inputs on unchanged.
 * Every problem is named in one InvalidInput failure. */
#include <math.h>
#include <string.h>

#include "server/nodes/node-internal.h"

static const char *const type_names[] = {"string", "number", "integer", "boolean", "object", "array", "null", NULL};

static bool is_type_name(const json_t *v)
{
    for (size_t i = 0; json_is_string(v) && type_names[i]; i++)
        if (strcmp(json_string_value(v), type_names[i]) == 0)
            return true;
    return false;
}

static void check_type_spec(const json_t *spec, const char *path, Diags *d)
{
    size_t i;
    json_t *t;

    if (is_type_name(spec))
        return;
    if (json_is_array(spec) && json_array_size(spec) > 0) {
        json_array_foreach ((json_t *)spec, i, t)
            if (!is_type_name(t))
                break;
        if (i == json_array_size(spec))
            return;
    }
    diags_add(d, path,
              "must be a type (string, number, integer, boolean, object, array, null) or an array of "
              "them");
}

static void validate_check(const json_t *config, const char *path, Diags *d)
{
    static const char *const keys[] = {"input", "required", "types", "allow_extra", NULL};
    const json_t *req = json_object_get(config, "required"), *types = json_object_get(config, "types");
    char p[512];
    size_t i;
    const char *k;
    json_t *v;

    node_check_keys(config, path, keys, d);
    node_check_string(config, "input", path, NULL, d);
    node_check_bool(config, "allow_extra", path, true, d);
    if (!req && !types && !json_is_false(json_object_get(config, "allow_extra")))
        diags_add(d, path,
                  "a validate node needs \"required\" (fields that must be present) and/or \"types\" "
                  "(field -> type)");
    if (req && (!json_is_array(req) || json_array_size(req) > NODE_MAX_FIELDS))
        diags_add(d, node_subpath(p, sizeof(p), path, ".required"), "must be an array of at most %d field names",
                  NODE_MAX_FIELDS);
    else if (req)
        json_array_foreach ((json_t *)req, i, v)
            node_check_field(v, node_subpath(p, sizeof(p), path, ".required[%zu]", i), d);
    if (types && (!json_is_object(types) || json_object_size(types) > NODE_MAX_FIELDS))
        diags_add(d, node_subpath(p, sizeof(p), path, ".types"), "must be an object of at most %d field -> type",
                  NODE_MAX_FIELDS);
    else if (types)
        json_object_foreach ((json_t *)types, k, v)
            check_type_spec(v, node_subpath(p, sizeof(p), path, ".types.%s", k), d);
}

static bool has_type(const json_t *v, const char *t)
{
    if (strcmp(t, "number") == 0)
        return json_is_number(v);
    if (strcmp(t, "integer") == 0)
        return json_is_integer(v) || (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v));
    return strcmp(node_type_name(v), t) == 0 || (strcmp(t, "boolean") == 0 && json_is_boolean(v));
}

static bool matches(const json_t *v, const json_t *spec)
{
    size_t i;
    json_t *t;

    if (json_is_string(spec))
        return has_type(v, json_string_value(spec));
    json_array_foreach ((json_t *)spec, i, t)
        if (has_type(v, json_string_value(t)))
            return true;
    return false;
}

typedef struct Problems {
    StrBuf text;
    size_t n;
} Problems;

static void problem(Problems *p, const char *where, const char *fmt, const char *a, const char *b)
{
    if (p->n++ >= NODE_MAX_PROBLEMS)
        return;
    sb_printf(&p->text, "%s%s", p->n > 1 ? "; " : "", where);
    sb_printf(&p->text, fmt, a, b);
}

static void spec_text(StrBuf *b, const json_t *spec)
{
    size_t i;
    json_t *t;

    if (json_is_string(spec)) {
        sb_puts(b, json_string_value(spec));
        return;
    }
    json_array_foreach ((json_t *)spec, i, t)
        sb_printf(b, "%s%s", i ? " or " : "", json_string_value(t));
}

static bool top_key_known(const json_t *config, const char *key)
{
    size_t klen = strlen(key), i;
    const char *k;
    json_t *v;

    json_array_foreach (json_object_get(config, "required"), i, v)
        if (strncmp(json_string_value(v), key, klen) == 0 && strchr(".", json_string_value(v)[klen]))
            return true;
    json_object_foreach (json_object_get(config, "types"), k, v)
        if (strncmp(k, key, klen) == 0 && strchr(".", k[klen]))
            return true;
    return false;
}

static void check_one(const json_t *config, const json_t *rec, const char *where, Problems *p)
{
    size_t i;
    const char *k;
    json_t *v;

    if (!json_is_object(rec)) {
        problem(p, where, " is %s, not an object%s", node_type_name(rec), "");
        return;
    }
    json_array_foreach (json_object_get(config, "required"), i, v)
        if (!node_get(rec, json_string_value(v)))
            problem(p, where, ": \"%s\" is missing%s", json_string_value(v), "");
    json_object_foreach (json_object_get(config, "types"), k, v) {
        const json_t *val = node_get(rec, k);
        if (!val || matches(val, v))
            continue;
        StrBuf want = {0};
        spec_text(&want, v);
        char head[400];
        snprintf(head, sizeof(head), "%s: \"%s\" must be %s", where, k, want.s);
        problem(p, head, ", is %s%s", node_type_name(val), "");
        sb_free(&want);
    }
    if (!json_is_false(json_object_get(config, "allow_extra")))
        return;
    json_object_foreach ((json_t *)rec, k, v)
        if (!top_key_known(config, k))
            problem(p, where, ": unexpected field \"%s\"%s", k, "");
}

static int validate_run(const NodeCtx *c, json_t **ret, NodeErr *e)
{
    const char *key;
    const json_t *in = node_operand(c, "$", &key, e);
    Problems p = {0};
    char where[320];
    size_t i;
    json_t *rec;

    if (!in)
        return -1;
    if (json_is_array(in))
        json_array_foreach ((json_t *)in, i, rec) {
            snprintf(where, sizeof(where), "%s[%zu]", key, i);
            check_one(c->config, rec, where, &p);
        }
    else
        check_one(c->config, in, strcmp(key, "$") ? key : "input", &p);
    if (p.n) {
        if (p.n > NODE_MAX_PROBLEMS)
            sb_printf(&p.text, "; ... and %zu more", p.n - NODE_MAX_PROBLEMS);
        node_err(e, "InvalidInput", "%zu problem%s: %s", p.n, p.n == 1 ? "" : "s", p.text.s);
        sb_free(&p.text);
        return -1;
    }
    *ret = json_copy((json_t *)c->inputs);
    return 0;
}

static int validate_main(void) { return node_main(validate_run); }

const NodeKind node_kind_validate = {
    .name = "validate",
    .summary = "checks required fields and types (on an object or each record); fails with every problem",
    .check = validate_check,
    .builtin = validate_main,
    .profile = SBX_PROFILE_COMPUTE,
};
