#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server/nodes/node-internal.h"
#include "server/nodes/nodes.h"

/* Built-ins run under the compute seccomp profile: plain read/write on the
 * inherited fds only, no stdio buffering surprises. */
int node_read_envelope(json_t **ret)
{
    StrBuf b = {0};
    json_error_t jerr;

    int r = node_read_all(STDIN_FILENO, SIZE_MAX, &b);
    if (r < 0)
        return r;
    json_t *env = json_loadb(b.s ? b.s : "{}", b.len ? b.len : 2, 0, &jerr);
    sb_free(&b);
    if (!env || !json_is_object(env)) {
        json_decref(env);
        return -EINVAL;
    }
    *ret = env;
    return 0;
}

int node_read_all(int fd, size_t max, StrBuf *b)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        int r = n < 0 ? -errno : b->len + (size_t)n > max ? -EFBIG : 0;
        if (r < 0) {
            sb_free(b);
            return r;
        }
        if (n == 0)
            return 0;
        sb_append(b, buf, (size_t)n);
    }
}

int node_write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

int node_write_output(const json_t *output)
{
    _cleanup_free_ char *text = json_dumps(output, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    return node_write_all(STDOUT_FILENO, text, strlen(text));
}

int node_fail(const char *type, const char *fmt, ...)
{
    va_list ap;
    _cleanup_free_ char *msg = NULL;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    json_t *err = json_pack("{s:{s:s,s:s}}", "__flowd_error__", "type", type, "message", msg ? msg : "");
    if (err)
        node_write_output(err);
    json_decref(err);
    return 1;
}

void node_progress(double fraction, const char *msg)
{
    json_t *line = json_pack("{s:f,s:s}", "progress",
                             fraction < 0   ? 0
                             : fraction > 1 ? 1
                                            : fraction,
                             "message", msg ? msg : "");
    _cleanup_free_ char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;

    json_decref(line);
    if (text) {
        /* Writes the line and its newline at once; EBADF when fd 3 is not a
         * progress pipe is fine. */
        char *withnl = xasprintf("%s\n", text);
        (void)node_write_all(3, withnl, strlen(withnl));
        free(withnl);
    }
}
