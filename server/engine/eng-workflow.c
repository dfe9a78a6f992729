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

/* Everything else of nodes and connections lives in wf->arena. */
EngWorkflow *eng_workflow_free(EngWorkflow *wf)
{
    if (!wf)
        return NULL;
    for (size_t i = 0; i < wf->n_nodes; i++) {
        json_decref(wf->nodes[i].config);
        json_decref(wf->nodes[i].fallback);
    }
    free(wf->nodes);
    free(wf->conns);
    free(wf->topo);
    free(wf->name);
    strmap_free(&wf->ids);
    arena_free(&wf->arena);
    free(wf);
    return NULL;
}

int eng_workflow_find(const EngWorkflow *wf, const char *id)
{
    uint32_t i;
    return strmap_get(&wf->ids, id, &i) ? (int)i : -1;
}

/* Defined in eng-validate.c. */
void eng_node_build(const Flowd__V1__Node *pb, size_t i, const EngLimits *lim, EngNode *n, Arena *a, json_t *empty,
                    Diags *d);
void eng_conn_build_mapping(EngWorkflow *wf, EngConn *c, const Flowd__V1__Connection *pb, Diags *d);
void eng_check_collisions(const EngWorkflow *wf, Diags *d);

/* The nodes' empty configs and fallbacks all share one object. */
static void build_nodes(const Flowd__V1__Workflow *pb, const EngLimits *lim, EngWorkflow *wf, Diags *d)
{
    json_t *empty = json_object();

    wf->nodes = xcalloc(pb->n_nodes, sizeof(EngNode));
    wf->n_nodes = pb->n_nodes;
    strmap_init(&wf->ids, pb->n_nodes);
    for (size_t i = 0; i < pb->n_nodes; i++) {
        EngNode *n = &wf->nodes[i];
        eng_node_build(pb->nodes[i], i, lim, n, &wf->arena, empty, d);
        if (!n->id || !*n->id || strmap_put(&wf->ids, n->id, (uint32_t)i))
            continue;
        uint32_t first;
        char path[48];
        strmap_get(&wf->ids, n->id, &first);
        snprintf(path, sizeof(path), "nodes[%zu].id", i);
        diags_add(d, path, "duplicate node id \"%s\" (first used by nodes[%u]); give each node its own id", n->id,
                  first);
    }
    json_decref(empty);
}

/* The node index of connections[conn].<what>, or -1. The path is formatted
 * only for a problem: most connections of a big workflow have none. */
static int resolve_end(const EngWorkflow *wf, const char *id, uint32_t hash, size_t conn, const char *what, Diags *d)
{
    uint32_t i;
    char path[64];

    if (id && *id && strmap_get_hashed(&wf->ids, id, hash, &i))
        return (int)i;
    snprintf(path, sizeof(path), "connections[%zu].%s", conn, what);
    if (!id || !*id)
        diags_add(d, path, "a connection needs \"%s\": the id of a node", what);
    else
        diags_add(d, path, "unknown node \"%.64s\"; it must be the id of a node in \"nodes\"", id);
    return -1;
}

/* Each end of a connection is an id lookup at a random slot of the map, and
 * a big workflow's map is not in cache: the ids of the connection AHEAD
 * places on are hashed, and their slots prefetched, before a lookup waits. */
#define AHEAD 16

typedef struct EndHashes {
    uint32_t from, to;
} EndHashes;

static uint32_t hash_id(const StrMap *ids, const char *id)
{
    if (!id || !*id)
        return 0;
    uint32_t h = strmap_hash(id);
    strmap_prefetch(ids, h);
    return h;
}

/* Fills ahead[conn % AHEAD], if there is such a connection. */
static void hash_ends(const Flowd__V1__Workflow *pb, const EngWorkflow *wf, size_t conn, EndHashes *ahead)
{
    if (conn >= pb->n_connections)
        return;
    const Flowd__V1__Connection *c = pb->connections[conn];
    ahead[conn % AHEAD] = (EndHashes){hash_id(&wf->ids, c->from), hash_id(&wf->ids, c->to)};
}

/* The connections grouped by one of their ends (compressed sparse rows):
 * node i's are list[at[i] .. at[i + 1]), in declaration order. Ordering
 * walks these compact arrays rather than the nodes. */
typedef struct ConnsByNode {
    uint32_t *at;   /* n_nodes + 1 entries */
    uint32_t *list; /* n_conns entries, in wf->arena: the nodes' lists */
} ConnsByNode;

static void alloc_rows(EngWorkflow *wf, ConnsByNode *g)
{
    g->at = xcalloc(wf->n_nodes + 1, sizeof(uint32_t));
    g->list = arena_alloc(&wf->arena, wf->n_conns, sizeof(uint32_t));
}

/* Turns per-node counts into where each node's range ends. */
static void end_rows(size_t n_nodes, uint32_t *at)
{
    for (size_t i = 1; i <= n_nodes; i++)
        at[i] += at[i - 1];
}

/* Every node's in and out lists, with two passes over the connections and
 * one over the nodes. */
static void link_nodes(EngWorkflow *wf, ConnsByNode *in, ConnsByNode *out)
{
    alloc_rows(wf, in);
    alloc_rows(wf, out);
    for (size_t i = 0; i < wf->n_conns; i++) {
        in->at[wf->conns[i].to]++;
        out->at[wf->conns[i].from]++;
    }
    end_rows(wf->n_nodes, in->at);
    end_rows(wf->n_nodes, out->at);
    /* Filling backwards keeps declaration order and leaves at[i] at node i's
     * first entry. */
    for (size_t i = wf->n_conns; i-- > 0;) {
        in->list[--in->at[wf->conns[i].to]] = (uint32_t)i;
        out->list[--out->at[wf->conns[i].from]] = (uint32_t)i;
    }
    for (size_t i = 0; i < wf->n_nodes; i++) {
        EngNode *n = &wf->nodes[i];
        n->in = in->list + in->at[i];
        n->n_in = in->at[i + 1] - in->at[i];
        n->out = out->list + out->at[i];
        n->n_out = out->at[i + 1] - out->at[i];
    }
}

/* Returns how many mappings the connections have. */
static size_t build_conns(const Flowd__V1__Workflow *pb, EngWorkflow *wf, Diags *d)
{
    size_t n_maps = 0;

    EndHashes ahead[AHEAD];

    wf->conns = xcalloc(pb->n_connections, sizeof(EngConn));
    for (size_t i = 0; i < AHEAD; i++)
        hash_ends(pb, wf, i, ahead);
    for (size_t i = 0; i < pb->n_connections; i++) {
        const Flowd__V1__Connection *c = pb->connections[i];
        EndHashes h = ahead[i % AHEAD];
        hash_ends(pb, wf, i + AHEAD, ahead);
        int from = resolve_end(wf, c->from, h.from, i, "from", d);
        int to = resolve_end(wf, c->to, h.to, i, "to", d);
        if (from < 0 || to < 0)
            continue;
        if (from == to) {
            char path[48];
            snprintf(path, sizeof(path), "connections[%zu]", i);
            diags_add(d, path, "node \"%.64s\" is connected to itself, which is a cycle", c->from);
            continue;
        }
        EngConn *ec = &wf->conns[wf->n_conns++];
        ec->from = (uint32_t)from;
        ec->to = (uint32_t)to;
        ec->decl = (uint32_t)i;
        ec->port = arena_strdup(&wf->arena, c->port ? c->port : "");
        eng_conn_build_mapping(wf, ec, c, d);
        n_maps += ec->n_maps;
    }
    return n_maps;
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

/* Kahn's algorithm. */
static void order_nodes(EngWorkflow *wf, const ConnsByNode *in, const ConnsByNode *out, Diags *d)
{
    uint32_t *indeg = xcalloc(wf->n_nodes, sizeof(uint32_t));
    size_t head = 0, tail = 0;

    wf->topo = xcalloc(wf->n_nodes, sizeof(uint32_t));
    for (size_t i = 0; i < wf->n_nodes; i++) {
        indeg[i] = in->at[i + 1] - in->at[i];
        if (indeg[i] == 0)
            wf->topo[tail++] = (uint32_t)i;
    }
    while (head < tail) {
        uint32_t from = wf->topo[head++];
        for (uint32_t k = out->at[from]; k < out->at[from + 1]; k++) {
            uint32_t to = wf->conns[out->list[k]].to;
            if (--indeg[to] == 0)
                wf->topo[tail++] = to;
        }
    }
    if (tail < wf->n_nodes)
        report_cycle(wf, indeg, d);
    free(indeg);
}

/* Connections, the nodes' in and out lists, then the dependency order. */
static void build_graph(const Flowd__V1__Workflow *pb, EngWorkflow *wf, Diags *d)
{
    ConnsByNode in, out;
    size_t n_maps = build_conns(pb, wf, d);

    link_nodes(wf, &in, &out);
    if (n_maps > 1) /* it takes two mappings to collide */
        eng_check_collisions(wf, d);
    order_nodes(wf, &in, &out, d);
    free(in.at);
    free(out.at);
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
    build_graph(pb, wf, d);
    if (d->len + d->dropped > before) {
        eng_workflow_free(wf);
        return -EINVAL;
    }
    *ret = wf;
    return 0;
}
