/* The gRPC server: setup, completion-queue workers, and the life of a call.
 *
 * A call holds references: one for its handler while it runs, one for the
 * RECV_CLOSE_ON_SERVER op (which completes when the call ends for any
 * reason), one per send batch in flight, and one per stream registration.
 * The call is freed when the last goes. Ops on one call are serialized by its
 * mutex, since completions arrive on any worker thread. */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server/metrics/met-flowd.h"
#include "server/rpc/rpc-internal.h"

static grpc_server *create_server(const RpcConfig *cfg);

void rpc_call_ref(RpcCall *c) { atomic_fetch_add(&c->refs, 1); }

static void call_free(RpcCall *c)
{
    if (c->stream)
        rpc_stream_free(c);
    grpc_metadata_array_destroy(&c->md);
    if (c->send_bb)
        grpc_byte_buffer_destroy(c->send_bb);
    grpc_slice_unref(c->status_details);
    grpc_call_unref(c->call);
    pthread_mutex_destroy(&c->mu);
    atomic_fetch_sub(&c->srv->live_calls, 1);
    free(c);
}

void rpc_call_unref(RpcCall *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        call_free(c);
}

grpc_status_code rpc_status_from_errno(int err)
{
    switch (err < 0 ? -err : err) {
    case 0:
        return GRPC_STATUS_OK;
    case EINVAL:
        return GRPC_STATUS_INVALID_ARGUMENT;
    case ENOENT:
        return GRPC_STATUS_NOT_FOUND;
    case EEXIST:
        return GRPC_STATUS_ALREADY_EXISTS;
    case EACCES:
        return GRPC_STATUS_PERMISSION_DENIED;
    case EDQUOT:
    case EAGAIN:
        return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case ESHUTDOWN:
    case EIO:
    case ENOSPC:
        return GRPC_STATUS_UNAVAILABLE;
    case ENOTSUP:
        return GRPC_STATUS_UNIMPLEMENTED;
    default:
        return GRPC_STATUS_INTERNAL;
    }
}

/* One table of status names for logs, the audit log and metrics. */
const char *rpc_status_name(grpc_status_code code) { return met_grpc_code_name((int)code); }

void rpc_set_run(RpcCall *c, const char *run_id)
{
    snprintf(c->audit_run, sizeof(c->audit_run), "%s", run_id ? run_id : "");
}

static void audit_call(RpcCall *c)
{
    const RpcConfig *cfg = &c->srv->cfg;

    met_grpc_request(c->def ? c->def->path : "unknown", c->code, (double)(now_mono_ns() - c->start_mono) / 1e9);
    if (!cfg->audit || !c->def)
        return;
    char *peer = grpc_call_get_peer(c->call);
    bool denied = c->code == GRPC_STATUS_UNAUTHENTICATED || c->code == GRPC_STATUS_PERMISSION_DENIED;
    AuthAudit rec = {
        .peer = peer,
        .user = c->authenticated ? c->caller.user : "",
        .tenant = c->authenticated ? c->caller.tenant : "",
        .method = c->def->name,
        .run = c->audit_run,
        .decision = denied ? "deny" : "allow",
        .code = rpc_status_name(c->code),
    };
    cfg->audit(&rec, cfg->audit_userdata);
    gpr_free(peer);
}

/* Starts a send batch: initial metadata if not yet sent, then the message
 * and/or the status. c->mu must be held. */
static bool start_send(RpcCall *c, grpc_byte_buffer *bb, bool with_status)
{
    grpc_op ops[3];
    size_t n = 0;

    memset(ops, 0, sizeof(ops));
    if (c->closed || c->status_sent) {
        if (bb)
            grpc_byte_buffer_destroy(bb);
        return false;
    }
    if (!c->md_sent) {
        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        n++;
        c->md_sent = true;
    }
    if (bb) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = bb;
        n++;
    }
    if (with_status) {
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n].data.send_status_from_server.status = c->code;
        ops[n].data.send_status_from_server.status_details = &c->status_details;
        n++;
        c->status_sent = true;
        audit_call(c);
    }
    c->send_bb = bb;
    c->sending = true;
    rpc_call_ref(c);
    grpc_call_error e = grpc_call_start_batch(c->call, ops, n, &c->tag_send, NULL);
    if (e != GRPC_CALL_OK) {
        log_error(NULL, "%s: cannot start a send batch: error %d", c->def ? c->def->name : "call", e);
        c->sending = false;
        rpc_call_unref(c);
        return false;
    }
    return true;
}

static grpc_byte_buffer *make_bb(const void *data, size_t len)
{
    grpc_slice s = grpc_slice_from_copied_buffer(data, len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

bool rpc_send_locked(RpcCall *c, const void *data, size_t len) { return start_send(c, make_bb(data, len), false); }

/* Status messages travel in HTTP/2 trailers, which clients limit (8 KiB by
 * default in gRPC C core); a longer message would lose the status itself. */
#define STATUS_MESSAGE_MAX 4000

bool rpc_finish_locked(RpcCall *c, grpc_status_code code, const char *message)
{
    char capped[STATUS_MESSAGE_MAX + 128];

    if (message && strlen(message) > STATUS_MESSAGE_MAX) {
        snprintf(capped, sizeof(capped), "%.*s ... (message cut at %d bytes; ValidateWorkflow lists every problem)",
                 STATUS_MESSAGE_MAX, message, STATUS_MESSAGE_MAX);
        message = capped;
    }
    c->code = code;
    grpc_slice_unref(c->status_details);
    /* UNAVAILABLE also means "no connection" to clients; a "flowd: " prefix
     * tells them this one is the server's own answer (draining, store full). */
    if (code == GRPC_STATUS_UNAVAILABLE && message && strncmp(message, "flowd: ", 7) != 0) {
        char *m = NULL;
        if (asprintf(&m, "flowd: %s", message) < 0)
            m = NULL;
        c->status_details = grpc_slice_from_copied_string(m ? m : message);
        free(m);
    } else
        c->status_details = grpc_slice_from_copied_string(message ? message : "");
    if (code != GRPC_STATUS_OK)
        log_debug(&(LogCtx){.tenant = c->caller.tenant}, "%s -> %s: %s", c->def ? c->def->name : "?",
                  rpc_status_name(code), message ? message : "");
    return start_send(c, NULL, true);
}

void rpc_reply(RpcCall *c, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);

    protobuf_c_message_pack(msg, buf);
    grpc_byte_buffer *bb = make_bb(buf, len);
    free(buf);
    pthread_mutex_lock(&c->mu);
    c->code = GRPC_STATUS_OK;
    start_send(c, bb, true);
    pthread_mutex_unlock(&c->mu);
}

void rpc_fail(RpcCall *c, grpc_status_code code, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    pthread_mutex_lock(&c->mu);
    rpc_finish_locked(c, code, msg);
    pthread_mutex_unlock(&c->mu);
    free(msg);
}

static bool arm(RpcPending *p)
{
    grpc_metadata_array_init(&p->md);
    p->call = NULL;
    p->payload = NULL;
    grpc_call_error e = grpc_server_request_registered_call(p->gs, p->handle, &p->call, &p->deadline, &p->md,
                                                            &p->payload, p->srv->cq, p->srv->cq, &p->tag);
    return e == GRPC_CALL_OK;
}

static void arm_generic(RpcGeneric *g)
{
    grpc_call_details_init(&g->details);
    grpc_metadata_array_init(&g->md);
    g->call = NULL;
    grpc_server_request_call(g->gs, &g->call, &g->details, &g->md, g->srv->cq, g->srv->cq, &g->tag);
}

static RpcCall *call_new(RpcServer *s, const RpcMethodDef *def, grpc_call *gc, grpc_metadata_array *md)
{
    RpcCall *c = calloc(1, sizeof(RpcCall));

    c->srv = s;
    c->def = def;
    c->call = gc;
    c->md = *md;
    pthread_mutex_init(&c->mu, NULL);
    atomic_store(&c->refs, 2); /* the handler and RECV_CLOSE */
    c->tag_close = (RpcTag){TAG_CLOSE, c};
    c->tag_send = (RpcTag){TAG_SEND, c};
    c->status_details = grpc_empty_slice();
    c->start_mono = now_mono_ns();
    atomic_fetch_add(&s->live_calls, 1);
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->cancelled;
    if (grpc_call_start_batch(gc, &op, 1, &c->tag_close, NULL) != GRPC_CALL_OK)
        atomic_fetch_sub(&c->refs, 1);
    return c;
}

/* Refuses a workflow too large to decode: see rpc-wire.c. */
static bool too_large(RpcCall *c, const uint8_t *buf, size_t len)
{
    size_t nodes, conns;

    if (!c->def->has_workflow)
        return false;
    rpc_wire_count_workflow(buf, len, &nodes, &conns);
    if (nodes <= RPC_MAX_NODES && conns <= RPC_MAX_CONNS)
        return false;
    rpc_fail(c, GRPC_STATUS_INVALID_ARGUMENT,
             "the workflow has %zu nodes and %zu connections; the limits are %d and %d: split it", nodes, conns,
             RPC_MAX_NODES, RPC_MAX_CONNS);
    return true;
}

/* Decodes the request; on failure answers the call and returns NULL. */
static ProtobufCMessage *decode(RpcCall *c, grpc_byte_buffer *bb)
{
    const ProtobufCMessageDescriptor *desc = c->def->request;
    grpc_byte_buffer_reader r;
    ProtobufCMessage *m = NULL;

    if (!bb)
        m = protobuf_c_message_unpack(desc, NULL, 0, (const uint8_t *)"");
    else if (grpc_byte_buffer_reader_init(&r, bb)) {
        grpc_slice s = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
        if (too_large(c, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s))) {
            grpc_slice_unref(s);
            return NULL;
        }
        m = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
        grpc_slice_unref(s);
    }
    if (!m)
        rpc_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "the request is not a valid %s message", desc->name);
    return m;
}

static void dispatch(RpcCall *c, grpc_byte_buffer *payload)
{
    const RpcMethodDef *def = c->def;

    if (atomic_load(&c->srv->shutting_down) && def->role != ROLE_NONE) {
        rpc_fail(c, GRPC_STATUS_UNAVAILABLE, "flowd is shutting down; retry against another replica or later");
        return;
    }
    /* Authorize before decoding: decoding a large request costs memory,
     * which an unauthenticated caller must not be able to spend. */
    if (!rpc_authorize(c))
        return;
    ProtobufCMessage *req = decode(c, payload);
    if (!req)
        return;
    def->handler(c, req);
    protobuf_c_message_free_unpacked(req, NULL);
    /* A large request leaves freed memory in malloc's arenas; give it back. */
    if (payload && grpc_byte_buffer_length(payload) > (1u << 20))
        malloc_trim(0);
}

static void on_new_call(RpcPending *p, bool ok)
{
    RpcServer *s = p->srv;

    if (!ok)
        return; /* the server is shutting down */
    grpc_call *gc = p->call;
    grpc_byte_buffer *payload = p->payload;
    grpc_metadata_array md = p->md;
    if (!atomic_load(&s->shutting_down))
        arm(p);
    RpcCall *c = call_new(s, p->def, gc, &md);
    dispatch(c, payload);
    if (payload)
        grpc_byte_buffer_destroy(payload);
    rpc_call_unref(c);
}

static void on_generic(RpcGeneric *g, bool ok)
{
    RpcServer *s = g->srv;

    if (!ok)
        return;
    char *method = grpc_slice_to_c_string(g->details.method);
    grpc_call *gc = g->call;
    grpc_metadata_array md = g->md;
    grpc_call_details_destroy(&g->details);
    if (!atomic_load(&s->shutting_down))
        arm_generic(g);
    RpcCall *c = call_new(s, NULL, gc, &md);
    rpc_fail(c, GRPC_STATUS_UNIMPLEMENTED, "flowd does not implement %s; see flowd.v1.WorkflowService", method);
    gpr_free(method);
    rpc_call_unref(c);
}

static void on_close(RpcCall *c)
{
    pthread_mutex_lock(&c->mu);
    c->closed = true;
    bool stream = c->stream != NULL;
    pthread_mutex_unlock(&c->mu);
    if (stream)
        rpc_stream_on_close(c);
    rpc_health_on_close(c);
    rpc_call_unref(c);
}

static void on_send(RpcCall *c, bool ok)
{
    pthread_mutex_lock(&c->mu);
    if (c->send_bb) {
        grpc_byte_buffer_destroy(c->send_bb);
        c->send_bb = NULL;
    }
    c->sending = false;
    if (c->on_send_done)
        c->on_send_done(c, ok);
    pthread_mutex_unlock(&c->mu);
    rpc_call_unref(c);
}

static void *worker(void *arg)
{
    RpcServer *s = arg;

    for (;;) {
        grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        RpcTag *t = ev.tag;
        switch (t->kind) {
        case TAG_NEW_CALL:
            on_new_call(t->ptr, ev.success);
            break;
        case TAG_NEW_GENERIC:
            on_generic(t->ptr, ev.success);
            break;
        case TAG_CLOSE:
            on_close(t->ptr);
            break;
        case TAG_SEND:
            on_send(t->ptr, ev.success);
            break;
        case TAG_SHUTDOWN:
            atomic_fetch_add(&s->shutdowns_done, 1);
            break;
        default:
            break;
        }
    }
    return NULL;
}

/* Registers the methods of the given tables on gs; one pending request per
 * method. */
static RpcPending *register_methods(RpcServer *s, grpc_server *gs, bool with_workflow, size_t *ret_n)
{
    const RpcMethodDef *tables[] = {rpc_health_methods, rpc_workflow_methods};
    size_t counts[] = {rpc_n_health_methods, with_workflow ? rpc_n_workflow_methods : 0};
    RpcPending *pending = calloc(counts[0] + counts[1], sizeof(RpcPending));

    *ret_n = counts[0] + counts[1];
    for (size_t t = 0, k = 0; t < 2; t++)
        for (size_t i = 0; i < counts[t]; i++, k++) {
            RpcPending *p = &pending[k];
            p->srv = s;
            p->gs = gs;
            p->def = &tables[t][i];
            p->tag = (RpcTag){TAG_NEW_CALL, p};
            p->handle =
                grpc_server_register_method(gs, p->def->path, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
        }
    return pending;
}

static void arm_all(RpcServer *s, RpcPending *pending, size_t n, RpcGeneric *g, grpc_server *gs)
{
    for (size_t i = 0; i < n; i++)
        arm(&pending[i]);
    *g = (RpcGeneric){.tag = {TAG_NEW_GENERIC, g}, .srv = s, .gs = gs};
    arm_generic(g);
}

static int start_health_server(RpcServer *s, const RpcConfig *cfg, char *err, size_t err_size)
{
    s->health_server = create_server(cfg);
    grpc_server_register_completion_queue(s->health_server, s->cq, NULL);
    s->health_pending = register_methods(s, s->health_server, false, &s->n_health_pending);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    s->health_port = grpc_server_add_http2_port(s->health_server, cfg->health_listen, creds);
    grpc_server_credentials_release(creds);
    if (s->health_port == 0) {
        snprintf(err, err_size, "cannot listen on %s (FLOWD_HEALTH_LISTEN): the address is in use or invalid",
                 cfg->health_listen);
        return -EADDRINUSE;
    }
    grpc_server_start(s->health_server);
    arm_all(s, s->health_pending, s->n_health_pending, &s->health_generic, s->health_server);
    return 0;
}

static grpc_server_credentials *server_creds(const RpcConfig *cfg)
{
    if (!cfg->tls_cert_pem)
        return grpc_insecure_server_credentials_create();
    grpc_ssl_pem_key_cert_pair pair = {.private_key = cfg->tls_key_pem, .cert_chain = cfg->tls_cert_pem};
    return grpc_ssl_server_credentials_create_ex(cfg->tls_client_ca_pem, &pair, 1,
                                                 cfg->tls_client_ca_pem
                                                     ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                                     : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
                                                 NULL);
}

static grpc_server *create_server(const RpcConfig *cfg)
{
    int max_msg = (int)(cfg->max_message_mb ? cfg->max_message_mb : 16) << 20;
    grpc_arg args[] = {
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = max_msg},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, .value.integer = 4 * max_msg},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_CONCURRENT_STREAMS, .value.integer = 1000},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIME_MS, .value.integer = 60000},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIMEOUT_MS, .value.integer = 20000},
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
         .value.integer = 10000},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, .value.integer = 1},
    };
    grpc_channel_args cargs = {.num_args = sizeof(args) / sizeof(args[0]), .args = args};
    return grpc_server_create(&cargs, NULL);
}

int rpc_start(const RpcConfig *cfg, RpcServer **ret, char *err, size_t err_size)
{
    RpcServer *s = calloc(1, sizeof(RpcServer));

    s->cfg = *cfg;
    pthread_mutex_init(&s->health_mu, NULL);
    s->server = create_server(cfg);
    s->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(s->server, s->cq, NULL);
    s->pending = register_methods(s, s->server, true, &s->n_pending);
    grpc_server_credentials *creds = server_creds(cfg);
    s->port = grpc_server_add_http2_port(s->server, cfg->listen, creds);
    grpc_server_credentials_release(creds);
    if (s->port == 0) {
        snprintf(err, err_size, "cannot listen on %s (FLOWD_LISTEN): the address is in use or invalid", cfg->listen);
        grpc_server_destroy(s->server);
        grpc_completion_queue_shutdown(s->cq);
        grpc_completion_queue_destroy(s->cq);
        free(s->pending);
        free(s);
        return -EADDRINUSE;
    }
    grpc_server_start(s->server);
    s->shutdown_tag = (RpcTag){TAG_SHUTDOWN, s};
    arm_all(s, s->pending, s->n_pending, &s->generic, s->server);
    if (cfg->health_listen && start_health_server(s, cfg, err, err_size) < 0)
        log_error(NULL, "%s", err); /* the main port still serves health */
    rpc_pump_start(s);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    s->n_threads = cfg->threads ? cfg->threads : (unsigned)(ncpu > 2 ? ncpu * 2 : 4);
    s->threads = calloc(s->n_threads, sizeof(pthread_t));
    for (unsigned i = 0; i < s->n_threads; i++)
        pthread_create(&s->threads[i], NULL, worker, s);
    *ret = s;
    return 0;
}

int rpc_port(const RpcServer *s) { return s->port; }

void rpc_set_serving(RpcServer *s, bool serving)
{
    if (atomic_exchange(&s->serving, serving) != serving)
        rpc_health_broadcast(s);
}

void rpc_set_ready(RpcServer *s, bool ready)
{
    if (atomic_exchange(&s->ready, ready) != ready)
        rpc_health_broadcast(s);
}

void rpc_shutdown(RpcServer *s, uint32_t grace_ms)
{
    atomic_store(&s->shutting_down, true);
    rpc_set_serving(s, false);
    grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
    if (s->health_server)
        grpc_server_shutdown_and_notify(s->health_server, s->cq, &s->shutdown_tag);
    /* Wait for open calls to end on their own, then cancel the rest. */
    for (uint32_t waited = 0; atomic_load(&s->live_calls) > 0 && waited < grace_ms; waited += 20)
        usleep(20000);
    grpc_server_cancel_all_calls(s->server);
    if (s->health_server)
        grpc_server_cancel_all_calls(s->health_server);
    for (int i = 0; i < 100 && atomic_load(&s->live_calls) > 0; i++)
        usleep(10000);
    /* grpc_server_destroy asserts that every listener is gone: wait for
     * the shutdown tags, which come once the listeners closed (a burst of
     * dropped connections can delay them). */
    int want = s->health_server ? 2 : 1;
    for (int i = 0; i < 500 && atomic_load(&s->shutdowns_done) < want; i++)
        usleep(10000);
}

RpcServer *rpc_free(RpcServer *s)
{
    if (!s)
        return NULL;
    rpc_pump_stop(s);
    grpc_server_destroy(s->server);
    if (s->health_server)
        grpc_server_destroy(s->health_server);
    free(s->health_pending);
    grpc_completion_queue_shutdown(s->cq);
    for (unsigned i = 0; i < s->n_threads; i++)
        pthread_join(s->threads[i], NULL);
    grpc_completion_queue_destroy(s->cq);
    free(s->threads);
    free(s->pending);
    free(s->health_watchers);
    pthread_mutex_destroy(&s->health_mu);
    free(s);
    return NULL;
}
