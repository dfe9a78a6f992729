#include "server/engine/eng-data.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static json_t *path_step(const json_t *v, const char *seg, size_t len)
{
    char key[513];

    if (len >= sizeof(key))
        return NULL;
    memcpy(key, seg, len);
    key[len] = '\0';
    if (json_is_object(v))
        return json_object_get(v, key);
    if (json_is_array(v)) {
        char *end;
        unsigned long idx = strtoul(key, &end, 10);
        if (*key < '0' || *key > '9' || *end)
            return NULL;
        return json_array_get(v, idx);
    }
    return NULL;
}

json_t *eng_path_get(const json_t *v, const char *path)
{
    const char *seg = path;

    while (v) {
        const char *dot = strchr(seg, '.');
        size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
        v = path_step(v, seg, len);
        if (!dot)
            return (json_t *)v;
        seg = dot + 1;
    }
    return NULL;
}

static char *key_list(const json_t *obj)
{
    StrBuf b = {0};
    const char *key;
    json_t *val;
    size_t n = 0;

    if (!json_is_object(obj))
        return xstrdup("it is not an object");
    json_object_foreach ((json_t *)obj, key, val) {
        if (n++ == 10) {
            sb_puts(&b, ", ...");
            break;
        }
        sb_printf(&b, "%s%s", n > 1 ? ", " : "", key);
    }
    if (!b.s)
        return xstrdup("it has no keys");
    char *text = xasprintf("its keys are: %s", b.s);
    sb_free(&b);
    return text;
}

static int apply_conn(const EngWorkflow *wf, const EngConn *c, const json_t *src, json_t *in, char **ret_err)
{
    const char *key;
    json_t *val;

    if (c->n_maps == 0) {
        json_object_foreach ((json_t *)src, key, val)
            json_object_set(in, key, val);
        return 0;
    }
    for (size_t m = 0; m < c->n_maps; m++) {
        json_t *v = eng_path_get(src, c->maps[m].src_path);
        if (!v) {
            _cleanup_free_ char *keys = key_list(src);
            *ret_err =
                xasprintf("connection %s -> %s: the output of \"%s\" has no \"%s\" (%s); fix the mapping or "
                          "the upstream node",
                          wf->nodes[c->from].id, wf->nodes[c->to].id, wf->nodes[c->from].id, c->maps[m].src_path, keys);
            return -ENOENT;
        }
        json_object_set(in, c->maps[m].dst_key, v);
    }
    return 0;
}

json_t *eng_assemble_inputs(const EngWorkflow *wf, uint32_t ni, EngOutputFn output_of, const void *ctx,
                            const json_t *run_inputs, char **ret_err)
{
    const EngNode *n = &wf->nodes[ni];
    const json_t *params = json_object_get(n->config, "params");
    json_t *in = json_is_object(params) ? json_deep_copy(params) : json_object();

    for (size_t k = 0; k < n->n_in; k++) {
        const EngConn *c = &wf->conns[n->in[k]];
        const json_t *src = output_of(ctx, n->in[k]);
        if (!src)
            continue;
        if (apply_conn(wf, c, src, in, ret_err) < 0) {
            json_decref(in);
            return NULL;
        }
    }
    if (json_is_object(run_inputs))
        json_object_update(in, (json_t *)run_inputs);
    return in;
}

void eng_check_run_inputs(const EngWorkflow *wf, const json_t *inputs, Diags *d)
{
    const char *key;
    json_t *val;
    char path[160];

    if (!inputs)
        return;
    if (!json_is_object(inputs)) {
        diags_add(d, "inputs", "must be a JSON object keyed by node id");
        return;
    }
    json_object_foreach ((json_t *)inputs, key, val) {
        snprintf(path, sizeof(path), "inputs.%.128s", key);
        if (eng_workflow_find(wf, key) < 0)
            diags_add(d, path, "there is no node \"%.64s\" in the workflow; run inputs are keyed by node id", key);
        else if (!json_is_object(val))
            diags_add(d, path, "must be an object of input values for node \"%.64s\"", key);
    }
}
