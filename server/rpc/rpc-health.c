/* grpc.health.v1.Health for "" and flowd.v1.WorkflowService: SERVING while
 * the server is started, not draining, and its store and sandbox work;
 * NOT_SERVING otherwise. Kubernetes' grpc probes call Check; Watch streams
 * each change. */
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "server/rpc/rpc-internal.h"

#define SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define SERVICE_UNKNOWN GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN

static bool known_service(const char *name) { return !name || !*name || strcmp(name, "flowd.v1.WorkflowService") == 0; }

static bool is_service(const char *name) { return name && strcmp(name, "flowd.v1.WorkflowService") == 0; }

/* "" is the process (liveness), the service also needs readiness. */
static int current_status(RpcServer *s, bool service)
{
    bool up = atomic_load(&s->serving) && (!service || atomic_load(&s->ready));
    return up ? SERVING : NOT_SERVING;
}

static void health_check(RpcCall *c, const ProtobufCMessage *m)
{
    const Grpc__Health__V1__HealthCheckRequest *req = (const void *)m;
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

    if (!known_service(req->service)) {
        rpc_fail(c, GRPC_STATUS_NOT_FOUND, "unknown service \"%s\"; flowd serves \"\" and flowd.v1.WorkflowService",
                 req->service);
        return;
    }
    resp.status = current_status(c->srv, is_service(req->service));
    rpc_reply(c, &resp.base);
}

/* c->mu held: sends the status if it changed and no send is in flight. */
static void watch_send_locked(RpcCall *c)
{
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    uint8_t buf[16];

    if (c->sending || c->closed || c->status_sent)
        return;
    resp.status = c->health_known ? current_status(c->srv, c->health_service) : SERVICE_UNKNOWN;
    if ((int)resp.status == c->health_sent)
        return;
    size_t len = grpc__health__v1__health_check_response__pack(&resp, buf);
    c->health_sent = (int)resp.status;
    rpc_send_locked(c, buf, len);
}

static void watch_send_done(RpcCall *c, bool ok)
{
    if (ok)
        watch_send_locked(c);
}

static void health_watch(RpcCall *c, const ProtobufCMessage *m)
{
    const Grpc__Health__V1__HealthCheckRequest *req = (const void *)m;
    RpcServer *s = c->srv;

    pthread_mutex_lock(&s->health_mu);
    if (s->n_health_watchers == s->health_watchers_cap) {
        s->health_watchers_cap = s->health_watchers_cap ? s->health_watchers_cap * 2 : 8;
        s->health_watchers = realloc(s->health_watchers, s->health_watchers_cap * sizeof(RpcCall *));
    }
    rpc_call_ref(c);
    s->health_watchers[s->n_health_watchers++] = c;
    pthread_mutex_lock(&c->mu);
    c->health_watch = true;
    c->health_known = known_service(req->service);
    c->health_service = is_service(req->service);
    c->health_sent = -1;
    c->on_send_done = watch_send_done;
    watch_send_locked(c);
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_unlock(&s->health_mu);
}

void rpc_health_on_close(RpcCall *c)
{
    RpcServer *s = c->srv;
    bool found = false;

    if (!c->health_watch)
        return;
    pthread_mutex_lock(&s->health_mu);
    for (size_t i = 0; i < s->n_health_watchers; i++)
        if (s->health_watchers[i] == c) {
            s->health_watchers[i] = s->health_watchers[--s->n_health_watchers];
            found = true;
            break;
        }
    pthread_mutex_unlock(&s->health_mu);
    if (found)
        rpc_call_unref(c);
}

void rpc_health_broadcast(RpcServer *s)
{
    pthread_mutex_lock(&s->health_mu);
    for (size_t i = 0; i < s->n_health_watchers; i++) {
        RpcCall *c = s->health_watchers[i];
        pthread_mutex_lock(&c->mu);
        watch_send_locked(c);
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&s->health_mu);
}

const RpcMethodDef rpc_health_methods[] = {
    {"/grpc.health.v1.Health/Check", "Health.Check", &grpc__health__v1__health_check_request__descriptor, RPC_UNARY,
     ROLE_NONE, health_check},
    {"/grpc.health.v1.Health/Watch", "Health.Watch", &grpc__health__v1__health_check_request__descriptor,
     RPC_SERVER_STREAM, ROLE_NONE, health_watch},
};
const size_t rpc_n_health_methods = sizeof(rpc_health_methods) / sizeof(rpc_health_methods[0]);
