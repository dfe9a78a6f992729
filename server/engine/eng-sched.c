/* The scheduler: ready nodes run in parallel up to max_workers attempts. Runs
 * with ready nodes sit in a round-robin ring and each turn of the ring starts
 * one attempt of one run, so one big run does not starve small ones. Every
 * operation is O(1) per node or edge. */
#include <errno.h>
#include <string.h>

#include "server/engine/eng-data.h"
#include "server/engine/eng-internal.h"

/* Two levels of round-robin, each a circular doubly-linked list: tenants
 * with ready nodes, and within a tenant its runs with ready nodes. */
#define RING_INSERT(head, x, flag)                                                                                     \
    do {                                                                                                               \
        if ((x)->flag)                                                                                                 \
            break;                                                                                                     \
        if (!(head)) {                                                                                                 \
            (x)->ring_next = (x)->ring_prev = (x);                                                                     \
            (head) = (x);                                                                                              \
        } else {                                                                                                       \
            (x)->ring_prev = (head)->ring_prev;                                                                        \
            (x)->ring_next = (head);                                                                                   \
            (head)->ring_prev->ring_next = (x);                                                                        \
            (head)->ring_prev = (x);                                                                                   \
        }                                                                                                              \
        (x)->flag = true;                                                                                              \
    } while (0)

#define RING_REMOVE(head, x, flag)                                                                                     \
    do {                                                                                                               \
        if (!(x)->flag)                                                                                                \
            break;                                                                                                     \
        if ((x)->ring_next == (x))                                                                                     \
            (head) = NULL;                                                                                             \
        else {                                                                                                         \
            (x)->ring_prev->ring_next = (x)->ring_next;                                                                \
            (x)->ring_next->ring_prev = (x)->ring_prev;                                                                \
            if ((head) == (x))                                                                                         \
                (head) = (x)->ring_next;                                                                               \
        }                                                                                                              \
        (x)->flag = false;                                                                                             \
    } while (0)

static bool tenant_has_room(const EngTenant *t)
{
    return !t->quota.max_running_nodes || t->running_nodes < t->quota.max_running_nodes;
}

/* Puts a tenant with ready runs back in the scheduling ring (after one of
 * its attempts ended, or a node became ready). */
void eng_tenant_wake(Engine *e, EngTenant *t)
{
    if (t->ring && tenant_has_room(t))
        RING_INSERT(e->tenant_ring, t, in_ring);
}

void eng_ready_push(Engine *e, EngRun *r, uint32_t ni)
{
    if (r->ns[ni].queued)
        return;
    r->ns[ni].queued = true;
    r->ready[(r->ready_head + r->ready_len++) % r->wf->n_nodes] = ni;
    if (!r->t)
        r->t = eng_tenant_get(e, r->tenant);
    RING_INSERT(r->t->ring, r, in_ring);
    eng_tenant_wake(e, r->t);
}

static bool ready_pop(EngRun *r, uint32_t *ret)
{
    while (r->ready_len > 0) {
        uint32_t ni = r->ready[r->ready_head];
        r->ready_head = (r->ready_head + 1) % r->wf->n_nodes;
        r->ready_len--;
        r->ns[ni].queued = false;
        if (r->ns[ni].status == NS_PENDING || (r->ns[ni].status == NS_RUNNING && r->ns[ni].batch)) {
            *ret = ni;
            return true;
        }
    }
    return false;
}

void eng_start_run(Engine *e, EngRun *r)
{
    r->status = RS_RUNNING;
    r->started_ns = now_unix_ns();
    eng_run_dirty(e, r);
    eng_emit(e, r, &(EngEventArgs){.type = EV(RUN_STARTED), .node = -1});
    uint32_t timeout = r->wf->timeout_s;
    if (timeout) {
        r->deadline_mono = now_mono_ns() + (uint64_t)timeout * 1000000000ull;
        eng_timer_add(e, r->deadline_mono, r->id, -1);
    }
    for (size_t i = 0; i < r->wf->n_nodes; i++)
        if (r->ns[i].status == NS_PENDING && r->ns[i].deps_left == 0)
            eng_ready_push(e, r, (uint32_t)i);
    eng_run_maybe_finish(e, r);
}

static uint64_t attempt_alloc(Engine *e, EngRun *r, uint32_t ni, int32_t chunk)
{
    uint32_t slot = e->free_attempts[--e->n_free_attempts];
    EngAttempt *a = &e->attempts[slot];

    a->run = r;
    a->node = ni;
    a->chunk = chunk;
    a->gen++;
    a->started_mono = now_mono_ns();
    return ((uint64_t)a->gen << 32) | slot;
}

static const char *const base_env[] = {
    "LANG=C.UTF-8", "PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1", "PYTHONIOENCODING=utf-8", "PYTHONUNBUFFERED=1",
};

static const char **build_env(Engine *e, const EngRun *r, const EngNode *n)
{
    size_t nb = ELEMENTSOF(base_env), k = 0;
    const char **env = xcalloc(nb + n->n_secrets + 1, sizeof(char *));

    for (size_t i = 0; i < nb; i++)
        env[k++] = xstrdup(base_env[i]);
    for (size_t i = 0; i < n->n_secrets && e->cfg.secret; i++) {
        const char *v = e->cfg.secret(r->tenant, n->secrets[i], e->cfg.secret_userdata);
        if (v)
            env[k++] = xasprintf("%s=%s", n->secrets[i], v);
    }
    return env;
}

static void push_spawn(Engine *e, const SbxRequest *req)
{
    if (e->n_spawns == e->spawns_cap) {
        e->spawns_cap = e->spawns_cap ? e->spawns_cap * 2 : 16;
        e->spawns = xrealloc(e->spawns, e->spawns_cap * sizeof(SbxRequest));
    }
    e->spawns[e->n_spawns++] = *req;
}

static void fill_limits(Engine *e, const EngNode *n, SbxLimits *l)
{
    *l = (SbxLimits){
        .memory_bytes = (uint64_t)n->memory_mb << 20,
        .cpu_millis = n->cpu_millis,
        .pids = n->pids,
        .timeout_ms = n->timeout_s * 1000u,
        .output_max_bytes = (uint64_t)(e->cfg.max_output_mb ? e->cfg.max_output_mb : 16) << 20,
    };
}

/* Queues the sandbox request for one attempt (or one batch chunk). */
/* prepared: what nodes_prepare() returned, or NULL; stolen. */
static uint64_t launch(Engine *e, EngRun *r, uint32_t ni, int32_t chunk, const json_t *inputs, json_t *prepared)
{
    const EngNode *n = &r->wf->nodes[ni];
    EngNodeState *ns = &r->ns[ni];
    json_t *envelope = json_pack("{s:s,s:i,s:O,s:O}", "node", n->id, "attempt", (int)ns->attempts, "config", n->config,
                                 "inputs", inputs);
    if (prepared)
        json_object_set_new(envelope, "prepared", prepared);
    SbxRequest req = {0};

    if (chunk >= 0)
        json_object_set_new(envelope, "chunk", json_integer(chunk));
    nodes_fill_request(n->kind, &req);
    char *text = json_dumps(envelope, JSON_COMPACT);
    json_decref(envelope);
    req.id = attempt_alloc(e, r, ni, chunk);
    req.input = text;
    req.input_len = strlen(text);
    req.env = build_env(e, r, n);
    fill_limits(e, n, &req.limits);
    r->n_running++;
    r->t->running_nodes++;
    e->running++;
    push_spawn(e, &req);
    return req.id;
}

/* Fails the attempt before anything runs: a mapping that does not resolve
 * (INVALID_INPUT) or an open circuit (CIRCUIT_OPEN). */
static void fail_now(Engine *e, EngRun *r, uint32_t ni, int kind, const char *msg)
{
    EngFailure f = {0};
    eng_failure_set(&f, kind, "%s", msg);
    eng_node_failed(e, r, ni, &f, NULL);
}

/* A cache hit: the node succeeds at once with the stored output. */
static bool try_cache(Engine *e, EngRun *r, uint32_t ni)
{
    const EngNode *n = &r->wf->nodes[ni];
    EngNodeState *ns = &r->ns[ni];

    if (!n->cache_ttl_s)
        return false;
    _cleanup_free_ char *key = eng_cache_key(n, ns->inputs);
    char *hit = eng_cache_lookup(e, key);
    json_t *out = hit ? json_loads(hit, 0, NULL) : NULL;
    if (!out) {
        free(hit);
        return false;
    }
    ns->cached = true;
    eng_node_succeeded(e, r, ni, out, hit, NULL);
    return true;
}

static void start_batch(Engine *e, EngRun *r, uint32_t ni)
{
    EngNodeState *ns = &r->ns[ni];
    _cleanup_free_ char *err = NULL;

    if (eng_batch_split(&r->wf->nodes[ni], ns->inputs, &ns->batch, &err) < 0) {
        fail_now(e, r, ni, FK(INVALID_INPUT), err);
        return;
    }
    eng_ready_push(e, r, ni);
}

/* Starts the next chunk of a running batch node; pushes the node again
 * while chunks remain, so chunks take workers like any other attempt. */
static void start_chunk(Engine *e, EngRun *r, uint32_t ni)
{
    EngBatch *b = r->ns[ni].batch;
    uint32_t c = b->next++;

    b->running++;
    b->attempt_ids[c] = launch(e, r, ni, (int32_t)c, b->inputs[c], NULL);
    if (b->next < b->n)
        eng_ready_push(e, r, ni);
}

/* A node's attempt begins: inputs are assembled, then the circuit, the
 * cache and batching decide what runs. */
static void start_node(Engine *e, EngRun *r, uint32_t ni)
{
    const EngNode *n = &r->wf->nodes[ni];
    EngNodeState *ns = &r->ns[ni];
    _cleanup_free_ char *err = NULL, *open_msg = NULL;

    if (ns->status == NS_RUNNING && ns->batch) {
        if (!ns->batch->failed && ns->batch->next < ns->batch->n)
            start_chunk(e, r, ni);
        return;
    }
    json_t *inputs = eng_assemble_inputs(r->wf, ni, eng_conn_output, r, json_object_get(r->inputs, n->id), &err);
    if (!ns->first_start_mono)
        ns->first_start_mono = now_mono_ns();
    ns->attempts++;
    ns->status = NS_RUNNING;
    json_decref(ns->inputs);
    ns->inputs = inputs;
    eng_node_dirty(e, r, ni);
    eng_emit(e, r, &(EngEventArgs){.type = EV(NODE_STARTED), .node = (int)ni, .attempt = ns->attempts});
    if (!inputs)
        fail_now(e, r, ni, FK(INVALID_INPUT), err);
    else if (try_cache(e, r, ni))
        return;
    else if (!eng_circuit_admit(e, r, ni, &open_msg))
        fail_now(e, r, ni, FK(CIRCUIT_OPEN), open_msg);
    else if (n->batch_size)
        start_batch(e, r, ni);
    else {
        json_t *prepared = NULL;
        _cleanup_free_ char *prep_err = NULL;
        if (nodes_prepare(n->kind, n->config, inputs, &prepared, &prep_err) < 0)
            fail_now(e, r, ni, FK(INVALID_INPUT), prep_err);
        else
            ns->attempt_id = launch(e, r, ni, -1, inputs, prepared);
    }
}

/* Starts one attempt of the next run of the next tenant, round-robin at
 * both levels, until the workers are busy or nothing is ready. */
void eng_schedule(Engine *e)
{
    while (e->tenant_ring && e->running < e->cfg.max_workers && e->n_free_attempts > 0) {
        EngTenant *t = e->tenant_ring;
        EngRun *r = t->ring;
        uint32_t ni;
        if (!r || !tenant_has_room(t)) {
            RING_REMOVE(e->tenant_ring, t, in_ring);
            continue;
        }
        if (r->cancelling || r->status != RS_RUNNING || !ready_pop(r, &ni)) {
            RING_REMOVE(t->ring, r, in_ring);
            continue;
        }
        start_node(e, r, ni);
        if (r->ready_len == 0)
            RING_REMOVE(t->ring, r, in_ring);
        else if (t->ring == r)
            t->ring = r->ring_next;
        if (e->tenant_ring == t)
            e->tenant_ring = t->ring_next;
    }
    atomic_store(&e->stat_running, e->running);
}

static void free_request(SbxRequest *req)
{
    free((char *)req->input);
    for (size_t i = 0; req->env && req->env[i]; i++)
        free((char *)req->env[i]);
    free((void *)req->env);
}

/* Started after the flush, so that NODE_STARTED is durable before the node
 * can have any effect. A spawn the sandbox refuses fails the attempt. */
void eng_spawn_all(Engine *e)
{
    for (size_t i = 0; i < e->n_spawns; i++) {
        SbxRequest *req = &e->spawns[i];
        e->attempts[(uint32_t)req->id].spawn_mono = now_mono_ns();
        int r = sbx_spawn(e->cfg.sbx, req);
        free_request(req);
        if (r < 0) {
            EngMsg *m = xcalloc(1, sizeof(EngMsg));
            m->type = MSG_SBX;
            m->sbx_type = SBX_EV_DONE;
            m->attempt_id = req->id;
            m->result.outcome = SBX_INTERNAL;
            m->result.message = xasprintf("the sandbox could not start the attempt: %s", strerror(-r));
            eng_post(e, m);
        }
    }
    e->n_spawns = 0;
}
