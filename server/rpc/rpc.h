/* rpc.h: flowd's gRPC front: flowd.v1.WorkflowService and
 * grpc.health.v1.Health on gRPC C core, with completion-queue worker threads
 * (DESIGN.md §2, §5). */
#ifndef FLOWD_RPC_H
#define FLOWD_RPC_H

#include <stdbool.h>
#include <stdint.h>

#include "sandbox/sbx.h"
#include "server/auth/auth.h"
#include "server/engine/eng.h"
#include "server/store/store.h"

/* Who is calling, after authentication. */
typedef struct RpcCaller {
    char user[128];
    char tenant[128];
    unsigned roles; /* bit set of RpcRole */
    EngCaller quota;
} RpcCaller;

/* Resolves a bearer token to a caller: 0, or -EACCES for an unknown token.
 * token is NULL when the call carried none. */
typedef int (*RpcAuthFn)(const char *token, RpcCaller *ret, void *userdata);

/* One record per finished call, for the audit log. */
typedef void (*RpcAuditFn)(const AuthAudit *rec, void *userdata);

typedef struct RpcConfig {
    const char *listen; /* "127.0.0.1:50051" */
    unsigned threads;   /* completion-queue workers; 0 = auto */
    Engine *engine;
    Store *store;
    SbxPool *sbx;
    RpcAuthFn auth; /* NULL: no authentication (FLOWD_AUTH=none) */
    void *auth_userdata;
    const char *version;
    const char *sandbox_mode;
    uint32_t cgroup_version;
    uint32_t max_message_mb;
    const char *tls_cert_pem; /* NULL: plaintext */
    const char *tls_key_pem;
    const char *tls_client_ca_pem;
    /* A plaintext listener serving only grpc.health.v1.Health (Kubernetes'
     * grpc probes speak plaintext); NULL: none. */
    const char *health_listen;
    RpcAuditFn audit;
    void *audit_userdata;
} RpcConfig;

typedef struct RpcServer RpcServer;

/* Binds and starts serving. Returns 0 or -errno with a message in err. */
int rpc_start(const RpcConfig *cfg, RpcServer **ret, char *err, size_t err_size);
/* The bound port (useful with ":0"). */
int rpc_port(const RpcServer *s);
/* Health: "" is SERVING from start until shutdown (liveness);
 * flowd.v1.WorkflowService is SERVING only while also ready: store
 * writable, sandbox alive, not draining (readiness). */
void rpc_set_serving(RpcServer *s, bool serving);
void rpc_set_ready(RpcServer *s, bool ready);
/* Stops accepting calls; open streams get up to grace_ms, then are cancelled. */
void rpc_shutdown(RpcServer *s, uint32_t grace_ms);
RpcServer *rpc_free(RpcServer *s);

#endif
