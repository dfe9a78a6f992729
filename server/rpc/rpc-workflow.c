/* flowd.v1.WorkflowService handlers (DESIGN.md §5). Each runs on a
 * completion-queue worker, checks what the caller may see, calls the engine
 * or reads the store, and answers with a message or a status whose text says
 * what was wrong and what to do. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "server/nodes/nodes.h"
#include "server/util/strmap.h"
#include "server/rpc/rpc-convert.h"
#include "server/rpc/rpc-internal.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 1000

/* Another tenant's run is NOT_FOUND: existence is not leaked. Admins see
 * every tenant. */
static const char *scope_tenant(const RpcCall *c)
{
    return rpc_caller_has(&c->caller, ROLE_ADMIN) ? NULL : c->caller.tenant;
}

static bool visible(const RpcCall *c, const StoreRun *r)
{
    const char *t = scope_tenant(c);
    return !t || strcmp(t, r->tenant) == 0;
}

static void fail_diags(RpcCall *c, const Diags *d, const char *what)
{
    _cleanup_free_ char *all = diags_join(d, "; ");
    rpc_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "%s: %s", what, all);
}

static const char *bad_utf8_node(const Flowd__V1__Node *n)
{
    if (!utf8_valid(n->id) || !utf8_valid(n->kind) || !utf8_valid(n->on_error) || !utf8_valid(n->circuit))
        return "a node's id, kind, on_error or circuit";
    for (size_t k = 0; k < n->n_secrets; k++)
        if (!utf8_valid(n->secrets[k]))
            return "a secret name";
    return NULL;
}

/* Names the first string of a workflow that is not valid UTF-8, or NULL.
 * protobuf-c accepts such strings, but other clients fail on them when they
 * come back (one bad run name would break a whole ListRuns page). */
static const char *bad_utf8_workflow(const Flowd__V1__Workflow *wf)
{
    const char *bad;

    if (!wf)
        return NULL;
    if (!utf8_valid(wf->name) || !utf8_valid(wf->description))
        return "the workflow's name or description";
    for (size_t i = 0; i < wf->n_nodes; i++)
        if ((bad = bad_utf8_node(wf->nodes[i])))
            return bad;
    for (size_t i = 0; i < wf->n_connections; i++) {
        const Flowd__V1__Connection *c = wf->connections[i];
        if (!utf8_valid(c->from) || !utf8_valid(c->to) || !utf8_valid(c->port))
            return "a connection's from, to or port";
        for (size_t m = 0; m < c->n_mapping; m++)
            if (!utf8_valid(c->mapping[m]->key) || !utf8_valid(c->mapping[m]->value))
                return "a connection's mapping";
    }
    return NULL;
}

static const char *bad_utf8_submit(const Flowd__V1__SubmitRunRequest *req)
{
    if (!utf8_valid(req->idempotency_key))
        return "idempotency_key";
    for (size_t i = 0; i < req->n_labels; i++)
        if (!utf8_valid(req->labels[i]->key) || !utf8_valid(req->labels[i]->value))
            return "a label";
    return bad_utf8_workflow(req->workflow);
}

static void validate_workflow(RpcCall *c, const ProtobufCMessage *m)
{
    const Flowd__V1__ValidateWorkflowRequest *req = (const void *)m;
    Flowd__V1__ValidateWorkflowResponse resp = FLOWD__V1__VALIDATE_WORKFLOW_RESPONSE__INIT;
    Diags d = {0};
    const char *bad = bad_utf8_workflow(req->workflow);

    if (bad) {
        rpc_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "%s is not valid UTF-8; protobuf strings must be", bad);
        return;
    }
    eng_validate(c->srv->cfg.engine, req->workflow, &c->caller.quota, &d);
    Flowd__V1__Diagnostic *items = calloc(d.len + 1, sizeof(*items));
    Flowd__V1__Diagnostic **ptrs = calloc(d.len + 1, sizeof(*ptrs));
    for (size_t i = 0; i < d.len; i++) {
        flowd__v1__diagnostic__init(&items[i]);
        items[i].path = d.items[i].path;
        items[i].message = d.items[i].message;
        ptrs[i] = &items[i];
    }
    resp.valid = d.len == 0 && d.dropped == 0;
    resp.n_diagnostics = d.len;
    resp.diagnostics = ptrs;
    rpc_reply(c, &resp.base);
    free(items);
    free(ptrs);
    diags_free(&d);
}

static char *labels_json(const Flowd__V1__SubmitRunRequest *req)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < req->n_labels; i++)
        json_object_set_new(obj, req->labels[i]->key, json_string(req->labels[i]->value));
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return s;
}

/* Submits; on failure answers the call and returns a negative errno. */
static int submit(RpcCall *c, const Flowd__V1__SubmitRunRequest *req, char **ret_id, bool *ret_dedup)
{
    Diags d = {0};
    const char *bad = bad_utf8_submit(req);

    if (bad) {
        rpc_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "%s is not valid UTF-8; protobuf strings must be", bad);
        return -EINVAL;
    }
    _cleanup_free_ char *labels = labels_json(req);
    EngSubmit s = {
        .workflow = req->workflow,
        .inputs_json = req->inputs_json,
        .idempotency_key = req->idempotency_key,
        .labels_json = labels,
        .caller = &c->caller.quota,
    };
    int r = eng_submit(c->srv->cfg.engine, &s, ret_id, ret_dedup, &d);
    if (r == -EINVAL)
        fail_diags(c, &d, "the workflow is invalid");
    else if (r == -EDQUOT)
        rpc_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED,
                 "tenant %s has as many queued runs as its quota allows; wait for some to finish", c->caller.tenant);
    else if (r == -ESHUTDOWN)
        rpc_fail(c, GRPC_STATUS_UNAVAILABLE, "flowd is shutting down and takes no new runs; retry shortly");
    else if (r < 0)
        rpc_fail(c, GRPC_STATUS_UNAVAILABLE, "the run could not be stored (%s); nothing was accepted, retry",
                 strerror(-r));
    diags_free(&d);
    return r;
}

static void submit_run(RpcCall *c, const ProtobufCMessage *m)
{
    Flowd__V1__SubmitRunResponse resp = FLOWD__V1__SUBMIT_RUN_RESPONSE__INIT;
    _cleanup_free_ char *id = NULL;
    bool dedup = false;

    if (submit(c, (const void *)m, &id, &dedup) < 0)
        return;
    rpc_set_run(c, id);
    resp.run_id = id;
    resp.deduplicated = dedup;
    rpc_reply(c, &resp.base);
}

static void execute_run(RpcCall *c, const ProtobufCMessage *m)
{
    _cleanup_free_ char *id = NULL;
    bool dedup = false;

    if (submit(c, (const void *)m, &id, &dedup) < 0)
        return;
    rpc_set_run(c, id);
    rpc_stream_run(c, id, 0);
}

/* Reads a run the caller may see; on failure answers the call. */
static int load_run(RpcCall *c, const char *id, StoreRun **ret, StoreNode **nodes, size_t *n)
{
    Store *s = c->srv->cfg.store;
    StoreNode *tmp_nodes = NULL;
    size_t tmp_n = 0;

    rpc_set_run(c, id);
    if (!id || !*id) {
        rpc_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "run_id is empty; pass the id SubmitRun returned");
        return -EINVAL;
    }
    int r = s->ops->run_get(s, id, ret, nodes ? nodes : &tmp_nodes, n ? n : &tmp_n);
    if (!nodes)
        store_nodes_free(tmp_nodes, tmp_n);
    if (r == 0 && !visible(c, *ret)) {
        store_runs_free(*ret, 1);
        if (nodes)
            store_nodes_free(*nodes, *n);
        r = -ENOENT;
    }
    if (r == -ENOENT)
        rpc_fail(c, GRPC_STATUS_NOT_FOUND, "run %s not found", id);
    else if (r < 0)
        rpc_fail(c, GRPC_STATUS_UNAVAILABLE, "cannot read run %s from the store: %s", id, strerror(-r));
    return r;
}

static void watch_run(RpcCall *c, const ProtobufCMessage *m)
{
    const Flowd__V1__WatchRunRequest *req = (const void *)m;
    StoreRun *run = NULL;

    if (load_run(c, req->run_id, &run, NULL, NULL) < 0)
        return;
    store_runs_free(run, 1);
    rpc_stream_run(c, req->run_id, req->after_seq);
}

/* The store keeps nodes by id; users read them in the order the workflow
 * declares them, which is usually the dependency order. */
static void order_nodes(const StoreRun *run, StoreNode *nodes, size_t n)
{
    if (n < 2)
        return;
    Flowd__V1__Workflow *wf = flowd__v1__workflow__unpack(NULL, run->workflow.len, run->workflow.data);
    if (!wf)
        return;
    StrMap pos;
    strmap_init(&pos, wf->n_nodes);
    for (size_t i = 0; i < wf->n_nodes; i++)
        strmap_put(&pos, wf->nodes[i]->id, (uint32_t)i);
    StoreNode *sorted = calloc(wf->n_nodes + n, sizeof(StoreNode));
    bool *filled = calloc(wf->n_nodes + n, sizeof(bool));
    size_t extra = wf->n_nodes;
    for (size_t j = 0; j < n; j++) {
        uint32_t i;
        size_t at = strmap_get(&pos, nodes[j].node_id, &i) && !filled[i] ? i : extra++;
        sorted[at] = nodes[j];
        filled[at] = true;
    }
    for (size_t i = 0, k = 0; i < wf->n_nodes + n; i++)
        if (filled[i])
            nodes[k++] = sorted[i];
    free(sorted);
    free(filled);
    strmap_free(&pos);
    flowd__v1__workflow__free_unpacked(wf, NULL);
}

static void reply_run(RpcCall *c, const char *id)
{
    StoreRun *run = NULL;
    StoreNode *nodes = NULL;
    size_t n = 0;

    if (load_run(c, id, &run, &nodes, &n) < 0)
        return;
    order_nodes(run, nodes, n);
    Flowd__V1__Run *msg = rpc_run_msg(run, nodes, n);
    rpc_reply(c, &msg->base);
    protobuf_c_message_free_unpacked(&msg->base, NULL);
    store_runs_free(run, 1);
    store_nodes_free(nodes, n);
}

static void get_run(RpcCall *c, const ProtobufCMessage *m)
{
    reply_run(c, ((const Flowd__V1__GetRunRequest *)m)->run_id);
}

static unsigned page_size(uint32_t asked) { return asked == 0 ? PAGE_DEFAULT : asked > PAGE_MAX ? PAGE_MAX : asked; }

static void list_runs(RpcCall *c, const ProtobufCMessage *m)
{
    const Flowd__V1__ListRunsRequest *req = (const void *)m;
    Flowd__V1__ListRunsResponse resp = FLOWD__V1__LIST_RUNS_RESPONSE__INIT;
    Store *s = c->srv->cfg.store;
    StoreRun *runs = NULL;
    size_t n = 0;
    unsigned limit = page_size(req->page_size);
    const char *after = req->page_token && *req->page_token ? req->page_token : NULL;

    int r = s->ops->runs_list(s, scope_tenant(c), req->status, after, limit + 1, &runs, &n);
    if (r == -ENOENT) {
        rpc_fail(c, GRPC_STATUS_INVALID_ARGUMENT,
                 "page_token is not valid or has expired (its run was purged); list again from the start");
        return;
    }
    if (r < 0) {
        rpc_fail(c, GRPC_STATUS_UNAVAILABLE, "cannot list runs: %s", strerror(-r));
        return;
    }
    size_t shown = n > limit ? limit : n;
    resp.runs = calloc(shown + 1, sizeof(*resp.runs));
    for (size_t i = 0; i < shown; i++)
        resp.runs[resp.n_runs++] = rpc_run_msg(&runs[i], NULL, 0);
    resp.next_page_token = strdup(n > limit ? runs[limit - 1].run_id : "");
    rpc_reply(c, &resp.base);
    for (size_t i = 0; i < resp.n_runs; i++)
        protobuf_c_message_free_unpacked(&resp.runs[i]->base, NULL);
    free(resp.runs);
    free(resp.next_page_token);
    store_runs_free(runs, n);
}

/* Waits, bounded, until the store shows the run ended. */
static void wait_terminal(Store *s, const char *id)
{
    for (int i = 0; i < 500; i++) {
        StoreRun *run = NULL;
        StoreNode *nodes = NULL;
        size_t n = 0;
        if (s->ops->run_get(s, id, &run, &nodes, &n) < 0)
            return;
        bool done = run->finished_ns != 0;
        store_runs_free(run, 1);
        store_nodes_free(nodes, n);
        if (done)
            return;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
}

static void cancel_run(RpcCall *c, const ProtobufCMessage *m)
{
    const Flowd__V1__CancelRunRequest *req = (const void *)m;
    StoreRun *run = NULL;

    if (load_run(c, req->run_id, &run, NULL, NULL) < 0)
        return;
    bool finished = run->finished_ns != 0;
    store_runs_free(run, 1);
    if (!finished) {
        _cleanup_free_ char *reason = req->reason && *req->reason
                                          ? xasprintf("cancelled by %s: %s", c->caller.user, req->reason)
                                          : xasprintf("cancelled by %s", c->caller.user);
        if (eng_cancel(c->srv->cfg.engine, req->run_id, scope_tenant(c), reason) == 0)
            wait_terminal(c->srv->cfg.store, req->run_id);
    }
    reply_run(c, req->run_id);
}

static void list_dead_letters(RpcCall *c, const ProtobufCMessage *m)
{
    const Flowd__V1__ListDeadLettersRequest *req = (const void *)m;
    Flowd__V1__ListDeadLettersResponse resp = FLOWD__V1__LIST_DEAD_LETTERS_RESPONSE__INIT;
    Store *s = c->srv->cfg.store;
    StoreDeadLetter *dl = NULL;
    size_t n = 0;
    unsigned limit = page_size(req->page_size);
    const char *after = req->page_token && *req->page_token ? req->page_token : NULL;

    int r = s->ops->dead_letters_list(s, NULL, after, limit + 1, &dl, &n);
    if (r == -ENOENT) {
        rpc_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "page_token is not valid or has expired; list again from the start");
        return;
    }
    if (r < 0) {
        rpc_fail(c, GRPC_STATUS_UNAVAILABLE, "cannot list dead letters: %s", strerror(-r));
        return;
    }
    size_t shown = n > limit ? limit : n;
    resp.dead_letters = calloc(shown + 1, sizeof(*resp.dead_letters));
    for (size_t i = 0; i < shown; i++)
        resp.dead_letters[resp.n_dead_letters++] = rpc_dead_letter_msg(&dl[i]);
    resp.next_page_token = strdup(n > limit ? dl[limit - 1].id : "");
    rpc_reply(c, &resp.base);
    for (size_t i = 0; i < resp.n_dead_letters; i++)
        protobuf_c_message_free_unpacked(&resp.dead_letters[i]->base, NULL);
    free(resp.dead_letters);
    free(resp.next_page_token);
    store_dead_letters_free(dl, n);
}

static void retry_dead_letter(RpcCall *c, const ProtobufCMessage *m)
{
    const Flowd__V1__RetryDeadLetterRequest *req = (const void *)m;
    Flowd__V1__SubmitRunResponse resp = FLOWD__V1__SUBMIT_RUN_RESPONSE__INIT;
    _cleanup_free_ char *id = NULL;
    Diags d = {0};

    int r = eng_retry_dead_letter(c->srv->cfg.engine, req->id, &c->caller.quota, &id, &d);
    if (r == -ENOENT)
        rpc_fail(c, GRPC_STATUS_NOT_FOUND, "dead letter %s not found", req->id);
    else if (r == -EINVAL)
        fail_diags(c, &d, "the dead letter cannot be retried");
    else if (r < 0)
        rpc_fail(c, rpc_status_from_errno(r), "the retry could not be submitted: %s", strerror(-r));
    else {
        resp.run_id = id;
        rpc_reply(c, &resp.base);
    }
    diags_free(&d);
}

static void fill_roles(Flowd__V1__Caller *who, const RpcCaller *c, char **names)
{
    who->roles = names;
    for (int r = ROLE_VIEWER; r < _ROLE_MAX; r++)
        if (rpc_caller_has(c, (RpcRole)r))
            names[who->n_roles++] = (char *)rpc_role_name((RpcRole)r);
}

static void get_server_info(RpcCall *c, const ProtobufCMessage *m)
{
    Flowd__V1__ServerInfo info = FLOWD__V1__SERVER_INFO__INIT;
    Flowd__V1__Caller who = FLOWD__V1__CALLER__INIT;
    Flowd__V1__Quota quota = FLOWD__V1__QUOTA__INIT;
    const RpcConfig *cfg = &c->srv->cfg;
    const EngCaller *q = &c->caller.quota;
    char *roles[_ROLE_MAX];
    size_t n_kinds;
    const NodeKind *const *kinds = nodes_all(&n_kinds);
    char **kind_names = calloc(n_kinds + 1, sizeof(char *));

    (void)m;
    for (size_t i = 0; i < n_kinds; i++)
        kind_names[i] = (char *)kinds[i]->name;
    info.version = (char *)cfg->version;
    info.n_node_kinds = n_kinds;
    info.node_kinds = kind_names;
    info.sandbox_mode = (char *)cfg->sandbox_mode;
    info.cgroup_version = cfg->cgroup_version;
    who.user = c->caller.user;
    who.tenant = c->caller.tenant;
    fill_roles(&who, &c->caller, roles);
    info.caller = &who;
    quota.max_concurrent_runs = q->max_concurrent_runs;
    quota.max_queued_runs = q->max_queued_runs;
    quota.max_running_nodes = q->max_running_nodes;
    quota.max_memory_mb = q->max_memory_mb;
    quota.max_cpu_millis = q->max_cpu_millis;
    quota.max_pids = q->max_pids;
    quota.max_timeout_seconds = q->max_timeout_s;
    info.quota = &quota;
    rpc_reply(c, &info.base);
    free(kind_names);
}

#define METHOD(name, req, kind, role, fn, wf)                                                                          \
    {                                                                                                                  \
        "/flowd.v1.WorkflowService/" name, name, &flowd__v1__##req##__descriptor, kind, role, fn, wf                   \
    }

const RpcMethodDef rpc_workflow_methods[] = {
    METHOD("ValidateWorkflow", validate_workflow_request, RPC_UNARY, ROLE_VIEWER, validate_workflow, true),
    METHOD("SubmitRun", submit_run_request, RPC_UNARY, ROLE_SUBMITTER, submit_run, true),
    METHOD("ExecuteRun", submit_run_request, RPC_SERVER_STREAM, ROLE_SUBMITTER, execute_run, true),
    METHOD("WatchRun", watch_run_request, RPC_SERVER_STREAM, ROLE_VIEWER, watch_run, false),
    METHOD("GetRun", get_run_request, RPC_UNARY, ROLE_VIEWER, get_run, false),
    METHOD("ListRuns", list_runs_request, RPC_UNARY, ROLE_VIEWER, list_runs, false),
    METHOD("CancelRun", cancel_run_request, RPC_UNARY, ROLE_SUBMITTER, cancel_run, false),
    METHOD("ListDeadLetters", list_dead_letters_request, RPC_UNARY, ROLE_ADMIN, list_dead_letters, false),
    METHOD("RetryDeadLetter", retry_dead_letter_request, RPC_UNARY, ROLE_ADMIN, retry_dead_letter, false),
    METHOD("GetServerInfo", get_server_info_request, RPC_UNARY, ROLE_VIEWER, get_server_info, false),
};
const size_t rpc_n_workflow_methods = sizeof(rpc_workflow_methods) / sizeof(rpc_workflow_methods[0]);
