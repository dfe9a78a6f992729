/* select: picks (and renames) fields of each record of an input array, or
 * of one object. */
#include <string.h>

#include "server/nodes/node-internal.h"

static const char *const missing_modes[] = {"skip", "null", "error", NULL};
enum { MISSING_SKIP, MISSING_NULL, MISSING_ERROR };

static void check_list(const json_t *list, const char *path, Diags *d)
{
    char p[512];
    size_t i;
    json_t *v;

    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > NODE_MAX_FIELDS) {
        diags_add(d, path, "must be an array of 1 to %d field names", NODE_MAX_FIELDS);
        return;
    }
    json_array_foreach ((json_t *)list, i, v)
        node_check_field(v, node_subpath(p, sizeof(p), path, "[%zu]", i), d);
}

static void select_check(const json_t *config, const char *path, Diags *d)
{
    static const char *const keys[] = {"input", "output", "fields", "exclude", "missing", NULL};
    const json_t *fields = json_object_get(config, "fields"), *exclude = json_object_get(config, "exclude");
    char p[512];
    const char *k;
    json_t *v;

    node_check_keys(config, path, keys, d);
    node_check_io(config, path, true, d);
    node_check_enum(config, "missing", path, missing_modes, MISSING_SKIP, d);
    if (!fields == !exclude) {
        diags_add(d, path, "a select node needs either \"fields\" (what to keep) or \"exclude\" (what to drop)");
        return;
    }
    if (exclude)
        check_list(exclude, node_subpath(p, sizeof(p), path, ".exclude"), d);
    else if (json_is_object(fields)) {
        if (json_object_size(fields) == 0 || json_object_size(fields) > NODE_MAX_FIELDS)
            diags_add(d, node_subpath(p, sizeof(p), path, ".fields"), "must map 1 to %d output names to fields",
                      NODE_MAX_FIELDS);
        json_object_foreach ((json_t *)fields, k, v)
            node_check_field(v, node_subpath(p, sizeof(p), path, ".fields.%s", k), d);
    } else
        check_list(fields, node_subpath(p, sizeof(p), path, ".fields"), d);
}

static const char *last_segment(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

static int pick(const json_t *config, const json_t *rec, const char *where, json_t **ret, NodeErr *e)
{
    const json_t *fields = json_object_get(config, "fields");
    int missing = node_check_enum(config, "missing", "", missing_modes, MISSING_SKIP, NULL);
    json_t *out = json_object();
    const char *name;
    size_t n = json_is_object(fields) ? json_object_size(fields) : json_array_size(fields);
    void *iter = json_is_object(fields) ? json_object_iter((json_t *)fields) : NULL;
    for (size_t i = 0; i < n; i++) {
        const char *path;
        if (iter) {
            name = json_object_iter_key(iter);
            path = json_string_value(json_object_iter_value(iter));
            iter = json_object_iter_next((json_t *)fields, iter);
        } else {
            path = json_string_value(json_array_get(fields, i));
            name = last_segment(path);
        }
        json_t *v = node_get(rec, path);
        if (v)
            json_object_set(out, name, v);
        else if (missing == MISSING_NULL)
            json_object_set_new(out, name, json_null());
        else if (missing == MISSING_ERROR) {
            json_decref(out);
            return node_err(e, "InvalidInput", "%s has no field \"%s\"", where, path);
        }
    }
    *ret = out;
    return 0;
}

static int drop(const json_t *config, const json_t *rec, json_t **ret)
{
    json_t *out = json_deep_copy(rec);
    size_t i;
    json_t *f;

    json_array_foreach (json_object_get(config, "exclude"), i, f) {
        const char *path = json_string_value(f), *dot = strrchr(path, '.');
        json_t *parent = dot ? node_get(out, strndupa(path, (size_t)(dot - path))) : out;
        if (json_is_object(parent))
            json_object_del(parent, dot ? dot + 1 : path);
    }
    *ret = out;
    return 0;
}

static int shape(const json_t *config, const json_t *rec, const char *where, json_t **ret, NodeErr *e)
{
    if (!json_is_object(rec))
        return node_err(e, "InvalidInput", "%s is %s, not an object", where, node_type_name(rec));
    if (json_object_get(config, "exclude"))
        return drop(config, rec, ret);
    return pick(config, rec, where, ret, e);
}

static int select_run(const NodeCtx *c, json_t **ret, NodeErr *e)
{
    const char *key;
    const json_t *in = node_operand(c, "records", &key, e);
    char where[320];
    json_t *one, *rec;
    size_t i;

    if (!in)
        return -1;
    if (!json_is_array(in)) {
        if (shape(c->config, in, strcmp(key, "$") ? key : "the input", &one, e) < 0)
            return -1;
        *ret = node_output(c, key, NULL, one);
        return 0;
    }
    json_t *out = json_array();
    json_array_foreach ((json_t *)in, i, rec) {
        snprintf(where, sizeof(where), "%s[%zu]", key, i);
        if (shape(c->config, rec, where, &one, e) < 0) {
            json_decref(out);
            return -1;
        }
        json_array_append_new(out, one);
    }
    *ret = node_output(c, key, NULL, out);
    return 0;
}

static int select_main(void) { return node_main(select_run); }

const NodeKind node_kind_select = {
    .name = "select",
    .summary = "picks or renames fields of each record (or of an object), or drops some",
    .check = select_check,
    .builtin = select_main,
    .profile = SBX_PROFILE_COMPUTE,
};
