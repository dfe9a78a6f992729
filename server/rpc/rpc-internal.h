/* rpc-internal.h: the gRPC layer's private types. gRPC status codes appear
 * only in this layer: the engine and the store speak -errno. */
#ifndef FLOWD_RPC_INTERNAL_H
#define FLOWD_RPC_INTERNAL_H

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>

#include "server/rpc/rpc.h"
#include "server/util/log.h"

typedef struct RpcCall RpcCall;
typedef struct RpcServer RpcServer;

typedef enum RpcKind {
    RPC_UNARY,
    RPC_SERVER_STREAM,
    _RPC_KIND_MAX,
} RpcKind;

/* The role a method needs (DESIGN.md §6). */
typedef enum RpcRole {
    ROLE_NONE, /* health: anyone */
    ROLE_VIEWER,
    ROLE_SUBMITTER,
    ROLE_ADMIN,
    _ROLE_MAX,
} RpcRole;

typedef void (*RpcHandler)(RpcCall *c, const ProtobufCMessage *req);

typedef struct RpcMethodDef {
    const char *path; /* "/flowd.v1.WorkflowService/GetRun" */
    const char *name; /* "GetRun", for logs and metrics */
    const ProtobufCMessageDescriptor *request;
    RpcKind kind;
    RpcRole role;
    RpcHandler handler;
    bool has_workflow; /* field 1 of the request is a Workflow */
} RpcMethodDef;

typedef enum RpcTagKind {
    TAG_NEW_CALL,
    TAG_NEW_GENERIC,
    TAG_CLOSE,
    TAG_SEND,
    TAG_SHUTDOWN,
    _TAG_KIND_MAX,
} RpcTagKind;

typedef struct RpcTag {
    RpcTagKind kind;
    void *ptr;
} RpcTag;

/* One outstanding request for new calls of a registered method. */
typedef struct RpcPending {
    RpcTag tag;
    RpcServer *srv;
    grpc_server *gs; /* the main server or the health-only one */
    const RpcMethodDef *def;
    void *handle;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
} RpcPending;

typedef struct RpcStream RpcStream;

/* The outstanding request for calls to methods a server does not have. */
typedef struct RpcGeneric {
    RpcTag tag;
    RpcServer *srv;
    grpc_server *gs;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
} RpcGeneric;

struct RpcCall {
    RpcServer *srv;
    const RpcMethodDef *def;
    grpc_call *call;
    grpc_metadata_array md;
    pthread_mutex_t mu;
    atomic_int refs;
    RpcTag tag_close;
    RpcTag tag_send;
    int cancelled; /* set by RECV_CLOSE_ON_SERVER */
    bool closed;   /* RECV_CLOSE_ON_SERVER completed */
    bool md_sent;  /* initial metadata sent */
    bool status_sent;
    bool sending; /* a send batch is in flight */
    grpc_byte_buffer *send_bb;
    grpc_slice status_details;
    grpc_status_code code; /* the status sent, for logs and metrics */
    uint64_t start_mono;
    RpcCaller caller;
    bool authenticated;
    char audit_run[64];                        /* the run the call was about, for the audit log */
    RpcStream *stream;                         /* server-streaming calls */
    bool health_watch;                         /* a Health/Watch stream */
    bool health_known;                         /* it watches "" or flowd.v1.WorkflowService */
    bool health_service;                       /* it watches flowd.v1.WorkflowService */
    int health_sent;                           /* the last status sent, -1: none */
    void (*on_send_done)(RpcCall *c, bool ok); /* streams: next step */
};

struct RpcServer {
    RpcConfig cfg;
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t *threads;
    unsigned n_threads;
    RpcPending *pending; /* one per method */
    size_t n_pending;
    RpcGeneric generic;
    /* The plaintext health-only server (RpcConfig.health_listen). */
    grpc_server *health_server;
    RpcPending *health_pending;
    size_t n_health_pending;
    RpcGeneric health_generic;
    int health_port;
    RpcTag shutdown_tag;
    atomic_int shutdowns_done; /* shutdown tags received (one per grpc_server) */
    atomic_bool shutting_down;
    atomic_bool serving;
    atomic_bool ready;
    atomic_int live_calls;
    int port;
    /* Health Watch streams, under health_mu. */
    pthread_mutex_t health_mu;
    RpcCall **health_watchers;
    size_t n_health_watchers;
    size_t health_watchers_cap;
    /* The stream pump (rpc-stream.c). */
    pthread_t pump_thread;
    pthread_mutex_t pump_mu;
    pthread_cond_t pump_cv;
    RpcCall **pump_queue;
    size_t pump_len;
    size_t pump_cap;
    bool pump_stop;
};

extern const RpcMethodDef rpc_workflow_methods[];
extern const size_t rpc_n_workflow_methods;
extern const RpcMethodDef rpc_health_methods[];
extern const size_t rpc_n_health_methods;

/* rpc-server.c: replies. Each takes the call's mutex itself unless noted. */
void rpc_call_ref(RpcCall *c);
/* Names the run a call is about, for the audit log. */
void rpc_set_run(RpcCall *c, const char *run_id);
void rpc_call_unref(RpcCall *c);
/* A unary reply: packs msg (borrowed) and sends it with status OK. */
void rpc_reply(RpcCall *c, const ProtobufCMessage *msg);
/* Ends the call with a status and a message (also for streams). */
void rpc_fail(RpcCall *c, grpc_status_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Streams, with c->mu held: send one message (a packed protobuf), or the
 * final status. Return false when the call is gone. */
bool rpc_send_locked(RpcCall *c, const void *data, size_t len);
bool rpc_finish_locked(RpcCall *c, grpc_status_code code, const char *message);
/* Maps -errno from the engine or store to a status. */
grpc_status_code rpc_status_from_errno(int err);
const char *rpc_status_name(grpc_status_code code);

/* rpc-wire.c: counts the nodes and connections of the workflow in field 1
 * of a request without decoding it. */
void rpc_wire_count_workflow(const uint8_t *buf, size_t len, size_t *ret_nodes, size_t *ret_conns);
/* The most a request may carry, checked on the wire (the engine's limits). */
#define RPC_MAX_NODES 200000
#define RPC_MAX_CONNS 500000

/* rpc-stream.c */
int rpc_pump_start(RpcServer *s);
void rpc_pump_stop(RpcServer *s);
/* Starts following a run's events after after_seq; the call ends after the
 * terminal event. */
void rpc_stream_run(RpcCall *c, const char *run_id, uint64_t after_seq);
void rpc_stream_free(RpcCall *c);
void rpc_stream_on_close(RpcCall *c);

/* rpc-health.c */
void rpc_health_on_close(RpcCall *c);
void rpc_health_broadcast(RpcServer *s);

/* rpc-auth.c */
/* Resolves the caller from the call's metadata; on failure sends the status
 * and returns false. */
bool rpc_authorize(RpcCall *c);
bool rpc_caller_has(const RpcCaller *who, RpcRole role);
const char *rpc_role_name(RpcRole r);

#endif
