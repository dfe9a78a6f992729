/* The HTTP server: libmicrohttpd with its own polling thread, three
 * read-only endpoints. */
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server/http/http-internal.h"
#include "server/util/log.h"
#include "server/util/util.h"

/* Scrapers and probes are few; a flood of connections must not take
 * memory or threads from the engine. */
#define HTTP_MAX_CONNECTIONS 32
#define HTTP_TIMEOUT_SECONDS 10

struct HttpServer {
    struct MHD_Daemon *daemon;
    int port;
    char *unix_path; /* removed at stop */
    MetRegistry *registry;
    HttpReadyFn ready;
    void *ready_userdata;
};

typedef struct Reply {
    unsigned status;
    const char *content_type;
    char *body; /* owned; NULL for an empty body */
    size_t len;
    const char *allow; /* for 405 */
} Reply;

bool http_readiness_ok(const HttpReadiness *r) { return r->store_writable && r->zygote_alive && !r->draining; }

static void json_string(StrBuf *b, const char *s)
{
    sb_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            sb_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            sb_printf(b, "\\u%04x", *p);
        else
            sb_append(b, (const char *)p, 1);
    }
    sb_puts(b, "\"");
}

static void not_ready_reasons(StrBuf *b, const HttpReadiness *r)
{
    const char *sep = "";
    sb_puts(b, "\"not_ready\":[");
    if (!r->store_writable) {
        sb_printf(b, "%s\"store not writable\"", sep);
        sep = ",";
    }
    if (!r->zygote_alive) {
        sb_printf(b, "%s\"sandbox zygote not alive\"", sep);
        sep = ",";
    }
    if (r->draining)
        sb_printf(b, "%s\"draining (shutting down)\"", sep);
    sb_puts(b, "],");
}

char *http_readiness_json(const HttpReadiness *r)
{
    StrBuf b = {0};
    const char *mode = r->sandbox_mode ? r->sandbox_mode : "unknown";
    bool ok = http_readiness_ok(r);

    sb_printf(&b, "{\"status\":\"%s\",", ok ? "ready" : "not ready");
    if (!ok)
        not_ready_reasons(&b, r);
    sb_puts(&b, "\"sandbox_mode\":");
    json_string(&b, mode);
    /* DESIGN.md §3: a weakened sandbox is said wherever the mode is shown. */
    if (strcmp(mode, "rlimit") == 0)
        sb_puts(&b, ",\"sandbox_warning\":\"FLOWD_SANDBOX=rlimit: nodes run with rlimits only, without cgroup "
                    "limits; do not run untrusted workflows\"");
    sb_printf(&b, ",\"checks\":{\"store_writable\":%s,\"zygote_alive\":%s,\"draining\":%s}}\n",
              r->store_writable ? "true" : "false", r->zygote_alive ? "true" : "false", r->draining ? "true" : "false");
    return sb_take(&b);
}

static void reply_text(Reply *rep, unsigned status, const char *text)
{
    *rep = (Reply){
        .status = status, .content_type = "text/plain; charset=utf-8", .body = xstrdup(text), .len = strlen(text)};
}

static void serve_metrics(const HttpServer *s, Reply *rep)
{
    if (!s->registry || met_render(s->registry, &rep->body, &rep->len) < 0) {
        reply_text(rep, MHD_HTTP_SERVICE_UNAVAILABLE, "metrics are not available\n");
        return;
    }
    rep->status = MHD_HTTP_OK;
    rep->content_type = MET_CONTENT_TYPE;
}

static void serve_readyz(const HttpServer *s, Reply *rep)
{
    HttpReadiness r = {0};
    if (s->ready)
        s->ready(&r, s->ready_userdata);
    rep->body = http_readiness_json(&r);
    rep->len = strlen(rep->body);
    rep->status = http_readiness_ok(&r) ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
    rep->content_type = "application/json";
}

static void route(const HttpServer *s, const char *url, const char *method, Reply *rep)
{
    bool known = strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0;

    if (!known) {
        reply_text(rep, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /healthz or /readyz\n");
        return;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        reply_text(rep, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
        rep->allow = "GET, HEAD";
        return;
    }
    if (strcmp(url, "/metrics") == 0)
        serve_metrics(s, rep);
    else if (strcmp(url, "/healthz") == 0)
        reply_text(rep, MHD_HTTP_OK, "ok\n");
    else
        serve_readyz(s, rep);
}

static enum MHD_Result queue_reply(struct MHD_Connection *c, Reply *rep)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(rep->len, rep->body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(rep->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (rep->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow);
    enum MHD_Result r = MHD_queue_response(c, rep->status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* libmicrohttpd calls this once when the headers are in, then again for
 * each piece of a request body. Every endpoint answers on the first call;
 * a body (which no endpoint takes) is never read. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    Reply rep = {0};
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;

    route(cls, url, method, &rep);
    return queue_reply(c, &rep);
}

/* libmicrohttpd's own messages (a client that went away, a malformed
 * request) are noise at the default level. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    if (!log_enabled(LOG_DEBUG))
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_debug(NULL, "http: %s", msg);
}

int http_start(const HttpConfig *cfg, HttpServer **ret, char *err, size_t err_size)
{
    int fd = -1, port = 0;

    if (!cfg->listen) {
        snprintf(err, err_size, "FLOWD_HTTP_LISTEN: no address");
        return -EINVAL;
    }
    int r = http_listen(cfg->listen, &fd, &port, err, err_size);
    if (r < 0)
        return r;
    HttpServer *s = xcalloc(1, sizeof(*s));
    *s = (HttpServer){
        .port = port, .registry = cfg->registry, .ready = cfg->ready, .ready_userdata = cfg->ready_userdata};
    if (strncmp(cfg->listen, "unix:", 5) == 0)
        s->unix_path = xstrdup(cfg->listen + 5);
    s->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, s,
                                 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_SECONDS, MHD_OPTION_END);
    if (!s->daemon) {
        close(fd);
        if (s->unix_path)
            unlink(s->unix_path);
        free(s->unix_path);
        free(s);
        snprintf(err, err_size, "cannot start the HTTP server on %s (libmicrohttpd failed)", cfg->listen);
        return -EIO;
    }
    *ret = s;
    return 0;
}

int http_port(const HttpServer *s) { return s ? s->port : 0; }

HttpServer *http_stop(HttpServer *s)
{
    if (!s)
        return NULL;
    /* This also closes the listening socket libmicrohttpd was given. */
    MHD_stop_daemon(s->daemon);
    if (s->unix_path)
        unlink(s->unix_path);
    free(s->unix_path);
    free(s);
    return NULL;
}
