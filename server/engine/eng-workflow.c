/* Building the engine's workflow model from the message: nodes first (ids,
 * kinds, per-node fields, see eng-validate.c), then connections, then the
 * dependency order, which also finds cycles. */
#include "server/engine/eng-workflow.h"

#include <errno.h>
#include <string.h>

static const char *const on_error_names[_ON_ERROR_MAX] = {
    [ON_ERROR_FAIL] = "fail",
    [ON_ERROR_CONTINUE] = "continue",
    [ON_ERROR_FALLBACK] = "fallback",
};

const char *on_error_name(OnError e) { return e >= 0 && e < _ON_ERROR_MAX ? on_error_names[e] : "?"; }

void eng_limits_default(EngLimits *l)
{
    *l = (EngLimits){
        .max_nodes = 200000,
        .max_conns = 500000,
        .max_json_bytes = 4u << 20,
        .max_json_depth = 64,
        .default_memory_mb = 512,
        .default_cpu_millis = 1000,
        .default_pids = 64,
        .default_timeout_s = 300,
    };
}

size_t json_depth(const json_t *v)
{
    size_t max = 0;
    const char *key;
    json_t *child;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach ((json_t *)v, key, child) {
            size_t d = json_depth(child);
            max = d > max ? d : max;
        }
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, child) {
            size_t d = json_depth(child);
            max = d > max ? d : max;
        }
    }
    return max + 1;
}

static void node_clear(EngNode *n)
{
    free(n->id);
    json_decref(n->config);
    json_decref(n->fallback);
    for (size_t i = 0; i < n->n_secrets; i++)
        free(n->secrets[i]);
    free(n->secrets);
    free(n->circuit);
    free(n->batch_input);
    free(n->in);
    free(n->out);
}

static void conn_clear(EngConn *c)
{
    free(c->port);
    for (size_t i = 0; i < c->n_maps; i++) {
        free(c->maps[i].src_path);
        free(c->maps[i].dst_key);
    }
    free(c->maps);
}

EngWorkflow *eng_workflow_free(EngWorkflow *wf)
{
    if (!wf)
        return NULL;
    for (size_t i = 0; i < wf->n_nodes; i++)
        node_clear(&wf->nodes[i]);
    for (size_t i = 0; i < wf->n_conns; i++)
        conn_clear(&wf->conns[i]);
    free(wf->nodes);
    free(wf->conns);
    free(wf->topo);
    free(wf->name);
    strmap_free(&wf->ids);
    free(wf);
    return NULL;
}

int eng_workflow_find(const EngWorkflow *wf, const char *id)
{
    uint32_t i;
    return strmap_get(&wf->ids, id, &i) ? (int)i : -1;
}

/* Defined in eng-validate.c. */
void eng_node_build(const Flowd__V1__Node *pb, size_t i, const EngLimits *lim, EngNode *n, Diags *d);
void eng_conn_build_mapping(EngWorkflow *wf, EngConn *c, const Flowd__V1__Connection *pb, Diags *d);
void eng_check_collisions(const EngWorkflow *wf, Diags *d);

static void build_nodes(const Flowd__V1__Workflow *pb, const EngLimits *lim, EngWorkflow *wf, Diags *d)
{
    wf->nodes = xcalloc(pb->n_nodes, sizeof(EngNode));
    wf->n_nodes = pb->n_nodes;
    strmap_init(&wf->ids, pb->n_nodes);
    for (size_t i = 0; i < pb->n_nodes; i++) {
        EngNode *n = &wf->nodes[i];
        eng_node_build(pb->nodes[i], i, lim, n, d);
        if (!n->id || !*n->id)
            continue;
        uint32_t first;
        if (strmap_get(&wf->ids, n->id, &first)) {
            char path[48];
            snprintf(path, sizeof(path), "nodes[%zu].id", i);
            diags_add(d, path, "duplicate node id \"%s\" (first used by nodes[%u]); give each node its own id", n->id,
                      first);
        } else
            strmap_put(&wf->ids, n->id, (uint32_t)i);
    }
}

static int resolve_end(const EngWorkflow *wf, const char *id, const char *path, const char *what, Diags *d)
{
    int i = id && *id ? eng_workflow_find(wf, id) : -1;
    if (!id || !*id)
        diags_add(d, path, "a connection needs \"%s\": the id of a node", what);
    else if (i < 0)
        diags_add(d, path, "unknown node \"%.64s\"; it must be the id of a node in \"nodes\"", id);
    return i;
}

static void build_conns(const Flowd__V1__Workflow *pb, EngWorkflow *wf, Diags *d)
{
    size_t *n_in = xcalloc(wf->n_nodes, sizeof(size_t)), *n_out = xcalloc(wf->n_nodes, sizeof(size_t));

    wf->conns = xcalloc(pb->n_connections, sizeof(EngConn));
    for (size_t i = 0; i < pb->n_connections; i++) {
        const Flowd__V1__Connection *c = pb->connections[i];
        char path[64];
        snprintf(path, sizeof(path), "connections[%zu].from", i);
        int from = resolve_end(wf, c->from, path, "from", d);
        snprintf(path, sizeof(path), "connections[%zu].to", i);
        int to = resolve_end(wf, c->to, path, "to", d);
        if (from < 0 || to < 0)
            continue;
        if (from == to) {
            snprintf(path, sizeof(path), "connections[%zu]", i);
            diags_add(d, path, "node \"%.64s\" is connected to itself, which is a cycle", c->from);
            continue;
        }
        EngConn *ec = &wf->conns[wf->n_conns++];
        ec->from = (uint32_t)from;
        ec->to = (uint32_t)to;
        ec->decl = (uint32_t)i;
        ec->port = xstrdup(c->port ? c->port : "");
        eng_conn_build_mapping(wf, ec, c, d);
        n_in[to]++;
        n_out[from]++;
    }
    for (size_t i = 0; i < wf->n_nodes; i++) {
        wf->nodes[i].in = xcalloc(n_in[i], sizeof(uint32_t));
        wf->nodes[i].out = xcalloc(n_out[i], sizeof(uint32_t));
    }
    for (size_t i = 0; i < wf->n_conns; i++) {
        EngNode *from = &wf->nodes[wf->conns[i].from], *to = &wf->nodes[wf->conns[i].to];
        from->out[from->n_out++] = (uint32_t)i;
        to->in[to->n_in++] = (uint32_t)i;
    }
    free(n_in);
    free(n_out);
    eng_check_collisions(wf, d);
}

/* Follows edges among the nodes Kahn's algorithm could not order (each has an
 * unordered predecessor) backwards until a node repeats: that is a cycle. */
static void report_cycle(const EngWorkflow *wf, const uint32_t *indeg, Diags *d)
{
    size_t start = 0;
    while (start < wf->n_nodes && indeg[start] == 0)
        start++;
    if (start == wf->n_nodes)
        return;
    uint32_t *seen_at = xcalloc(wf->n_nodes, sizeof(uint32_t));
    uint32_t *path = xcalloc(wf->n_nodes + 1, sizeof(uint32_t));
    size_t len = 0;
    uint32_t cur = (uint32_t)start;
    while (!seen_at[cur]) {
        path[len++] = cur;
        seen_at[cur] = (uint32_t)len;
        const EngNode *n = &wf->nodes[cur];
        for (size_t k = 0; k < n->n_in; k++) {
            uint32_t p = wf->conns[n->in[k]].from;
            if (indeg[p] > 0) {
                cur = p;
                break;
            }
        }
    }
    /* path[seen_at[cur]-1 .. len-1] walks the cycle backwards. */
    StrBuf b = {0};
    for (size_t k = len; k-- > seen_at[cur] - 1;)
        sb_printf(&b, "%s -> ", wf->nodes[path[k]].id);
    sb_puts(&b, wf->nodes[path[len - 1]].id);
    diags_add(d, "connections", "the workflow has a cycle: %s; a workflow must be a directed acyclic graph", b.s);
    sb_free(&b);
    free(seen_at);
    free(path);
}

static void order_nodes(EngWorkflow *wf, Diags *d)
{
    uint32_t *indeg = xcalloc(wf->n_nodes, sizeof(uint32_t));
    size_t head = 0, tail = 0;

    wf->topo = xcalloc(wf->n_nodes, sizeof(uint32_t));
    for (size_t i = 0; i < wf->n_nodes; i++)
        indeg[i] = (uint32_t)wf->nodes[i].n_in;
    for (size_t i = 0; i < wf->n_nodes; i++)
        if (indeg[i] == 0)
            wf->topo[tail++] = (uint32_t)i;
    while (head < tail) {
        const EngNode *n = &wf->nodes[wf->topo[head++]];
        for (size_t k = 0; k < n->n_out; k++) {
            uint32_t to = wf->conns[n->out[k]].to;
            if (--indeg[to] == 0)
                wf->topo[tail++] = to;
        }
    }
    if (tail < wf->n_nodes)
        report_cycle(wf, indeg, d);
    free(indeg);
}

static void check_counts(const Flowd__V1__Workflow *pb, const EngLimits *lim, Diags *d)
{
    if (pb->n_nodes == 0)
        diags_add(d, "nodes", "a workflow needs at least one node");
    if (pb->n_nodes > lim->max_nodes)
        diags_add(d, "nodes", "%zu nodes is more than the limit of %zu; split the workflow", pb->n_nodes,
                  lim->max_nodes);
    if (pb->n_connections > lim->max_conns)
        diags_add(d, "connections", "%zu connections is more than the limit of %zu", pb->n_connections, lim->max_conns);
    if (pb->name && strlen(pb->name) > 256)
        diags_add(d, "name", "the name is longer than 256 characters");
}

int eng_workflow_build(const Flowd__V1__Workflow *pb, const EngLimits *lim, EngWorkflow **ret, Diags *d)
{
    size_t before = d->len + d->dropped;

    if (!pb) {
        diags_add(d, "workflow", "the request has no workflow");
        return -EINVAL;
    }
    check_counts(pb, lim, d);
    if (d->len + d->dropped > before)
        return -EINVAL;
    EngWorkflow *wf = xcalloc(1, sizeof(EngWorkflow));
    wf->name = xstrdup(pb->name && *pb->name ? pb->name : "unnamed");
    wf->timeout_s = pb->timeout_seconds;
    build_nodes(pb, lim, wf, d);
    build_conns(pb, wf, d);
    order_nodes(wf, d);
    if (d->len + d->dropped > before) {
        eng_workflow_free(wf);
        return -EINVAL;
    }
    *ret = wf;
    return 0;
}
