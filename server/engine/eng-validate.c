/* Per-node and per-connection checks. Each check adds diagnostics with the
 * field's path and keeps going, so that one ValidateWorkflow call reports
 * every problem. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "server/engine/eng-workflow.h"

#define PATH(buf, ...) (snprintf(buf, sizeof(buf), __VA_ARGS__), buf)

static bool valid_id(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > 128)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return false;
    return true;
}

/* Paths are formatted only when a problem is reported: a 100,000-node
 * workflow is mostly valid, and formatting every field's path would cost
 * more than checking it. */
typedef struct LazyPath {
    size_t node;
    const char *field;
    char buf[96];
} LazyPath;

static const char *lp(LazyPath *p)
{
    snprintf(p->buf, sizeof(p->buf), "nodes[%zu].%s", p->node, p->field);
    return p->buf;
}

/* Parses a JSON object field; "" means an empty object. Every empty one
 * ("" or "{}", what most nodes have) is a new reference to `empty`: configs
 * and fallbacks are only read (or deep-copied), and an object of its own
 * would cost each node ~220 bytes of jansson allocations, the largest part of
 * a big workflow's model. */
static json_t *parse_object(const char *text, LazyPath *at, const EngLimits *lim, json_t *empty, Diags *d)
{
    json_error_t jerr;

    if (!text || !*text || strcmp(text, "{}") == 0)
        return json_incref(empty);
    if (strlen(text) > lim->max_json_bytes) {
        diags_add(d, lp(at), "is %zu bytes, more than the limit of %zu", strlen(text), lim->max_json_bytes);
        return NULL;
    }
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        diags_add(d, lp(at), "is not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(v)) {
        diags_add(d, lp(at), "must be a JSON object");
        json_decref(v);
        return NULL;
    }
    if (json_depth(v) > lim->max_json_depth) {
        diags_add(d, lp(at), "is nested deeper than the limit of %zu levels", lim->max_json_depth);
        json_decref(v);
        return NULL;
    }
    return v;
}

static void build_kind(const Flowd__V1__Node *pb, size_t i, const EngLimits *lim, EngNode *n, json_t *empty, Diags *d)
{
    char path[64];

    if (!pb->kind || !*pb->kind) {
        diags_add(d, PATH(path, "nodes[%zu].kind", i), "a node needs a \"kind\", e.g. \"python\" or \"noop\"");
    } else if (!(n->kind = nodes_find(pb->kind))) {
        const char *hint = nodes_suggest(pb->kind);
        diags_add(d, PATH(path, "nodes[%zu].kind", i), "unknown kind \"%.64s\"%s%s%s; GetServerInfo lists the kinds",
                  pb->kind, hint ? " (did you mean \"" : "", hint ? hint : "", hint ? "\"?)" : "");
    }
    LazyPath at = {i, "config", ""};
    n->config = parse_object(pb->config_json, &at, lim, empty, d);
    if (!n->config)
        n->config = json_incref(empty);
    else if (n->kind && n->kind->check)
        n->kind->check(n->config, lp(&at), d);
    const json_t *params = json_object_get(n->config, "params");
    if (params && !json_is_object(params))
        diags_add(d, PATH(path, "nodes[%zu].config.params", i), "must be an object of default inputs");
}

static uint32_t ceiling(uint32_t asked, uint32_t def, uint32_t max, size_t i, const char *field, const char *unit,
                        Diags *d)
{
    if (max && asked > max) {
        LazyPath at = {i, field, ""};
        diags_add(d, lp(&at), "asks for %u %s, more than the quota's %u %s", asked, unit, max, unit);
    }
    return asked ? asked : (max && def > max ? max : def);
}

static void build_resources(const Flowd__V1__Node *pb, size_t i, const EngLimits *lim, EngNode *n, Diags *d)
{
    const Flowd__V1__Resources *r = pb->resources;
    char path[64];

    n->memory_mb =
        ceiling(r ? r->memory_mb : 0, lim->default_memory_mb, lim->max_memory_mb, i, "resources.memory_mb", "MiB", d);
    n->cpu_millis = ceiling(r ? r->cpu_millis : 0, lim->default_cpu_millis, lim->max_cpu_millis, i,
                            "resources.cpu_millis", "millicores", d);
    n->pids = ceiling(r ? r->pids : 0, lim->default_pids, lim->max_pids, i, "resources.pids", "processes", d);
    n->timeout_s =
        ceiling(pb->timeout_seconds, lim->default_timeout_s, lim->max_timeout_s, i, "timeout_seconds", "seconds", d);
    if (r && r->memory_mb && r->memory_mb < 8)
        diags_add(d, PATH(path, "nodes[%zu].resources.memory_mb", i), "must be at least 8 MiB");
    if (r && r->cpu_millis && r->cpu_millis < 10)
        diags_add(d, PATH(path, "nodes[%zu].resources.cpu_millis", i), "must be at least 10 millicores");
}

static void build_retry(const Flowd__V1__Node *pb, size_t i, EngNode *n, Diags *d)
{
    const Flowd__V1__RetryPolicy *r = pb->retry;
    char path[64];

    n->retry = (EngRetry){.max_attempts = 1, .initial_backoff_ms = 200, .multiplier = 2.0, .max_backoff_ms = 30000};
    if (!r)
        return;
    if (r->max_attempts > 100)
        diags_add(d, PATH(path, "nodes[%zu].retry.max_attempts", i), "must be at most 100");
    n->retry.max_attempts = r->max_attempts ? r->max_attempts : 1;
    if (r->initial_backoff_ms)
        n->retry.initial_backoff_ms = r->initial_backoff_ms;
    if (r->multiplier != 0.0 && !(r->multiplier >= 1.0 && r->multiplier <= 100.0))
        diags_add(d, PATH(path, "nodes[%zu].retry.multiplier", i), "must be >= 1 and <= 100");
    else if (r->multiplier != 0.0)
        n->retry.multiplier = r->multiplier;
    if (r->max_backoff_ms)
        n->retry.max_backoff_ms = r->max_backoff_ms;
    if (n->retry.max_backoff_ms < n->retry.initial_backoff_ms)
        diags_add(d, PATH(path, "nodes[%zu].retry.max_backoff_ms", i), "must be >= initial_backoff_ms (%u)",
                  n->retry.initial_backoff_ms);
    if (!(r->jitter >= 0.0 && r->jitter <= 1.0))
        diags_add(d, PATH(path, "nodes[%zu].retry.jitter", i), "must be between 0 and 1");
    else
        n->retry.jitter = r->jitter;
}

static void build_on_error(const Flowd__V1__Node *pb, size_t i, const EngLimits *lim, EngNode *n, json_t *empty,
                           Diags *d)
{
    char path[64];
    const char *s = pb->on_error && *pb->on_error ? pb->on_error : "fail";

    n->on_error = _ON_ERROR_MAX;
    for (int k = 0; k < _ON_ERROR_MAX; k++)
        if (strcmp(s, on_error_name((OnError)k)) == 0)
            n->on_error = (OnError)k;
    if (n->on_error == _ON_ERROR_MAX) {
        diags_add(d, PATH(path, "nodes[%zu].on_error", i), "\"%.64s\" is not one of fail, continue, fallback", s);
        n->on_error = ON_ERROR_FAIL;
    }
    bool has_fallback = pb->fallback_json && *pb->fallback_json;
    if (n->on_error == ON_ERROR_FALLBACK && !has_fallback)
        diags_add(d, PATH(path, "nodes[%zu].fallback", i), "on_error \"fallback\" needs a \"fallback\" object");
    else if (has_fallback && n->on_error != ON_ERROR_FALLBACK)
        diags_add(d, PATH(path, "nodes[%zu].fallback", i), "is only used with on_error \"fallback\"");
    else if (has_fallback) {
        LazyPath at = {i, "fallback", ""};
        n->fallback = parse_object(pb->fallback_json, &at, lim, empty, d);
    }
}

static void build_extras(const Flowd__V1__Node *pb, size_t i, EngNode *n, Arena *a, Diags *d)
{
    char path[64];

    n->secrets = arena_alloc(a, pb->n_secrets, sizeof(char *));
    for (size_t k = 0; k < pb->n_secrets; k++) {
        const char *s = pb->secrets[k];
        if (!valid_id(s) || strchr(s, '-'))
            diags_add(d, PATH(path, "nodes[%zu].secrets[%zu]", i, k), "\"%.64s\" is not a secret name ([A-Za-z0-9_])",
                      s);
        else
            n->secrets[n->n_secrets++] = arena_strdup(a, s);
    }
    n->circuit = arena_strdup(a, pb->circuit && *pb->circuit ? pb->circuit : NULL);
    if (pb->cache)
        n->cache_ttl_s = pb->cache->ttl_seconds;
    if (pb->batch && (pb->batch->size || (pb->batch->input && *pb->batch->input))) {
        if (!pb->batch->input || !*pb->batch->input)
            diags_add(d, PATH(path, "nodes[%zu].batch.input", i), "names the input key holding the array to split");
        if (pb->batch->size == 0)
            diags_add(d, PATH(path, "nodes[%zu].batch.size", i), "must be at least 1");
        n->batch_input = arena_strdup(a, pb->batch->input);
        n->batch_size = pb->batch->size;
    }
}

void eng_node_build(const Flowd__V1__Node *pb, size_t i, const EngLimits *lim, EngNode *n, Arena *a, json_t *empty,
                    Diags *d)
{
    char path[64];

    if (!pb->id || !*pb->id)
        diags_add(d, PATH(path, "nodes[%zu].id", i), "a node needs an \"id\"");
    else if (!valid_id(pb->id))
        diags_add(d, PATH(path, "nodes[%zu].id", i), "\"%.64s\" is not a valid id: use 1 to 128 of A-Z a-z 0-9 _ -",
                  pb->id);
    else
        n->id = arena_strdup(a, pb->id);
    build_kind(pb, i, lim, n, empty, d);
    build_resources(pb, i, lim, n, d);
    build_retry(pb, i, n, d);
    build_on_error(pb, i, lim, n, empty, d);
    build_extras(pb, i, n, a, d);
}

static bool valid_path(const char *p)
{
    if (!*p || *p == '.' || p[strlen(p) - 1] == '.' || strstr(p, ".."))
        return false;
    return strlen(p) <= 512;
}

/* A target key may be written by one connection only: two writers would make
 * the input depend on the order of completion. Checked per target node with a
 * map, so a node with a huge fan-in costs O(fan-in). */
static void check_collisions_of(const EngWorkflow *wf, const EngNode *to, size_t n_maps, Diags *d)
{
    StrMap seen;
    char path[96];

    strmap_init(&seen, n_maps);
    for (size_t k = 0; k < to->n_in; k++) {
        const EngConn *c = &wf->conns[to->in[k]];
        for (size_t m = 0; m < c->n_maps; m++) {
            uint32_t first;
            if (strmap_put(&seen, c->maps[m].dst_key, to->in[k]))
                continue;
            strmap_get(&seen, c->maps[m].dst_key, &first);
            diags_add(d, PATH(path, "connections[%u].mapping.%s", c->decl, c->maps[m].src_path),
                      "input \"%s\" of node \"%s\" is already mapped from node \"%s\"; map it once", c->maps[m].dst_key,
                      to->id, wf->nodes[wf->conns[first].from].id);
        }
    }
    strmap_free(&seen);
}

static size_t maps_into(const EngWorkflow *wf, const EngNode *to)
{
    size_t n = 0;
    for (size_t k = 0; k < to->n_in; k++)
        n += wf->conns[to->in[k]].n_maps;
    return n;
}

/* It takes two connections and two mappings to collide, so most nodes need
 * no map. */
void eng_check_collisions(const EngWorkflow *wf, Diags *d)
{
    for (size_t i = 0; i < wf->n_nodes; i++) {
        size_t n_maps = wf->nodes[i].n_in > 1 ? maps_into(wf, &wf->nodes[i]) : 0;
        if (n_maps > 1)
            check_collisions_of(wf, &wf->nodes[i], n_maps, d);
    }
}

/* Only a switch's connections have a port, and it must be one of the
 * switch's. The source node is read only then: most connections have none. */
static void check_port(const EngWorkflow *wf, const EngConn *c, Diags *d)
{
    char path[64];

    if (!*c->port)
        return;
    const EngNode *from = &wf->nodes[c->from];
    if (!from->kind || strcmp(from->kind->name, "switch") != 0)
        diags_add(d, PATH(path, "connections[%u].port", c->decl), "only connections from a switch node have a port");
    else if (!nodes_switch_has_port(from->config, c->port)) {
        const char *ports[16];
        size_t np = nodes_switch_ports(from->config, ports, 16);
        StrBuf b = {0};
        for (size_t i = 0; i < np && i < 16; i++)
            sb_printf(&b, "%s\"%s\"", i ? ", " : "", ports[i]);
        diags_add(d, PATH(path, "connections[%u].port", c->decl),
                  "switch \"%s\" has no port \"%.64s\"; its ports are %s", from->id, c->port, b.s ? b.s : "none");
        sb_free(&b);
    }
}

void eng_conn_build_mapping(EngWorkflow *wf, EngConn *c, const Flowd__V1__Connection *pb, Diags *d)
{
    char path[96];

    c->maps = arena_alloc(&wf->arena, pb->n_mapping, sizeof(EngMapping));
    for (size_t m = 0; m < pb->n_mapping; m++) {
        const char *src = pb->mapping[m]->key, *dst = pb->mapping[m]->value;
        PATH(path, "connections[%u].mapping.%.64s", c->decl, src);
        if (!valid_path(src))
            diags_add(d, path, "\"%.64s\" is not a dotted output path like \"result.items\"", src);
        else if (!dst || !*dst)
            diags_add(d, path, "needs a target input name");
        else
            c->maps[c->n_maps++] = (EngMapping){arena_strdup(&wf->arena, src), arena_strdup(&wf->arena, dst)};
    }
    check_port(wf, c, d);
}
