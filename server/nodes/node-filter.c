/* filter: keeps the records of an input array that match its conditions
 * (all of them, or any). */
#include "server/nodes/node-internal.h"

static const char *const match_modes[] = {"all", "any", NULL};

static void filter_check(const json_t *config, const char *path, Diags *d)
{
    static const char *const keys[] = {"input", "output", "conditions", "match", NULL};
    const json_t *conds = json_object_get(config, "conditions");
    char p[512];
    size_t i;
    json_t *c;

    node_check_keys(config, path, keys, d);
    node_check_io(config, path, false, d);
    node_check_enum(config, "match", path, match_modes, 0, d);
    node_subpath(p, sizeof(p), path, ".conditions");
    if (!json_is_array(conds) || json_array_size(conds) == 0 || json_array_size(conds) > NODE_MAX_FIELDS) {
        diags_add(d, p,
                  "a filter node needs \"conditions\": an array of 1 to %d conditions like "
                  "{\"field\": \"amount\", \"op\": \">\", \"value\": 100}",
                  NODE_MAX_FIELDS);
        return;
    }
    json_array_foreach ((json_t *)conds, i, c)
        node_cond_check(c, node_subpath(p, sizeof(p), path, ".conditions[%zu]", i), d);
}

static bool keep(const json_t *conds, bool any, const json_t *rec)
{
    size_t i;
    json_t *c;

    json_array_foreach ((json_t *)conds, i, c)
        if (node_cond_eval(c, rec) == any)
            return any;
    return !any;
}

static int filter_run(const NodeCtx *c, json_t **ret, NodeErr *e)
{
    const char *key;
    const json_t *in = node_operand(c, "records", &key, e);
    const json_t *conds = json_object_get(c->config, "conditions");
    bool any = node_check_enum(c->config, "match", "", match_modes, 0, NULL) == 1;
    size_t i;
    json_t *rec;

    if (!in)
        return -1;
    if (!json_is_array(in))
        return node_err(e, "InvalidInput", "input \"%s\" is %s; filter needs an array of records", key,
                        node_type_name(in));
    json_t *out = json_array();
    json_array_foreach ((json_t *)in, i, rec)
        if (keep(conds, any, rec))
            json_array_append(out, rec);
    *ret = node_output(c, key, NULL, out);
    return 0;
}

static int filter_main(void) { return node_main(filter_run); }

const NodeKind node_kind_filter = {
    .name = "filter",
    .summary = "keeps the records that match conditions (field, op, value; all or any)",
    .check = filter_check,
    .builtin = filter_main,
    .profile = SBX_PROFILE_COMPUTE,
};
