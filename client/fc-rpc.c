/* fc-rpc.c: the WorkflowService and Health RPCs, and the conversion of their
 * protobuf-c messages into the plain structs of flowd/client.h.
 *
 * The plain structs borrow their strings from the unpacked message, which is
 * kept in a "box" next to them and freed with them; only the arrays of
 * sub-structs are allocated here.
 */
#include <errno.h>
#include <string.h>

#include "fc-internal.h"
#include "grpc/health/v1/health.pb-c.h"

#define SVC "/flowd.v1.WorkflowService/"

/* ---- proto -> plain ----------------------------------------------------------- */

static void fill_failure(const Flowd__V1__Failure *m, bool *has, FcFailure *out)
{
    *has = m != NULL;
    if (!m) {
        *out = (FcFailure){.message = "", .syscall = ""};
        return;
    }
    *out = (FcFailure){
        .kind = (FcFailureKind)m->kind,
        .message = fc_str(m->message),
        .exit_code = m->exit_code,
        .signal = m->signal,
        .syscall = fc_str(m->syscall),
    };
}

static void fill_usage(const Flowd__V1__ResourceUsage *m, bool *has, FcUsage *out)
{
    *has = m != NULL;
    *out = (FcUsage){0};
    if (m)
        *out = (FcUsage){m->peak_memory_bytes, m->cpu_user_us, m->cpu_system_us, m->wall_us};
}

static void fill_event(const Flowd__V1__RunEvent *m, FcEvent *ev)
{
    *ev = (FcEvent){
        .run_id = fc_str(m->run_id),
        .seq = m->seq,
        .time_unix_nano = m->time_unix_nano,
        .type = (FcEventType)m->type,
        .node_id = fc_str(m->node_id),
        .attempt = m->attempt,
        .progress = m->progress,
        .message = fc_str(m->message),
        .output_json = fc_str(m->output_json),
        .run_status = (FcRunStatus)m->run_status,
    };
    fill_failure(m->failure, &ev->has_failure, &ev->failure);
    fill_usage(m->usage, &ev->has_usage, &ev->usage);
}

static void free_run_arrays(FcRun *run)
{
    free(run->nodes);
    free(run->labels);
}

static int fill_run(const Flowd__V1__Run *m, FcRun *run)
{
    *run = (FcRun){
        .run_id = fc_str(m->run_id),
        .workflow_name = fc_str(m->workflow_name),
        .tenant = fc_str(m->tenant),
        .owner = fc_str(m->owner),
        .status = (FcRunStatus)m->status,
        .degraded = m->degraded,
        .created_unix_nano = m->created_unix_nano,
        .started_unix_nano = m->started_unix_nano,
        .finished_unix_nano = m->finished_unix_nano,
        .outputs_json = fc_str(m->outputs_json),
    };
    fill_failure(m->failure, &run->has_failure, &run->failure);
    run->nodes = calloc(m->n_nodes + 1, sizeof(FcNodeRun));
    run->labels = calloc(m->n_labels + 1, sizeof(FcLabel));
    if (!run->nodes || !run->labels) {
        free_run_arrays(run);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->n_nodes; i++) {
        const Flowd__V1__NodeRun *n = m->nodes[i];
        FcNodeRun *o = &run->nodes[i];
        *o = (FcNodeRun){.node_id = fc_str(n->node_id),
                         .status = (FcNodeStatus)n->status,
                         .attempts = n->attempts,
                         .output_json = fc_str(n->output_json)};
        fill_failure(n->failure, &o->has_failure, &o->failure);
        fill_usage(n->usage, &o->has_usage, &o->usage);
    }
    run->n_nodes = m->n_nodes;
    for (size_t i = 0; i < m->n_labels; i++)
        run->labels[i] = (FcLabel){fc_str(m->labels[i]->key), fc_str(m->labels[i]->value)};
    run->n_labels = m->n_labels;
    return 0;
}

/* The public struct comes first, so a pointer to it is a pointer to the box. */
typedef struct RunBox {
    FcRun pub;
    Flowd__V1__Run *msg;
} RunBox;

typedef struct RunPageBox {
    FcRunPage pub;
    Flowd__V1__ListRunsResponse *msg;
} RunPageBox;

typedef struct DeadLetterPageBox {
    FcDeadLetterPage pub;
    Flowd__V1__ListDeadLettersResponse *msg;
} DeadLetterPageBox;

typedef struct ServerInfoBox {
    FcServerInfo pub;
    Flowd__V1__ServerInfo *msg;
} ServerInfoBox;

FcRun *fc_run_free(FcRun *run)
{
    RunBox *b = (RunBox *)run;

    if (!b)
        return NULL;
    free_run_arrays(&b->pub);
    if (b->msg)
        protobuf_c_message_free_unpacked(&b->msg->base, NULL);
    free(b);
    return NULL;
}

FcRunPage *fc_run_page_free(FcRunPage *page)
{
    RunPageBox *b = (RunPageBox *)page;

    if (!b)
        return NULL;
    for (size_t i = 0; b->pub.runs && i < b->pub.n_runs; i++)
        free_run_arrays(&b->pub.runs[i]);
    free(b->pub.runs);
    if (b->msg)
        protobuf_c_message_free_unpacked(&b->msg->base, NULL);
    free(b);
    return NULL;
}

FcDeadLetterPage *fc_dead_letter_page_free(FcDeadLetterPage *page)
{
    DeadLetterPageBox *b = (DeadLetterPageBox *)page;

    if (!b)
        return NULL;
    free(b->pub.dead_letters);
    if (b->msg)
        protobuf_c_message_free_unpacked(&b->msg->base, NULL);
    free(b);
    return NULL;
}

FcServerInfo *fc_server_info_free(FcServerInfo *info)
{
    ServerInfoBox *b = (ServerInfoBox *)info;

    if (!b)
        return NULL;
    if (b->msg)
        protobuf_c_message_free_unpacked(&b->msg->base, NULL);
    free(b);
    return NULL;
}

/* Boxes an unpacked Run; takes msg (freed on failure too). */
static int box_run(Flowd__V1__Run *msg, FcRun **ret, FcError *err)
{
    RunBox *b = calloc(1, sizeof(*b));

    if (!b || fill_run(msg, &b->pub) < 0) {
        free(b);
        protobuf_c_message_free_unpacked(&msg->base, NULL);
        return fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory");
    }
    b->msg = msg;
    *ret = &b->pub;
    return 0;
}

/* ---- requests -------------------------------------------------------------------- */

static int unary(FcClient *c, const char *method, const void *req, const ProtobufCMessageDescriptor *desc, void *ret,
                 FcError *err)
{
    return fc_rpc_unary(c, method, req, desc, true, (ProtobufCMessage **)ret, err);
}

int fc_validate(FcClient *c, const FcWorkflow *wf, FcDiagnostics *diags, bool *ret_valid, FcError *err)
{
    Flowd__V1__ValidateWorkflowRequest req = FLOWD__V1__VALIDATE_WORKFLOW_REQUEST__INIT;
    Flowd__V1__ValidateWorkflowResponse *resp = NULL;
    int r;

    req.workflow = (Flowd__V1__Workflow *)fc_workflow_proto(wf);
    r = unary(c, SVC "ValidateWorkflow", &req, &flowd__v1__validate_workflow_response__descriptor, &resp, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < resp->n_diagnostics && r == 0; i++)
        r = fc_diag_add(diags, 0, 0, resp->diagnostics[i]->path, "%s", fc_str(resp->diagnostics[i]->message));
    *ret_valid = resp->valid;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return r < 0 ? fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory") : 0;
}

/* Fills a SubmitRunRequest; *ret_entries (free() it) backs the labels. */
static int fill_submit(const FcWorkflow *wf, const FcSubmitOptions *opts, Flowd__V1__SubmitRunRequest *req,
                       void **ret_entries)
{
    static const FcSubmitOptions none = {0};
    Flowd__V1__SubmitRunRequest__LabelsEntry *entries, **ptrs;
    size_t n;

    opts = opts ? opts : &none;
    n = opts->n_labels;
    *req = (Flowd__V1__SubmitRunRequest)FLOWD__V1__SUBMIT_RUN_REQUEST__INIT;
    req->workflow = (Flowd__V1__Workflow *)fc_workflow_proto(wf);
    req->inputs_json = (char *)(opts->inputs_json ? opts->inputs_json : "");
    req->idempotency_key = (char *)(opts->idempotency_key ? opts->idempotency_key : "");
    /* One block: the entries, then the pointer array protobuf-c wants. */
    entries = calloc(n + 1, sizeof(*entries) + sizeof(*ptrs));
    if (!entries)
        return -ENOMEM;
    ptrs = (Flowd__V1__SubmitRunRequest__LabelsEntry **)(entries + n + 1);
    for (size_t i = 0; i < n; i++) {
        entries[i] = (Flowd__V1__SubmitRunRequest__LabelsEntry)FLOWD__V1__SUBMIT_RUN_REQUEST__LABELS_ENTRY__INIT;
        entries[i].key = (char *)opts->labels[i].key;
        entries[i].value = (char *)opts->labels[i].value;
        ptrs[i] = &entries[i];
    }
    req->n_labels = n;
    req->labels = ptrs;
    *ret_entries = entries;
    return 0;
}

int fc_submit(FcClient *c, const FcWorkflow *wf, const FcSubmitOptions *opts, char **ret_run_id, bool *ret_deduplicated,
              FcError *err)
{
    Flowd__V1__SubmitRunRequest req;
    Flowd__V1__SubmitRunResponse *resp = NULL;
    _cleanup_free_ void *entries = NULL;
    char *id;
    int r;

    if (fill_submit(wf, opts, &req, &entries) < 0)
        return fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory");
    r = unary(c, SVC "SubmitRun", &req, &flowd__v1__submit_run_response__descriptor, &resp, err);
    if (r < 0)
        return r;
    id = strdup(fc_str(resp->run_id));
    if (ret_deduplicated)
        *ret_deduplicated = resp->deduplicated;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    if (!id)
        return fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory");
    *ret_run_id = id;
    return 0;
}

static int on_event_message(const ProtobufCMessage *msg, void *userdata)
{
    const FcStreamHandlers *h = userdata;
    FcEvent ev;

    fill_event((const Flowd__V1__RunEvent *)msg, &ev);
    return h->on_event ? h->on_event(&ev, h->userdata) : 0;
}

static int on_idle_tick(void *userdata)
{
    const FcStreamHandlers *h = userdata;
    return h->on_idle ? h->on_idle(h->userdata) : 0;
}

static int event_stream(FcClient *c, const char *method, const ProtobufCMessage *req, const FcStreamHandlers *h,
                        FcError *err)
{
    FcStreamSpec spec = {
        .method = method,
        .request = req,
        .response_type = &flowd__v1__run_event__descriptor,
        .on_message = on_event_message,
        .on_idle = h->on_idle ? on_idle_tick : NULL,
        .userdata = (void *)h,
        .tick_ms = h->tick_ms,
    };
    return fc_rpc_stream(c, &spec, err);
}

int fc_execute(FcClient *c, const FcWorkflow *wf, const FcSubmitOptions *opts, const FcStreamHandlers *handlers,
               FcError *err)
{
    Flowd__V1__SubmitRunRequest req;
    _cleanup_free_ void *entries = NULL;

    if (fill_submit(wf, opts, &req, &entries) < 0)
        return fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory");
    return event_stream(c, SVC "ExecuteRun", &req.base, handlers, err);
}

int fc_watch(FcClient *c, const char *run_id, uint64_t after_seq, const FcStreamHandlers *handlers, FcError *err)
{
    Flowd__V1__WatchRunRequest req = FLOWD__V1__WATCH_RUN_REQUEST__INIT;

    req.run_id = (char *)run_id;
    req.after_seq = after_seq;
    return event_stream(c, SVC "WatchRun", &req.base, handlers, err);
}

int fc_get_run(FcClient *c, const char *run_id, FcRun **ret, FcError *err)
{
    Flowd__V1__GetRunRequest req = FLOWD__V1__GET_RUN_REQUEST__INIT;
    Flowd__V1__Run *resp = NULL;
    int r;

    req.run_id = (char *)run_id;
    r = unary(c, SVC "GetRun", &req, &flowd__v1__run__descriptor, &resp, err);
    return r < 0 ? r : box_run(resp, ret, err);
}

int fc_cancel_run(FcClient *c, const char *run_id, const char *reason, FcRun **ret, FcError *err)
{
    Flowd__V1__CancelRunRequest req = FLOWD__V1__CANCEL_RUN_REQUEST__INIT;
    Flowd__V1__Run *resp = NULL;
    int r;

    req.run_id = (char *)run_id;
    req.reason = (char *)(reason ? reason : "");
    r = unary(c, SVC "CancelRun", &req, &flowd__v1__run__descriptor, &resp, err);
    if (r < 0)
        return r;
    if (!ret) {
        protobuf_c_message_free_unpacked(&resp->base, NULL);
        return 0;
    }
    return box_run(resp, ret, err);
}

int fc_list_runs(FcClient *c, const FcListOptions *opts, FcRunPage **ret, FcError *err)
{
    Flowd__V1__ListRunsRequest req = FLOWD__V1__LIST_RUNS_REQUEST__INIT;
    Flowd__V1__ListRunsResponse *resp = NULL;
    RunPageBox *b;
    int r;

    if (opts) {
        req.page_size = opts->page_size;
        req.page_token = (char *)(opts->page_token ? opts->page_token : "");
        req.status = (Flowd__V1__Run__Status)opts->status;
    }
    r = unary(c, SVC "ListRuns", &req, &flowd__v1__list_runs_response__descriptor, &resp, err);
    if (r < 0)
        return r;
    b = calloc(1, sizeof(*b));
    if (b) {
        b->msg = resp;
        b->pub.next_page_token = fc_str(resp->next_page_token);
        b->pub.runs = calloc(resp->n_runs + 1, sizeof(FcRun));
    }
    for (size_t i = 0; b && b->pub.runs && i < resp->n_runs; i++, b->pub.n_runs++)
        if (fill_run(resp->runs[i], &b->pub.runs[i]) < 0)
            break;
    if (!b || b->pub.n_runs != resp->n_runs) {
        if (!b)
            protobuf_c_message_free_unpacked(&resp->base, NULL);
        fc_run_page_free(b ? &b->pub : NULL);
        return fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory");
    }
    *ret = &b->pub;
    return 0;
}

static void fill_dead_letter(const Flowd__V1__DeadLetter *m, FcDeadLetter *o)
{
    *o = (FcDeadLetter){
        .id = fc_str(m->id),
        .run_id = fc_str(m->run_id),
        .node_id = fc_str(m->node_id),
        .workflow_name = fc_str(m->workflow_name),
        .tenant = fc_str(m->tenant),
        .kind = fc_str(m->kind),
        .inputs_json = fc_str(m->inputs_json),
        .attempts = m->attempts,
        .created_unix_nano = m->created_unix_nano,
        .retried_run_id = fc_str(m->retried_run_id),
    };
    fill_failure(m->failure, &o->has_failure, &o->failure);
}

int fc_list_dead_letters(FcClient *c, uint32_t page_size, const char *page_token, FcDeadLetterPage **ret, FcError *err)
{
    Flowd__V1__ListDeadLettersRequest req = FLOWD__V1__LIST_DEAD_LETTERS_REQUEST__INIT;
    Flowd__V1__ListDeadLettersResponse *resp = NULL;
    DeadLetterPageBox *b;
    int r;

    req.page_size = page_size;
    req.page_token = (char *)(page_token ? page_token : "");
    r = unary(c, SVC "ListDeadLetters", &req, &flowd__v1__list_dead_letters_response__descriptor, &resp, err);
    if (r < 0)
        return r;
    b = calloc(1, sizeof(*b));
    if (b)
        b->pub.dead_letters = calloc(resp->n_dead_letters + 1, sizeof(FcDeadLetter));
    if (!b || !b->pub.dead_letters) {
        free(b);
        protobuf_c_message_free_unpacked(&resp->base, NULL);
        return fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory");
    }
    b->msg = resp;
    for (size_t i = 0; i < resp->n_dead_letters; i++)
        fill_dead_letter(resp->dead_letters[i], &b->pub.dead_letters[i]);
    b->pub.n_dead_letters = resp->n_dead_letters;
    b->pub.next_page_token = fc_str(resp->next_page_token);
    *ret = &b->pub;
    return 0;
}

int fc_retry_dead_letter(FcClient *c, const char *id, char **ret_run_id, FcError *err)
{
    Flowd__V1__RetryDeadLetterRequest req = FLOWD__V1__RETRY_DEAD_LETTER_REQUEST__INIT;
    Flowd__V1__SubmitRunResponse *resp = NULL;
    char *run_id;
    int r;

    req.id = (char *)id;
    r = unary(c, SVC "RetryDeadLetter", &req, &flowd__v1__submit_run_response__descriptor, &resp, err);
    if (r < 0)
        return r;
    run_id = strdup(fc_str(resp->run_id));
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    if (!run_id)
        return fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory");
    *ret_run_id = run_id;
    return 0;
}

int fc_server_info(FcClient *c, FcServerInfo **ret, FcError *err)
{
    Flowd__V1__GetServerInfoRequest req = FLOWD__V1__GET_SERVER_INFO_REQUEST__INIT;
    Flowd__V1__ServerInfo *m = NULL;
    ServerInfoBox *b;
    int r;

    r = unary(c, SVC "GetServerInfo", &req, &flowd__v1__server_info__descriptor, &m, err);
    if (r < 0)
        return r;
    b = calloc(1, sizeof(*b));
    if (!b) {
        protobuf_c_message_free_unpacked(&m->base, NULL);
        return fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory");
    }
    b->msg = m;
    b->pub = (FcServerInfo){
        .version = fc_str(m->version),
        .n_node_kinds = m->n_node_kinds,
        .node_kinds = (const char **)m->node_kinds,
        .sandbox_mode = fc_str(m->sandbox_mode),
        .cgroup_version = m->cgroup_version,
        .user = m->caller ? fc_str(m->caller->user) : "",
        .tenant = m->caller ? fc_str(m->caller->tenant) : "",
        .n_roles = m->caller ? m->caller->n_roles : 0,
        .roles = m->caller ? (const char **)m->caller->roles : NULL,
        .has_quota = m->quota != NULL,
    };
    if (m->quota)
        b->pub.quota = (FcQuota){m->quota->max_concurrent_runs, m->quota->max_queued_runs, m->quota->max_running_nodes,
                                 m->quota->max_memory_mb,       m->quota->max_cpu_millis,  m->quota->max_pids,
                                 m->quota->max_timeout_seconds};
    *ret = &b->pub;
    return 0;
}

int fc_health_check(FcClient *c, const char *service, FcHealthStatus *ret, FcError *err)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    Grpc__Health__V1__HealthCheckResponse *resp = NULL;
    int r;

    req.service = (char *)(service ? service : "");
    r = fc_rpc_unary(c, "/grpc.health.v1.Health/Check", &req.base, &grpc__health__v1__health_check_response__descriptor,
                     false, (ProtobufCMessage **)&resp, err);
    if (r < 0)
        return r;
    *ret = (FcHealthStatus)resp->status;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return 0;
}
