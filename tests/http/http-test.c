/* The HTTP endpoint, started on port 0 and queried over a real socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "server/http/http.h"
#include "server/metrics/met.h"

typedef struct Resp {
    int status;
    char head[4096];
    char *body;
    size_t body_len;
} Resp;

static MetRegistry *reg;
static MetFamily *hits;
static HttpReadiness readiness;
static HttpServer *server;

static void fake_ready(HttpReadiness *ret, void *userdata)
{
    (void)userdata;
    *ret = readiness;
}

static int setup(void **state)
{
    char err[256] = "";
    (void)state;
    met_registry_new(&reg);
    met_register(reg, &(MetDesc){.name = "hits_total", .type = MET_COUNTER, .help = "Hits."}, &hits);
    readiness = (HttpReadiness){.store_writable = true, .zygote_alive = true, .sandbox_mode = "cgroup"};
    HttpConfig cfg = {.listen = "127.0.0.1:0", .registry = reg, .ready = fake_ready};
    int r = http_start(&cfg, &server, err, sizeof(err));
    if (r < 0)
        fprintf(stderr, "http_start: %s\n", err);
    return r;
}

static int teardown(void **state)
{
    (void)state;
    server = http_stop(server);
    reg = met_registry_free(reg);
    return 0;
}

static void resp_free(Resp *r) { free(r->body); }

static int connect_to(const struct sockaddr *sa, socklen_t len)
{
    struct timeval tv = {5, 0};
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, sa, len) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

static int connect_tcp(int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    return connect_to((struct sockaddr *)&sin, sizeof(sin));
}

static char *read_all(int fd, size_t *ret_len)
{
    size_t len = 0, cap = 8192;
    char *buf = malloc(cap);
    for (ssize_t n; (n = read(fd, buf + len, cap - len - 1)) > 0;) {
        len += (size_t)n;
        if (cap - len < 1024)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    *ret_len = len;
    return buf;
}

/* Sends one HTTP/1.1 request on fd (closing it) and parses the answer. */
static int exchange(int fd, const char *method, const char *path, Resp *ret)
{
    char req[512];
    size_t len;
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n", method, path,
                     strcmp(method, "POST") == 0 ? "Content-Length: 0\r\n" : "");
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -EIO;
    }
    char *all = read_all(fd, &len);
    close(fd);
    char *end = strstr(all, "\r\n\r\n");
    if (!end || sscanf(all, "HTTP/1.%*d %d", &ret->status) != 1) {
        free(all);
        return -EPROTO;
    }
    snprintf(ret->head, sizeof(ret->head), "%.*s", (int)(end - all), all);
    ret->body_len = len - (size_t)(end + 4 - all);
    ret->body = strdup(end + 4);
    free(all);
    return 0;
}

static int request(int port, const char *method, const char *path, Resp *ret)
{
    int fd = connect_tcp(port);
    return fd < 0 ? fd : exchange(fd, method, path, ret);
}

static Resp get(const char *path)
{
    Resp r = {0};
    assert_int_equal(request(http_port(server), "GET", path, &r), 0);
    return r;
}

/* The value of a response header, compared case-insensitively by name. */
static const char *header(const Resp *r, const char *name, char *buf, size_t size)
{
    size_t n = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n + strspn(p + 3 + n, " ");
            snprintf(buf, size, "%.*s", (int)strcspn(v, "\r"), v);
            return buf;
        }
    return NULL;
}

static void test_http_start_picks_free_port(void **state)
{
    (void)state;
    assert_true(http_port(server) > 0 && http_port(server) < 65536);
}

static void test_http_healthz_ok(void **state)
{
    (void)state;
    Resp r = get("/healthz");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    resp_free(&r);
}

static void test_http_metrics_exposition(void **state)
{
    char ct[128];
    (void)state;
    met_add(met_series0(hits), 41);
    met_inc(met_series0(hits));
    Resp r = get("/metrics");
    assert_int_equal(r.status, 200);
    assert_non_null(header(&r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(r.body, "# HELP hits_total Hits.\n# TYPE hits_total counter\nhits_total 42\n");
    resp_free(&r);
}

static void test_http_head_has_headers_and_no_body(void **state)
{
    char ct[128];
    (void)state;
    Resp r = {0};
    assert_int_equal(request(http_port(server), "HEAD", "/metrics", &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(header(&r, "Content-Type", ct, sizeof(ct)));
    assert_int_equal(r.body_len, 0);
    resp_free(&r);
}

static void test_http_readyz_ready(void **state)
{
    char ct[64];
    (void)state;
    Resp r = get("/readyz");
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type", ct, sizeof(ct)), "application/json");
    assert_string_equal(r.body, "{\"status\":\"ready\",\"sandbox_mode\":\"cgroup\",\"checks\":{\"store_writable\":true,"
                                "\"zygote_alive\":true,\"draining\":false}}\n");
    resp_free(&r);
}

static void test_http_readyz_names_what_is_not_ready(void **state)
{
    (void)state;
    readiness =
        (HttpReadiness){.store_writable = false, .zygote_alive = false, .draining = true, .sandbox_mode = "rlimit"};
    Resp r = get("/readyz");
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"status\":\"not ready\""));
    assert_non_null(strstr(r.body, "\"not_ready\":[\"store not writable\",\"sandbox zygote not alive\","
                                   "\"draining (shutting down)\"]"));
    assert_non_null(strstr(r.body, "\"sandbox_mode\":\"rlimit\""));
    assert_non_null(strstr(r.body, "\"sandbox_warning\":"));
    resp_free(&r);

    readiness = (HttpReadiness){.store_writable = true, .zygote_alive = true, .draining = true};
    r = get("/readyz");
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"not_ready\":[\"draining (shutting down)\"]"));
    assert_non_null(strstr(r.body, "\"sandbox_mode\":\"unknown\""));
    resp_free(&r);
}

static void test_http_readyz_without_callback_is_not_ready(void **state)
{
    char err[256];
    HttpServer *s = NULL;
    Resp r = {0};
    (void)state;
    assert_int_equal(http_start(&(HttpConfig){.listen = "127.0.0.1:0"}, &s, err, sizeof(err)), 0);
    assert_int_equal(request(http_port(s), "GET", "/readyz", &r), 0);
    assert_int_equal(r.status, 503);
    resp_free(&r);
    assert_int_equal(request(http_port(s), "GET", "/metrics", &r), 0);
    assert_int_equal(r.status, 503);
    resp_free(&r);
    http_stop(s);
}

static void test_http_unknown_path_is_404(void **state)
{
    (void)state;
    const char *paths[] = {"/", "/metrics/", "/metricsx", "/readyz/../healthz2", "/favicon.ico"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        Resp r = get(paths[i]);
        assert_int_equal(r.status, 404);
        resp_free(&r);
    }
}

static void test_http_other_methods_are_405(void **state)
{
    char allow[64];
    (void)state;
    const char *methods[] = {"POST", "PUT", "DELETE", "PATCH"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        Resp r = {0};
        assert_int_equal(request(http_port(server), methods[i], "/metrics", &r), 0);
        assert_int_equal(r.status, 405);
        assert_string_equal(header(&r, "Allow", allow, sizeof(allow)), "GET, HEAD");
        resp_free(&r);
    }
}

static void test_http_start_rejects_bad_addresses(void **state)
{
    (void)state;
    const char *bad[] = {"nonsense",
                         "127.0.0.1",
                         "127.0.0.1:",
                         "127.0.0.1:99999",
                         "127.0.0.1:80x",
                         "[::1:80",
                         "no.such.host.invalid:80",
                         "1.2.3.4:5:6",
                         "unix:"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        HttpServer *s = NULL;
        assert_int_equal(http_start(&(HttpConfig){.listen = bad[i]}, &s, err, sizeof(err)), -EINVAL);
        assert_null(s);
        assert_true(strlen(err) > 0);
    }
}

static void test_http_start_port_in_use(void **state)
{
    char addr[64], err[256] = "";
    HttpServer *s = NULL;
    (void)state;
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", http_port(server));
    assert_int_equal(http_start(&(HttpConfig){.listen = addr}, &s, err, sizeof(err)), -EADDRINUSE);
    assert_non_null(strstr(err, addr));
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *de; d && (de = readdir(d));)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_http_stop_closes_the_socket(void **state)
{
    char err[256];
    HttpServer *s = NULL;
    (void)state;
    int before = count_fds();
    assert_int_equal(http_start(&(HttpConfig){.listen = "127.0.0.1:0"}, &s, err, sizeof(err)), 0);
    int port = http_port(s);
    Resp r = {0};
    assert_int_equal(request(port, "GET", "/healthz", &r), 0);
    resp_free(&r);
    assert_null(http_stop(s));
    assert_int_equal(count_fds(), before);
    assert_int_equal(connect_tcp(port), -ECONNREFUSED);
}

static void test_http_unix_socket(void **state)
{
    char path[108], err[256], addr[128];
    HttpServer *s = NULL;
    Resp r = {0};
    (void)state;
    /* Not under TEST_TMPDIR: Bazel's paths can exceed sun_path's 108 bytes. */
    snprintf(path, sizeof(path), "/tmp/flowd-http-%d-%ld.sock", (int)getpid(), (long)time(NULL));
    unlink(path);
    snprintf(addr, sizeof(addr), "unix:%s", path);
    assert_int_equal(http_start(&(HttpConfig){.listen = addr, .registry = reg}, &s, err, sizeof(err)), 0);
    assert_int_equal(http_port(s), 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    int fd = connect_to((struct sockaddr *)&sun, sizeof(sun));
    assert_true(fd >= 0);
    assert_int_equal(exchange(fd, "GET", "/metrics", &r), 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http_stop(s);
    assert_int_equal(access(path, F_OK), -1);
}

static void test_http_ipv6_loopback(void **state)
{
    char err[256];
    HttpServer *s = NULL;
    (void)state;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool have_v6 = probe >= 0 && bind(probe, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
    if (probe >= 0)
        close(probe);
    if (!have_v6)
        skip(); /* no IPv6 loopback on this machine */
    assert_int_equal(http_start(&(HttpConfig){.listen = "[::1]:0"}, &s, err, sizeof(err)), 0);
    sin6.sin6_port = htons((uint16_t)http_port(s));
    int fd = connect_to((struct sockaddr *)&sin6, sizeof(sin6));
    assert_true(fd >= 0);
    Resp r = {0};
    assert_int_equal(exchange(fd, "GET", "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http_stop(s);
}

#define SCRAPERS 4
#define SCRAPES 40

static void *scraper(void *arg)
{
    int *failures = arg;
    for (int i = 0; i < SCRAPES; i++) {
        Resp r = {0};
        if (request(http_port(server), "GET", i % 2 ? "/metrics" : "/readyz", &r) < 0 || r.status != 200)
            (*failures)++;
        resp_free(&r);
        met_inc(met_series0(hits));
    }
    return NULL;
}

static void test_http_concurrent_scrapes(void **state)
{
    pthread_t t[SCRAPERS];
    int failures[SCRAPERS] = {0};
    (void)state;
    for (int i = 0; i < SCRAPERS; i++)
        pthread_create(&t[i], NULL, scraper, &failures[i]);
    for (int i = 0; i < SCRAPERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(failures[i], 0);
    }
    assert_true(met_value(met_series0(hits)) == SCRAPERS * SCRAPES);
}

static void test_http_readiness_json_escapes(void **state)
{
    (void)state;
    HttpReadiness r = {.store_writable = true, .zygote_alive = true, .sandbox_mode = "we\"ird\\\n"};
    char *json = http_readiness_json(&r);
    assert_non_null(strstr(json, "\"sandbox_mode\":\"we\\\"ird\\\\\\u000a\""));
    free(json);
    assert_true(http_readiness_ok(&r));
    r.zygote_alive = false;
    assert_false(http_readiness_ok(&r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_start_picks_free_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_healthz_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_metrics_exposition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_head_has_headers_and_no_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_readyz_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_readyz_names_what_is_not_ready, setup, teardown),
        cmocka_unit_test(test_http_readyz_without_callback_is_not_ready),
        cmocka_unit_test_setup_teardown(test_http_unknown_path_is_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_other_methods_are_405, setup, teardown),
        cmocka_unit_test(test_http_start_rejects_bad_addresses),
        cmocka_unit_test_setup_teardown(test_http_start_port_in_use, setup, teardown),
        cmocka_unit_test(test_http_stop_closes_the_socket),
        cmocka_unit_test_setup_teardown(test_http_unix_socket, setup, teardown),
        cmocka_unit_test(test_http_ipv6_loopback),
        cmocka_unit_test_setup_teardown(test_http_concurrent_scrapes, setup, teardown),
        cmocka_unit_test(test_http_readiness_json_escapes),
    };
    return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
