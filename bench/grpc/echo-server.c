/* echo-server.c: a bare unary echo server on gRPC C-core, the floor of
 * bench_grpc. It does only what any unary gRPC server must: accept the call,
 * send initial metadata, the message and an OK status in one batch. */
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/grpc/echo.h"

#define ECHO_THREADS 4 /* flowd's default on 2 CPUs */
#define ECHO_ARMED 64  /* requested calls kept outstanding */

typedef enum TagKind { TAG_NEW, TAG_CLOSE, TAG_SEND } TagKind;

typedef struct EchoCall EchoCall;
typedef struct Tag {
    EchoCall *call;
    TagKind kind;
} Tag;

struct EchoCall {
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    int cancelled;
    atomic_int pending;
    Tag t_new, t_close, t_send;
};

static grpc_server *server;
static grpc_completion_queue *cq;
static void *method;

static void arm(void)
{
    EchoCall *c = calloc(1, sizeof(*c));

    if (!c)
        abort();
    c->t_new = (Tag){c, TAG_NEW};
    c->t_close = (Tag){c, TAG_CLOSE};
    c->t_send = (Tag){c, TAG_SEND};
    grpc_metadata_array_init(&c->md);
    if (grpc_server_request_registered_call(server, method, &c->call, &c->deadline, &c->md, &c->payload, cq, cq,
                                            &c->t_new) != GRPC_CALL_OK)
        abort();
}

static void release(EchoCall *c)
{
    if (atomic_fetch_sub(&c->pending, 1) != 1)
        return;
    grpc_metadata_array_destroy(&c->md);
    if (c->payload)
        grpc_byte_buffer_destroy(c->payload);
    grpc_call_unref(c->call);
    free(c);
}

static void answer(EchoCall *c)
{
    grpc_op close = {.op = GRPC_OP_RECV_CLOSE_ON_SERVER};
    grpc_op ops[3] = {
        {.op = GRPC_OP_SEND_INITIAL_METADATA}, {.op = GRPC_OP_SEND_MESSAGE}, {.op = GRPC_OP_SEND_STATUS_FROM_SERVER}};

    atomic_store(&c->pending, 2);
    close.data.recv_close_on_server.cancelled = &c->cancelled;
    ops[1].data.send_message.send_message = c->payload;
    ops[2].data.send_status_from_server.status = GRPC_STATUS_OK;
    /* Both batches are started by this thread before any completion of this
     * call can run, so no per-call lock is needed. */
    if (grpc_call_start_batch(c->call, &close, 1, &c->t_close, NULL) != GRPC_CALL_OK ||
        grpc_call_start_batch(c->call, ops, c->payload ? 3 : 1, &c->t_send, NULL) != GRPC_CALL_OK)
        abort();
}

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            return NULL;
        Tag *t = ev.tag;
        if (t->kind == TAG_NEW) {
            if (!ev.success) { /* shutting down */
                grpc_metadata_array_destroy(&t->call->md);
                free(t->call);
                continue;
            }
            arm();
            answer(t->call);
        } else
            release(t->call);
    }
}

int echo_server_main(int port_fd)
{
    pthread_t th[ECHO_THREADS];
    char buf[64];

    grpc_init();
    server = grpc_server_create(NULL, NULL);
    cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(server, cq, NULL);
    method = grpc_server_register_method(server, ECHO_METHOD, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    int port = grpc_server_add_http2_port(server, "127.0.0.1:0", creds);
    grpc_server_credentials_release(creds);
    if (!method || port <= 0)
        return 1;
    grpc_server_start(server);
    for (int i = 0; i < ECHO_ARMED; i++)
        arm();
    for (int i = 0; i < ECHO_THREADS; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    int n = snprintf(buf, sizeof(buf), "%d\n", port);
    if (write(port_fd, buf, (size_t)n) != n)
        return 1;
    close(port_fd);
    /* Serve until the benchmark closes our stdin (or dies). */
    while (read(0, buf, sizeof(buf)) > 0)
        ;
    _exit(0);
}
