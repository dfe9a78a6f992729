/* fc-conn.c: the channel and the two call shapes (unary, server-streaming).
 *
 * This is the only file of the client that includes gRPC. Every call gets
 * its own pluck completion queue, so one FcClient can serve several threads
 * and a call never sees another call's completions. Streams wait in ticks
 * so that the caller can redraw or act on Ctrl-C between events.
 */
#include <errno.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <string.h>

#include "fc-internal.h"

#define DEFAULT_ADDRESS "127.0.0.1:50051"
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_TICK_MS 100

struct FcClient {
    grpc_channel *channel;
    char *address;
    char *authorization; /* "Bearer <token>", or NULL */
    uint32_t timeout_ms;
};

/* ---- channel ------------------------------------------------------------------ */

static int make_credentials(const FcClientOptions *opts, grpc_channel_credentials **ret, FcError *err)
{
    _cleanup_free_ char *pem = NULL;
    size_t len;
    int r;

    if (!opts->ca_file || !opts->ca_file[0]) {
        *ret = grpc_insecure_credentials_create();
        return 0;
    }
    r = fc_read_file(opts->ca_file, &pem, &len, err);
    if (r < 0)
        return fc_error_wrap(err, "TLS CA file");
    if (!strstr(pem, "-----BEGIN CERTIFICATE-----"))
        return fc_error_set(err, EINVAL, FC_STATUS_OK, "TLS CA file %s holds no PEM certificate", opts->ca_file);
    *ret = grpc_ssl_credentials_create(pem, NULL, NULL, NULL);
    return *ret ? 0 : fc_error_set(err, EINVAL, FC_STATUS_OK, "cannot use %s as TLS CA", opts->ca_file);
}

int fc_client_new(const FcClientOptions *opts, FcClient **ret, FcError *err)
{
    grpc_channel_credentials *creds = NULL;
    grpc_arg args[3];
    grpc_channel_args chargs = {.num_args = 0, .args = args};
    FcClient *c;
    int r;

    r = make_credentials(opts, &creds, err);
    if (r < 0)
        return r;
    c = calloc(1, sizeof(*c));
    if (!c) {
        grpc_channel_credentials_release(creds);
        return fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory");
    }
    grpc_init();
    c->address = strdup(opts->address && opts->address[0] ? opts->address : DEFAULT_ADDRESS);
    c->timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    if (opts->token && opts->token[0] && asprintf(&c->authorization, "Bearer %s", opts->token) < 0)
        c->authorization = NULL, r = -ENOMEM;
    args[chargs.num_args++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
                                         .key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                                         .value.integer = FC_RECV_MAX_BYTES};
    args[chargs.num_args++] = (grpc_arg){.type = GRPC_ARG_STRING,
                                         .key = (char *)GRPC_ARG_PRIMARY_USER_AGENT_STRING,
                                         .value.string = (char *)"flowd-client/0.1"};
    if (opts->tls_server_name && opts->tls_server_name[0])
        args[chargs.num_args++] = (grpc_arg){.type = GRPC_ARG_STRING,
                                             .key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
                                             .value.string = (char *)opts->tls_server_name};
    if (c->address)
        c->channel = grpc_channel_create(c->address, creds, &chargs);
    grpc_channel_credentials_release(creds);
    if (r < 0 || !c->address || !c->channel) {
        fc_client_free(c);
        return fc_error_set(err, ENOMEM, FC_STATUS_OK, "cannot create a channel to %s", fc_str(opts->address));
    }
    *ret = c;
    return 0;
}

FcClient *fc_client_free(FcClient *c)
{
    if (!c)
        return NULL;
    if (c->channel)
        grpc_channel_destroy(c->channel);
    free(c->address);
    if (c->authorization)
        explicit_bzero(c->authorization, strlen(c->authorization));
    free(c->authorization);
    free(c);
    grpc_shutdown();
    return NULL;
}

const char *fc_client_address(const FcClient *c) { return c->address; }

/* ---- one call ------------------------------------------------------------------- */

/* Everything one call owns, released by call_done(). */
typedef struct Call {
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata_array initial_md, trailing_md;
    grpc_byte_buffer *send_buf;
    grpc_status_code status;
    grpc_slice details;
    const char *error_string;
    bool cancelled;
} Call;

static grpc_byte_buffer *encode(const ProtobufCMessage *msg)
{
    grpc_slice s = grpc_slice_malloc(protobuf_c_message_get_packed_size(msg));
    grpc_byte_buffer *bb;

    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static ProtobufCMessage *decode(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc)
{
    grpc_byte_buffer_reader reader;
    ProtobufCMessage *msg;
    grpc_slice s;

    if (!grpc_byte_buffer_reader_init(&reader, bb))
        return NULL;
    s = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    /* protobuf-c copies strings and bytes, so the slice can go right away. */
    msg = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    return msg;
}

static int call_start(FcClient *c, Call *k, const char *method, gpr_timespec deadline)
{
    grpc_slice m = grpc_slice_from_static_string(method);

    *k = (Call){.details = grpc_empty_slice()};
    grpc_metadata_array_init(&k->initial_md);
    grpc_metadata_array_init(&k->trailing_md);
    k->cq = grpc_completion_queue_create_for_pluck(NULL);
    if (!k->cq)
        return -ENOMEM;
    k->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, k->cq, m, NULL, deadline, NULL);
    return k->call ? 0 : -ENOMEM;
}

/* Waits for `tag`, calling on_idle between ticks; an on_idle that asks to
 * stop cancels the call, and the wait goes on until the cancelled op lands. */
static int call_wait(Call *k, void *tag, int (*on_idle)(void *), void *userdata, uint32_t tick_ms, int *stop)
{
    for (;;) {
        gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
        grpc_event ev;

        if (on_idle && !k->cancelled)
            deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(tick_ms, GPR_TIMESPAN));
        ev = grpc_completion_queue_pluck(k->cq, tag, deadline, NULL);
        if (ev.type == GRPC_OP_COMPLETE)
            return ev.success ? 0 : -EIO;
        if (ev.type != GRPC_QUEUE_TIMEOUT)
            return -EIO;
        if (!on_idle)
            continue;
        int r = on_idle(userdata);
        if (r != 0 && !k->cancelled) {
            *stop = r;
            k->cancelled = true;
            grpc_call_cancel(k->call, NULL);
        }
    }
}

static void call_done(Call *k)
{
    if (k->call)
        grpc_call_unref(k->call);
    if (k->send_buf)
        grpc_byte_buffer_destroy(k->send_buf);
    grpc_metadata_array_destroy(&k->initial_md);
    grpc_metadata_array_destroy(&k->trailing_md);
    grpc_slice_unref(k->details);
    if (k->error_string)
        gpr_free((void *)k->error_string);
    if (k->cq) {
        grpc_completion_queue_shutdown(k->cq);
        while (grpc_completion_queue_pluck(k->cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
               GRPC_QUEUE_SHUTDOWN)
            ;
        grpc_completion_queue_destroy(k->cq);
    }
}

/* The gRPC status -> errno + message conversion, in this one place. */
static int call_status(Call *k, const char *method, FcError *err)
{
    _cleanup_free_ char *details = NULL;

    if (k->status == GRPC_STATUS_OK)
        return 0;
    details = grpc_slice_to_c_string(k->details);
    if (details && details[0])
        return fc_error_set(err, fc_status_to_errno((FcStatus)k->status), (FcStatus)k->status, "%s", details);
    return fc_error_set(err, fc_status_to_errno((FcStatus)k->status), (FcStatus)k->status, "%s failed with %s", method,
                        fc_status_name((FcStatus)k->status));
}

/* The ops every call starts with: metadata, the request, half-close. */
static size_t fill_send_ops(FcClient *c, Call *k, bool with_token, grpc_metadata *md, grpc_op *ops)
{
    size_t n = 0;

    ops[n] = (grpc_op){.op = GRPC_OP_SEND_INITIAL_METADATA};
    if (with_token && c->authorization) {
        md->key = grpc_slice_from_static_string("authorization");
        md->value = grpc_slice_from_static_string(c->authorization);
        ops[n].data.send_initial_metadata.count = 1;
        ops[n].data.send_initial_metadata.metadata = md;
    }
    n++;
    ops[n] = (grpc_op){.op = GRPC_OP_SEND_MESSAGE};
    ops[n++].data.send_message.send_message = k->send_buf;
    ops[n++] = (grpc_op){.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT};
    ops[n] = (grpc_op){.op = GRPC_OP_RECV_INITIAL_METADATA};
    ops[n++].data.recv_initial_metadata.recv_initial_metadata = &k->initial_md;
    return n;
}

static grpc_op status_op(Call *k)
{
    grpc_op op = {.op = GRPC_OP_RECV_STATUS_ON_CLIENT};
    op.data.recv_status_on_client.trailing_metadata = &k->trailing_md;
    op.data.recv_status_on_client.status = &k->status;
    op.data.recv_status_on_client.status_details = &k->details;
    op.data.recv_status_on_client.error_string = &k->error_string;
    return op;
}

int fc_rpc_unary(FcClient *c, const char *method, const ProtobufCMessage *request,
                 const ProtobufCMessageDescriptor *response_type, bool with_token, ProtobufCMessage **ret, FcError *err)
{
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(c->timeout_ms, GPR_TIMESPAN));
    grpc_byte_buffer *recv_buf = NULL;
    grpc_metadata md = {0};
    grpc_op ops[6];
    Call k;
    size_t n;
    int r, stop = 0;

    r = call_start(c, &k, method, deadline);
    if (r < 0) {
        call_done(&k);
        return fc_error_set(err, -r, FC_STATUS_OK, "cannot start %s", method);
    }
    k.send_buf = encode(request);
    n = fill_send_ops(c, &k, with_token, &md, ops);
    ops[n] = (grpc_op){.op = GRPC_OP_RECV_MESSAGE};
    ops[n++].data.recv_message.recv_message = &recv_buf;
    ops[n++] = status_op(&k);
    if (grpc_call_start_batch(k.call, ops, n, &k, NULL) != GRPC_CALL_OK) {
        call_done(&k);
        return fc_error_set(err, EIO, FC_STATUS_INTERNAL, "cannot start %s", method);
    }
    r = call_wait(&k, &k, NULL, NULL, 0, &stop);
    if (r == 0)
        r = call_status(&k, method, err);
    else
        fc_error_set(err, EIO, FC_STATUS_INTERNAL, "%s: the call did not complete", method);
    if (r == 0) {
        *ret = recv_buf ? decode(recv_buf, response_type) : NULL;
        if (!*ret)
            r = fc_error_set(err, EBADMSG, FC_STATUS_INTERNAL, "%s: the server's answer is not a %s", method,
                             response_type->name);
    }
    if (recv_buf)
        grpc_byte_buffer_destroy(recv_buf);
    call_done(&k);
    return r;
}

/* Receives messages one at a time until the end of the stream or a stop. */
static int stream_loop(Call *k, const FcStreamSpec *spec, int *stop, FcError *err)
{
    uint32_t tick = spec->tick_ms ? spec->tick_ms : DEFAULT_TICK_MS;

    while (!*stop) {
        grpc_byte_buffer *buf = NULL;
        grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
        ProtobufCMessage *msg;

        op.data.recv_message.recv_message = &buf;
        if (grpc_call_start_batch(k->call, &op, 1, &buf, NULL) != GRPC_CALL_OK)
            return fc_error_set(err, EIO, FC_STATUS_INTERNAL, "cannot receive on %s", spec->method);
        if (call_wait(k, &buf, spec->on_idle, spec->userdata, tick, stop) < 0 || !buf)
            return 0; /* end of stream, or failed: the status says which */
        msg = decode(buf, spec->response_type);
        grpc_byte_buffer_destroy(buf);
        if (!msg)
            return fc_error_set(err, EBADMSG, FC_STATUS_INTERNAL, "%s: a streamed message is not a %s", spec->method,
                                spec->response_type->name);
        int r = spec->on_message(msg, spec->userdata);
        protobuf_c_message_free_unpacked(msg, NULL);
        if (r != 0) {
            *stop = r;
            k->cancelled = true;
            grpc_call_cancel(k->call, NULL);
        }
    }
    return 0;
}

int fc_rpc_stream(FcClient *c, const FcStreamSpec *spec, FcError *err)
{
    grpc_metadata md = {0};
    grpc_op ops[5], st;
    int status_tag, r, stop = 0;
    size_t n;
    Call k;

    r = call_start(c, &k, spec->method, gpr_inf_future(GPR_CLOCK_MONOTONIC));
    if (r < 0) {
        call_done(&k);
        return fc_error_set(err, -r, FC_STATUS_OK, "cannot start %s", spec->method);
    }
    k.send_buf = encode(spec->request);
    n = fill_send_ops(c, &k, true, &md, ops);
    st = status_op(&k);
    if (grpc_call_start_batch(k.call, ops, n, &k, NULL) != GRPC_CALL_OK ||
        grpc_call_start_batch(k.call, &st, 1, &status_tag, NULL) != GRPC_CALL_OK) {
        call_done(&k);
        return fc_error_set(err, EIO, FC_STATUS_INTERNAL, "cannot start %s", spec->method);
    }
    /* The first batch fails when the server is unreachable; the status then
     * says why, so its result is not checked here. */
    (void)call_wait(&k, &k, spec->on_idle, spec->userdata, spec->tick_ms ? spec->tick_ms : DEFAULT_TICK_MS, &stop);
    r = stop ? 0 : stream_loop(&k, spec, &stop, err);
    (void)call_wait(&k, &status_tag, NULL, NULL, 0, &stop);
    if (r == 0 && stop < 0)
        r = fc_error_set(err, -stop, FC_STATUS_OK, "stopped: %s", strerror(-stop));
    else if (r == 0 && stop > 0)
        r = fc_error_set(err, ECANCELED, FC_STATUS_CANCELLED, "stopped by the caller");
    else if (r == 0)
        r = call_status(&k, spec->method, err);
    call_done(&k);
    return r;
}
