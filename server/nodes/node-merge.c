/* merge: combines its inputs. "object" merges the objects found under the
 * listed inputs (later ones win; "deep" merges nested objects too), or
 * passes every input through when no keys are listed. "concat" joins the
 * arrays under the listed inputs into one. Inputs that are absent are
 * skipped: merge is the join point after a switch, where only the taken
 * branch delivers. */
#include <string.h>

#include "server/nodes/node-internal.h"

static const char *const modes[] = {"object", "concat", NULL};
enum { MERGE_OBJECT, MERGE_CONCAT };

static void merge_check(const json_t *config, const char *path, Diags *d)
{
    static const char *const keys[] = {"mode", "keys", "output", "deep", NULL};
    const json_t *list = json_object_get(config, "keys");
    char p[512];
    size_t i;
    json_t *k;

    node_check_keys(config, path, keys, d);
    int mode = node_check_enum(config, "mode", path, modes, MERGE_OBJECT, d);
    node_check_bool(config, "deep", path, false, d);
    const char *out = node_check_string(config, "output", path, NULL, d);
    if (out && mode == MERGE_OBJECT)
        diags_add(d, node_subpath(p, sizeof(p), path, ".output"), "only \"concat\" puts its result under a key");
    if (json_object_get(config, "deep") && mode == MERGE_CONCAT)
        diags_add(d, node_subpath(p, sizeof(p), path, ".deep"), "only applies to \"object\" merges");
    node_subpath(p, sizeof(p), path, ".keys");
    if (!list) {
        if (mode == MERGE_CONCAT)
            diags_add(d, p, "a concat merge needs \"keys\": the inputs whose arrays are joined, in order");
        return;
    }
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > NODE_MAX_FIELDS) {
        diags_add(d, p, "must be an array of 1 to %d input names", NODE_MAX_FIELDS);
        return;
    }
    json_array_foreach ((json_t *)list, i, k)
        if (!json_is_string(k) || json_string_length(k) == 0)
            diags_add(d, node_subpath(p, sizeof(p), path, ".keys[%zu]", i), "must be an input name");
}

static void deep_update(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;

    json_object_foreach ((json_t *)src, k, v) {
        json_t *cur = json_object_get(dst, k);
        if (json_is_object(cur) && json_is_object(v)) {
            json_t *copy = json_copy(cur);
            deep_update(copy, v);
            json_object_set_new(dst, k, copy);
        } else
            json_object_set(dst, k, v);
    }
}

static int merge_objects(const NodeCtx *c, json_t **ret, NodeErr *e)
{
    const json_t *list = json_object_get(c->config, "keys");
    bool deep = json_is_true(json_object_get(c->config, "deep"));
    size_t i;
    json_t *k;

    if (!list) {
        *ret = json_copy((json_t *)c->inputs);
        return 0;
    }
    json_t *out = json_object();
    json_array_foreach ((json_t *)list, i, k) {
        const json_t *v = json_object_get(c->inputs, json_string_value(k));
        if (!v || json_is_null(v))
            continue;
        if (!json_is_object(v)) {
            json_decref(out);
            return node_err(e, "InvalidInput", "input \"%s\" is %s; an object merge needs objects",
                            json_string_value(k), node_type_name(v));
        }
        if (deep)
            deep_update(out, v);
        else
            json_object_update(out, (json_t *)v);
    }
    *ret = out;
    return 0;
}

static int merge_arrays(const NodeCtx *c, json_t **ret, NodeErr *e)
{
    const char *okey = json_string_value(json_object_get(c->config, "output"));
    size_t i;
    json_t *k;

    json_t *all = json_array();
    json_array_foreach (json_object_get(c->config, "keys"), i, k) {
        const json_t *v = json_object_get(c->inputs, json_string_value(k));
        if (!v || json_is_null(v))
            continue;
        if (!json_is_array(v)) {
            json_decref(all);
            return node_err(e, "InvalidInput", "input \"%s\" is %s; a concat merge needs arrays", json_string_value(k),
                            node_type_name(v));
        }
        json_array_extend(all, (json_t *)v);
    }
    *ret = json_pack("{s:o}", okey ? okey : "records", all);
    return 0;
}

static int merge_run(const NodeCtx *c, json_t **ret, NodeErr *e)
{
    if (node_check_enum(c->config, "mode", "", modes, MERGE_OBJECT, NULL) == MERGE_CONCAT)
        return merge_arrays(c, ret, e);
    return merge_objects(c, ret, e);
}

static int merge_main(void) { return node_main(merge_run); }

const NodeKind node_kind_merge = {
    .name = "merge",
    .summary = "combines its inputs: objects merged, or arrays concatenated; the join point after a switch",
    .check = merge_check,
    .builtin = merge_main,
    .profile = SBX_PROFILE_COMPUTE,
};
