/* http.h: flowd's HTTP endpoint for operators (DESIGN.md §2), on
 * libmicrohttpd with its own polling thread:
 *
 *   GET /metrics  the registry in the Prometheus text format 0.0.4
 *   GET /healthz  200 "ok" while the process runs (liveness)
 *   GET /readyz   200 when ready, else 503; a JSON body names what is not
 *                 ready and states the sandbox mode
 *   HEAD works wherever GET does; other methods get 405, other paths 404.
 *
 * Readiness comes from a callback the server passes in, so this module does
 * not depend on the engine, the store or the sandbox. */
#ifndef FLOWD_HTTP_H
#define FLOWD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "server/metrics/met.h"

typedef struct HttpReadiness {
    bool store_writable;
    bool zygote_alive;
    bool draining;
    /* "cgroup" or "rlimit" (sbx_mode_name); a string that outlives the
     * server, or NULL for "unknown". */
    const char *sandbox_mode;
} HttpReadiness;

/* Fills the readiness; called on the HTTP thread for every /readyz, so it
 * must be cheap and thread-safe. */
typedef void (*HttpReadyFn)(HttpReadiness *ret, void *userdata);

typedef struct HttpConfig {
    /* "host:port", "[v6addr]:port", ":port" (every address) or
     * "unix:PATH"; port 0 picks a free port (see http_port). */
    const char *listen;
    MetRegistry *registry; /* NULL: /metrics answers 503 */
    HttpReadyFn ready;     /* NULL: never ready */
    void *ready_userdata;
} HttpConfig;

typedef struct HttpServer HttpServer;

/* Binds and starts the server thread. Call after the process blocked the
 * signals it waits for, so the thread inherits the mask. Returns 0, or
 * -errno with a one-line message in err: -EINVAL for a bad address,
 * -EADDRINUSE, -EACCES, ... */
int http_start(const HttpConfig *cfg, HttpServer **ret, char *err, size_t err_size);
/* The bound TCP port (useful with port 0); 0 for a unix socket. */
int http_port(const HttpServer *s);
/* Stops the thread and closes the socket. Accepts NULL; returns NULL. */
HttpServer *http_stop(HttpServer *s);

/* True when r says ready: the store writable, the zygotes alive, not
 * draining. */
bool http_readiness_ok(const HttpReadiness *r);
/* The /readyz body for r (a JSON object); the caller frees it. */
char *http_readiness_json(const HttpReadiness *r);

#endif
