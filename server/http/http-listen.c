/* The listening socket: made here rather than by libmicrohttpd, so that a
 * bind failure comes back with its errno and the bound port is known. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/http/http-internal.h"

/* Splits "host:port", "[v6]:port" or ":port" into its parts. */
static int split_host_port(const char *addr, char *host, size_t host_size, char *port, size_t port_size)
{
    const char *colon;

    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return -EINVAL;
        colon = close + 1;
        if ((size_t)(close - addr - 1) >= host_size)
            return -EINVAL;
        snprintf(host, host_size, "%.*s", (int)(close - addr - 1), addr + 1);
    } else {
        colon = strrchr(addr, ':');
        if (!colon || (size_t)(colon - addr) >= host_size || memchr(addr, ':', (size_t)(colon - addr)))
            return -EINVAL;
        snprintf(host, host_size, "%.*s", (int)(colon - addr), addr);
    }
    const char *p = colon + 1;
    if (!*p || strlen(p) >= port_size || strspn(p, "0123456789") != strlen(p) || strtol(p, NULL, 10) > 65535)
        return -EINVAL;
    snprintf(port, port_size, "%s", p);
    return 0;
}

static int listen_on(int family, const struct sockaddr *sa, socklen_t len, int *ret)
{
    int one = 1;
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (family != AF_UNIX)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, sa, len) < 0 || listen(fd, 64) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    *ret = fd;
    return 0;
}

static int listen_unix(const char *path, int *ret, char *err, size_t size)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};

    if (!*path || strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, size, "unix socket path \"%s\" is empty or longer than %zu bytes", path,
                 sizeof(sun.sun_path) - 1);
        return -EINVAL;
    }
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    /* A socket file left by an earlier run would make bind fail. */
    unlink(path);
    int r = listen_on(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun), ret);
    if (r < 0)
        snprintf(err, size, "cannot listen on unix:%s: %s", path, strerror(-r));
    return r;
}

static int resolve(const char *addr, struct addrinfo **ret, char *err, size_t size)
{
    char host[256], port[8];
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};

    if (split_host_port(addr, host, sizeof(host), port, sizeof(port)) < 0) {
        snprintf(err, size, "\"%s\" is not host:port (e.g. 127.0.0.1:9090, [::]:9090, :9090) or unix:PATH", addr);
        return -EINVAL;
    }
    int r = getaddrinfo(*host && strcmp(host, "*") != 0 ? host : NULL, port, &hints, ret);
    if (r != 0) {
        snprintf(err, size, "cannot resolve \"%s\": %s", host, gai_strerror(r));
        return -EINVAL;
    }
    return 0;
}

int http_listen(const char *addr, int *ret_fd, int *ret_port, char *err, size_t size)
{
    struct addrinfo *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = -1, r;

    if (strncmp(addr, "unix:", 5) == 0) {
        r = listen_unix(addr + 5, ret_fd, err, size);
        if (r == 0)
            *ret_port = 0;
        return r;
    }
    r = resolve(addr, &ai, err, size);
    if (r < 0)
        return r;
    /* Try IPv6 first: its wildcard also accepts IPv4 (v6only is off by
     * default on Linux), so ":9090" listens on both where IPv6 exists. */
    r = -EADDRNOTAVAIL;
    for (int pass = 0; pass < 2; pass++)
        for (struct addrinfo *p = ai; p && r < 0; p = p->ai_next)
            if ((p->ai_family == AF_INET6) == (pass == 0))
                r = listen_on(p->ai_family, p->ai_addr, p->ai_addrlen, &fd);
    freeaddrinfo(ai);
    if (r < 0) {
        snprintf(err, size, "cannot listen on %s: %s", addr, strerror(-r));
        return r;
    }
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *ret_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    *ret_fd = fd;
    return 0;
}
