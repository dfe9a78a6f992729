/* fake-server.c: see fake-server.h. gRPC C-core, generic calls, one thread. */
#include "fake-server.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowd/v1/service.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

#define TAG_NEW ((void *)1)
#define TAG_CLOSE ((void *)2)
#define TAG_OP ((void *)3)
#define TAG_SHUTDOWN ((void *)4)

struct FakeServer {
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t thread;
    FakeServerOptions opts;
    char token[256];
    pthread_mutex_t lock;
    FakeServerRecord rec;
    bool shutdown_seen; /* TAG_SHUTDOWN consumed by the serving thread */
};

/* One call being served. */
typedef struct Call {
    FakeServer *s;
    grpc_call *call;
    int cancelled;
    bool closed, sent_md;
    uint64_t seq;
} Call;

/* The next event of the call being served. The shutdown notice can land
 * while a call is still closing; keep it for fake_server_stop(). */
static grpc_event next(FakeServer *s)
{
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(
            s->cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(10, GPR_TIMESPAN)), NULL);
        if (ev.type != GRPC_OP_COMPLETE || ev.tag != TAG_SHUTDOWN)
            return ev;
        s->shutdown_seen = true;
    }
}

/* Waits for TAG_OP; the close op may land meanwhile. */
static int wait_op(Call *c)
{
    for (;;) {
        grpc_event ev = next(c->s);
        if (ev.type != GRPC_OP_COMPLETE)
            return -1;
        if (ev.tag == TAG_CLOSE) {
            c->closed = true;
            continue;
        }
        return ev.success ? 0 : -1;
    }
}

static void wait_close(Call *c)
{
    while (!c->closed) {
        grpc_event ev = next(c->s);
        if (ev.type != GRPC_OP_COMPLETE)
            return;
        if (ev.tag == TAG_CLOSE)
            c->closed = true;
    }
}

static grpc_byte_buffer *encode(const ProtobufCMessage *m)
{
    grpc_slice s = grpc_slice_malloc(protobuf_c_message_get_packed_size(m));
    grpc_byte_buffer *bb;
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
    bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static void *decode(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *d)
{
    grpc_byte_buffer_reader r;
    grpc_slice s;
    void *m;
    if (!bb || !grpc_byte_buffer_reader_init(&r, bb))
        return NULL;
    s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    return m;
}

static void send_msg(Call *c, const ProtobufCMessage *m)
{
    grpc_op ops[2];
    size_t n = 0;
    grpc_byte_buffer *bb = encode(m);

    if (!c->sent_md) {
        ops[n++] = (grpc_op){.op = GRPC_OP_SEND_INITIAL_METADATA};
        c->sent_md = true;
    }
    ops[n] = (grpc_op){.op = GRPC_OP_SEND_MESSAGE};
    ops[n++].data.send_message.send_message = bb;
    if (grpc_call_start_batch(c->call, ops, n, TAG_OP, NULL) == GRPC_CALL_OK)
        (void)wait_op(c);
    grpc_byte_buffer_destroy(bb);
}

static void send_status(Call *c, grpc_status_code code, const char *details)
{
    grpc_op ops[2];
    size_t n = 0;
    grpc_slice d = grpc_slice_from_copied_string(details ? details : "");

    if (!c->sent_md) {
        ops[n++] = (grpc_op){.op = GRPC_OP_SEND_INITIAL_METADATA};
        c->sent_md = true;
    }
    ops[n] = (grpc_op){.op = GRPC_OP_SEND_STATUS_FROM_SERVER};
    ops[n].data.send_status_from_server.status = code;
    ops[n++].data.send_status_from_server.status_details = &d;
    if (grpc_call_start_batch(c->call, ops, n, TAG_OP, NULL) == GRPC_CALL_OK)
        (void)wait_op(c);
    grpc_slice_unref(d);
}

static void reply(Call *c, const void *msg)
{
    send_msg(c, msg);
    send_status(c, GRPC_STATUS_OK, NULL);
}

/* ---- scripted answers ----------------------------------------------------------- */

static void emit(Call *c, Flowd__V1__RunEvent__Type type, const char *node, const char *msg, const char *output)
{
    Flowd__V1__RunEvent ev = FLOWD__V1__RUN_EVENT__INIT;
    Flowd__V1__ResourceUsage u = FLOWD__V1__RESOURCE_USAGE__INIT;
    Flowd__V1__Failure f = FLOWD__V1__FAILURE__INIT;

    ev.run_id = (char *)"run-1";
    ev.seq = ++c->seq;
    ev.time_unix_nano = 1700000000000000000ull + c->seq * 10000000ull;
    ev.type = type;
    ev.node_id = (char *)(node ? node : "");
    ev.attempt = node ? 1 : 0;
    ev.message = (char *)(msg ? msg : "");
    ev.output_json = (char *)(output ? output : "");
    if (type == FLOWD__V1__RUN_EVENT__TYPE__NODE_PROGRESS)
        ev.progress = 0.5;
    if (type == FLOWD__V1__RUN_EVENT__TYPE__NODE_SUCCEEDED || type == FLOWD__V1__RUN_EVENT__TYPE__NODE_FAILED) {
        u.peak_memory_bytes = 1024 * 1024;
        u.wall_us = 2000;
        ev.usage = &u;
    }
    if (type == FLOWD__V1__RUN_EVENT__TYPE__NODE_FAILED || type == FLOWD__V1__RUN_EVENT__TYPE__RUN_FAILED) {
        f.kind = FLOWD__V1__FAILURE__KIND__TIMEOUT;
        f.message = (char *)"attempt exceeded 1s";
        ev.failure = &f;
    }
    send_msg(c, &ev.base);
}

/* Streams the script for nodes ids[0..n) of the given kinds. */
static void play(Call *c, char **ids, char **kinds, size_t n)
{
    char outputs[2048] = "{", msg[128];
    bool failed = false;

    emit(c, FLOWD__V1__RUN_EVENT__TYPE__RUN_QUEUED, NULL, NULL, NULL);
    emit(c, FLOWD__V1__RUN_EVENT__TYPE__RUN_STARTED, NULL, NULL, NULL);
    if (c->s->opts.hang) {
        wait_close(c);
        pthread_mutex_lock(&c->s->lock);
        c->s->rec.stream_cancelled = c->cancelled;
        pthread_mutex_unlock(&c->s->lock);
        return;
    }
    for (size_t i = 0; i < n && !failed; i++) {
        emit(c, FLOWD__V1__RUN_EVENT__TYPE__NODE_STARTED, ids[i], NULL, NULL);
        emit(c, FLOWD__V1__RUN_EVENT__TYPE__NODE_PROGRESS, ids[i], "halfway", NULL);
        snprintf(msg, sizeof(msg), "hello from %s", ids[i]);
        emit(c, FLOWD__V1__RUN_EVENT__TYPE__NODE_LOG, ids[i], msg, NULL);
        failed = strcmp(kinds[i], "fail") == 0;
        emit(c, failed ? FLOWD__V1__RUN_EVENT__TYPE__NODE_FAILED : FLOWD__V1__RUN_EVENT__TYPE__NODE_SUCCEEDED, ids[i],
             NULL, failed ? NULL : "{\"ok\": true}");
        snprintf(outputs + strlen(outputs), sizeof(outputs) - strlen(outputs), "%s\"%s\": {\"ok\": true}",
                 i ? ", " : "", ids[i]);
    }
    strcat(outputs, "}");
    if (failed)
        emit(c, FLOWD__V1__RUN_EVENT__TYPE__RUN_FAILED, NULL, "node failed", NULL);
    else
        emit(c, FLOWD__V1__RUN_EVENT__TYPE__RUN_SUCCEEDED, NULL, NULL, outputs);
    send_status(c, GRPC_STATUS_OK, NULL);
}

static bool has_bogus(const Flowd__V1__Workflow *wf)
{
    for (size_t i = 0; wf && i < wf->n_nodes; i++)
        if (strcmp(wf->nodes[i]->kind, "bogus") == 0)
            return true;
    return false;
}

static void record_submit(FakeServer *s, const Flowd__V1__SubmitRunRequest *r)
{
    pthread_mutex_lock(&s->lock);
    snprintf(s->rec.last_inputs_json, sizeof(s->rec.last_inputs_json), "%s", r->inputs_json);
    snprintf(s->rec.last_idempotency_key, sizeof(s->rec.last_idempotency_key), "%s", r->idempotency_key);
    s->rec.n_labels = (int)r->n_labels;
    if (r->n_labels)
        snprintf(s->rec.first_label, sizeof(s->rec.first_label), "%s=%s", r->labels[0]->key, r->labels[0]->value);
    if (r->workflow && r->workflow->n_nodes)
        snprintf(s->rec.last_config_json, sizeof(s->rec.last_config_json), "%s", r->workflow->nodes[0]->config_json);
    pthread_mutex_unlock(&s->lock);
}

static void do_execute(Call *c, grpc_byte_buffer *payload)
{
    Flowd__V1__SubmitRunRequest *r = decode(payload, &flowd__v1__submit_run_request__descriptor);
    char *ids[64], *kinds[64];
    size_t n = 0;

    if (!r) {
        send_status(c, GRPC_STATUS_INVALID_ARGUMENT, "bad request");
        return;
    }
    record_submit(c->s, r);
    if (has_bogus(r->workflow)) {
        send_status(c, GRPC_STATUS_INVALID_ARGUMENT, "nodes[0].kind: unknown kind \"bogus\"");
    } else {
        for (; r->workflow && n < r->workflow->n_nodes && n < 64; n++) {
            ids[n] = r->workflow->nodes[n]->id;
            kinds[n] = r->workflow->nodes[n]->kind;
        }
        play(c, ids, kinds, n);
    }
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void do_watch(Call *c, grpc_byte_buffer *payload)
{
    Flowd__V1__WatchRunRequest *r = decode(payload, &flowd__v1__watch_run_request__descriptor);
    char *ids[] = {(char *)"a", (char *)"b"}, *kinds[] = {(char *)"noop", (char *)"noop"};

    if (!r || strcmp(r->run_id, "run-1") != 0)
        send_status(c, GRPC_STATUS_NOT_FOUND, "no run with that id");
    else
        play(c, ids, kinds, 2);
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void do_validate(Call *c, grpc_byte_buffer *payload)
{
    Flowd__V1__ValidateWorkflowRequest *r = decode(payload, &flowd__v1__validate_workflow_request__descriptor);
    Flowd__V1__ValidateWorkflowResponse resp = FLOWD__V1__VALIDATE_WORKFLOW_RESPONSE__INIT;
    Flowd__V1__Diagnostic d[8], *dp[8];
    char paths[8][64];

    for (size_t i = 0; r && r->workflow && i < r->workflow->n_nodes && resp.n_diagnostics < 8; i++) {
        if (strcmp(r->workflow->nodes[i]->kind, "bogus") != 0)
            continue;
        d[resp.n_diagnostics] = (Flowd__V1__Diagnostic)FLOWD__V1__DIAGNOSTIC__INIT;
        snprintf(paths[resp.n_diagnostics], 64, "nodes[%zu].kind", i);
        d[resp.n_diagnostics].path = paths[resp.n_diagnostics];
        d[resp.n_diagnostics].message = (char *)"unknown kind \"bogus\"";
        dp[resp.n_diagnostics] = &d[resp.n_diagnostics];
        resp.n_diagnostics++;
    }
    resp.diagnostics = dp;
    resp.valid = resp.n_diagnostics == 0;
    reply(c, &resp.base);
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void fill_run(Flowd__V1__Run *run, Flowd__V1__NodeRun *nodes, Flowd__V1__NodeRun **np,
                     Flowd__V1__ResourceUsage *u, const char *id, Flowd__V1__Run__Status st)
{
    static char *names[] = {(char *)"a", (char *)"b"};

    *run = (Flowd__V1__Run)FLOWD__V1__RUN__INIT;
    run->run_id = (char *)id;
    run->workflow_name = (char *)"fake";
    run->tenant = (char *)"t1";
    run->owner = (char *)"alice";
    run->status = st;
    run->created_unix_nano = 1700000000000000000ull;
    run->started_unix_nano = 1700000000010000000ull;
    run->finished_unix_nano = 1700000001510000000ull;
    run->outputs_json = (char *)"{\"a\": {\"ok\": true}, \"b\": {\"ok\": true}}";
    *u = (Flowd__V1__ResourceUsage)FLOWD__V1__RESOURCE_USAGE__INIT;
    u->peak_memory_bytes = 12 * 1024 * 1024;
    u->wall_us = 8100;
    for (int i = 0; i < 2; i++) {
        nodes[i] = (Flowd__V1__NodeRun)FLOWD__V1__NODE_RUN__INIT;
        nodes[i].node_id = names[i];
        nodes[i].status = FLOWD__V1__NODE_RUN__STATUS__SUCCEEDED;
        nodes[i].attempts = 1;
        nodes[i].usage = u;
        np[i] = &nodes[i];
    }
    run->n_nodes = 2;
    run->nodes = np;
}

static void do_get(Call *c, grpc_byte_buffer *payload, bool cancel)
{
    Flowd__V1__GetRunRequest *r = decode(payload, &flowd__v1__get_run_request__descriptor);
    Flowd__V1__Run run;
    Flowd__V1__NodeRun nodes[2], *np[2];
    Flowd__V1__ResourceUsage u;

    /* CancelRunRequest has run_id as field 1 too, so one decoder serves both. */
    if (!r || strcmp(r->run_id, "run-1") != 0) {
        send_status(c, GRPC_STATUS_NOT_FOUND, "no run with that id");
    } else {
        fill_run(&run, nodes, np, &u, "run-1",
                 cancel ? FLOWD__V1__RUN__STATUS__CANCELLED : FLOWD__V1__RUN__STATUS__SUCCEEDED);
        reply(c, &run.base);
    }
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void do_list(Call *c, grpc_byte_buffer *payload)
{
    Flowd__V1__ListRunsRequest *r = decode(payload, &flowd__v1__list_runs_request__descriptor);
    Flowd__V1__ListRunsResponse resp = FLOWD__V1__LIST_RUNS_RESPONSE__INIT;
    Flowd__V1__Run runs[3], *rp[3];
    Flowd__V1__NodeRun nodes[3][2], *np[3][2];
    Flowd__V1__ResourceUsage u[3];
    static const char *ids[] = {"run-3", "run-2", "run-1"};
    size_t start = r && r->page_token[0] ? (size_t)atoi(r->page_token) : 0;
    size_t size = r && r->page_size ? r->page_size : 100;
    char token[16];

    for (size_t i = start; i < 3 && resp.n_runs < size; i++) {
        fill_run(&runs[i], nodes[i], np[i], &u[i], ids[i], FLOWD__V1__RUN__STATUS__SUCCEEDED);
        rp[resp.n_runs++] = &runs[i];
    }
    resp.runs = rp;
    snprintf(token, sizeof(token), "%zu", start + resp.n_runs);
    resp.next_page_token = start + resp.n_runs < 3 ? token : (char *)"";
    reply(c, &resp.base);
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void do_dead_letters(Call *c)
{
    Flowd__V1__ListDeadLettersResponse resp = FLOWD__V1__LIST_DEAD_LETTERS_RESPONSE__INIT;
    Flowd__V1__DeadLetter dl = FLOWD__V1__DEAD_LETTER__INIT, *dlp = &dl;
    Flowd__V1__Failure f = FLOWD__V1__FAILURE__INIT;

    f.kind = FLOWD__V1__FAILURE__KIND__OOM_KILLED;
    f.message = (char *)"memory limit 64 MiB";
    dl.id = (char *)"dl-1";
    dl.run_id = (char *)"run-1";
    dl.node_id = (char *)"b";
    dl.workflow_name = (char *)"fake";
    dl.kind = (char *)"python";
    dl.inputs_json = (char *)"{\"x\": 1}";
    dl.failure = &f;
    dl.attempts = 3;
    resp.n_dead_letters = 1;
    resp.dead_letters = &dlp;
    reply(c, &resp.base);
}

static void do_retry(Call *c, grpc_byte_buffer *payload)
{
    Flowd__V1__RetryDeadLetterRequest *r = decode(payload, &flowd__v1__retry_dead_letter_request__descriptor);
    Flowd__V1__SubmitRunResponse resp = FLOWD__V1__SUBMIT_RUN_RESPONSE__INIT;

    if (!r || strcmp(r->id, "dl-1") != 0) {
        send_status(c, GRPC_STATUS_NOT_FOUND, "no dead letter with that id");
    } else {
        resp.run_id = (char *)"run-2";
        reply(c, &resp.base);
    }
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void do_submit(Call *c, grpc_byte_buffer *payload)
{
    Flowd__V1__SubmitRunRequest *r = decode(payload, &flowd__v1__submit_run_request__descriptor);
    Flowd__V1__SubmitRunResponse resp = FLOWD__V1__SUBMIT_RUN_RESPONSE__INIT;

    if (r)
        record_submit(c->s, r);
    resp.run_id = (char *)"run-1";
    resp.deduplicated = r && r->idempotency_key[0];
    reply(c, &resp.base);
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void do_info(Call *c)
{
    Flowd__V1__ServerInfo info = FLOWD__V1__SERVER_INFO__INIT;
    Flowd__V1__Caller caller = FLOWD__V1__CALLER__INIT;
    Flowd__V1__Quota q = FLOWD__V1__QUOTA__INIT;
    char *kinds[] = {(char *)"noop", (char *)"python"}, *roles[] = {(char *)"submitter"};

    info.version = (char *)"fake-1";
    info.n_node_kinds = 2;
    info.node_kinds = kinds;
    info.sandbox_mode = (char *)"rlimit";
    caller.user = (char *)"alice";
    caller.tenant = (char *)"t1";
    caller.n_roles = 1;
    caller.roles = roles;
    info.caller = &caller;
    q.max_concurrent_runs = 4;
    q.max_memory_mb = 512;
    info.quota = &q;
    reply(c, &info.base);
}

static void do_health(Call *c, grpc_byte_buffer *payload)
{
    Grpc__Health__V1__HealthCheckRequest *r = decode(payload, &grpc__health__v1__health_check_request__descriptor);
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

    if (r && (!r->service[0] || strcmp(r->service, "flowd.v1.WorkflowService") == 0)) {
        resp.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        reply(c, &resp.base);
    } else {
        send_status(c, GRPC_STATUS_NOT_FOUND, "unknown service");
    }
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static bool authorized(FakeServer *s, const grpc_metadata_array *md, const char *method)
{
    char want[300];
    bool ok = !s->opts.token || strncmp(method, "/grpc.health", 12) == 0;

    snprintf(want, sizeof(want), "Bearer %s", s->token);
    for (size_t i = 0; i < md->count; i++) {
        if (grpc_slice_str_cmp(md->metadata[i].key, "authorization") != 0)
            continue;
        char *v = grpc_slice_to_c_string(md->metadata[i].value);
        pthread_mutex_lock(&s->lock);
        snprintf(s->rec.last_authorization, sizeof(s->rec.last_authorization), "%s", v);
        pthread_mutex_unlock(&s->lock);
        ok = ok || strcmp(v, want) == 0;
        gpr_free(v);
    }
    return ok;
}

static void dispatch(Call *c, const char *m, grpc_byte_buffer *payload)
{
#define IS(name) (strcmp(m, "/flowd.v1.WorkflowService/" name) == 0)
    if (IS("ExecuteRun"))
        do_execute(c, payload);
    else if (IS("WatchRun"))
        do_watch(c, payload);
    else if (IS("ValidateWorkflow"))
        do_validate(c, payload);
    else if (IS("SubmitRun"))
        do_submit(c, payload);
    else if (IS("GetRun"))
        do_get(c, payload, false);
    else if (IS("CancelRun"))
        do_get(c, payload, true);
    else if (IS("ListRuns"))
        do_list(c, payload);
    else if (IS("ListDeadLetters"))
        do_dead_letters(c);
    else if (IS("RetryDeadLetter"))
        do_retry(c, payload);
    else if (IS("GetServerInfo"))
        do_info(c);
    else if (strcmp(m, "/grpc.health.v1.Health/Check") == 0)
        do_health(c, payload);
    else
        send_status(c, GRPC_STATUS_UNIMPLEMENTED, "not in the fake");
#undef IS
}

static void serve_call(FakeServer *s, grpc_call *call, grpc_call_details *details, grpc_metadata_array *md)
{
    Call c = {.s = s, .call = call};
    grpc_byte_buffer *payload = NULL;
    grpc_op op = {.op = GRPC_OP_RECV_CLOSE_ON_SERVER};
    char *method = grpc_slice_to_c_string(details->method);

    pthread_mutex_lock(&s->lock);
    s->rec.n_calls++;
    snprintf(s->rec.last_method, sizeof(s->rec.last_method), "%s", method);
    pthread_mutex_unlock(&s->lock);
    op.data.recv_close_on_server.cancelled = &c.cancelled;
    grpc_call_start_batch(call, &op, 1, TAG_CLOSE, NULL);
    op = (grpc_op){.op = GRPC_OP_RECV_MESSAGE};
    op.data.recv_message.recv_message = &payload;
    grpc_call_start_batch(call, &op, 1, TAG_OP, NULL);
    if (wait_op(&c) == 0) {
        if (!authorized(s, md, method))
            send_status(&c, GRPC_STATUS_UNAUTHENTICATED, "missing or unknown token");
        else
            dispatch(&c, method, payload);
    }
    wait_close(&c);
    if (payload)
        grpc_byte_buffer_destroy(payload);
    gpr_free(method);
    grpc_call_unref(call);
}

static void *serve(void *userdata)
{
    FakeServer *s = userdata;

    for (;;) {
        grpc_call *call = NULL;
        grpc_call_details details;
        grpc_metadata_array md;
        grpc_event ev;

        grpc_call_details_init(&details);
        grpc_metadata_array_init(&md);
        grpc_server_request_call(s->server, &call, &details, &md, s->cq, s->cq, TAG_NEW);
        do {
            ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
            if (ev.type == GRPC_OP_COMPLETE && ev.tag == TAG_SHUTDOWN)
                s->shutdown_seen = true;
        } while (ev.type == GRPC_OP_COMPLETE && ev.tag != TAG_NEW);
        if (ev.type == GRPC_OP_COMPLETE && ev.success)
            serve_call(s, call, &details, &md);
        grpc_call_details_destroy(&details);
        grpc_metadata_array_destroy(&md);
        if (ev.type != GRPC_OP_COMPLETE || !ev.success)
            return NULL;
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    char *buf = calloc(1, 65536);
    if (f && buf)
        fread(buf, 1, 65535, f) > 0 ? (void)0 : (void)0;
    if (f)
        fclose(f);
    return buf;
}

static grpc_server_credentials *server_credentials(const FakeServerOptions *o)
{
    grpc_ssl_pem_key_cert_pair pair;
    grpc_server_credentials *creds;
    char *cert, *key;

    if (!o->tls_cert)
        return grpc_insecure_server_credentials_create();
    cert = slurp(o->tls_cert);
    key = slurp(o->tls_key);
    pair = (grpc_ssl_pem_key_cert_pair){.private_key = key, .cert_chain = cert};
    creds = grpc_ssl_server_credentials_create_ex(NULL, &pair, 1, GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE, NULL);
    free(cert);
    free(key);
    return creds;
}

FakeServer *fake_server_start(const FakeServerOptions *opts, char *ret_addr, size_t len)
{
    FakeServer *s = calloc(1, sizeof(*s));
    grpc_server_credentials *creds;
    int port;

    if (!s)
        return NULL;
    grpc_init();
    if (opts)
        s->opts = *opts;
    if (s->opts.token)
        snprintf(s->token, sizeof(s->token), "%s", s->opts.token);
    pthread_mutex_init(&s->lock, NULL);
    s->server = grpc_server_create(NULL, NULL);
    s->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(s->server, s->cq, NULL);
    creds = server_credentials(&s->opts);
    port = grpc_server_add_http2_port(s->server, "127.0.0.1:0", creds);
    grpc_server_credentials_release(creds);
    grpc_server_start(s->server);
    snprintf(ret_addr, len, "127.0.0.1:%d", port);
    pthread_create(&s->thread, NULL, serve, s);
    return s;
}

void fake_server_stop(FakeServer *s)
{
    grpc_event ev;

    if (!s)
        return;
    grpc_server_shutdown_and_notify(s->server, s->cq, TAG_SHUTDOWN);
    grpc_server_cancel_all_calls(s->server);
    pthread_join(s->thread, NULL);
    while (!s->shutdown_seen) {
        ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        s->shutdown_seen = ev.type != GRPC_OP_COMPLETE || ev.tag == TAG_SHUTDOWN;
    }
    grpc_server_destroy(s->server);
    grpc_completion_queue_shutdown(s->cq);
    while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(s->cq);
    pthread_mutex_destroy(&s->lock);
    free(s);
    grpc_shutdown();
}

void fake_server_record(FakeServer *s, FakeServerRecord *ret)
{
    pthread_mutex_lock(&s->lock);
    *ret = s->rec;
    pthread_mutex_unlock(&s->lock);
}
