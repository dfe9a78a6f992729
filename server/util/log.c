#include "server/util/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[_LOG_LEVEL_MAX] = {
    [LOG_DEBUG] = "debug",
    [LOG_INFO] = "info",
    [LOG_WARN] = "warn",
    [LOG_ERROR] = "error",
};

static atomic_int min_level = LOG_INFO;
static bool json_format = true;
static LogScrubFn scrubber;

void log_init(LogLevel level, bool json)
{
    atomic_store(&min_level, (int)level);
    json_format = json;
}

void log_set_scrubber(LogScrubFn fn) { scrubber = fn; }

bool log_enabled(LogLevel level) { return (int)level >= atomic_load(&min_level); }

const char *log_level_name(LogLevel level)
{
    return level >= 0 && level < _LOG_LEVEL_MAX ? level_names[level] : "unknown";
}

int log_level_from_name(const char *s, LogLevel *ret)
{
    for (int i = 0; i < _LOG_LEVEL_MAX; i++)
        if (strcasecmp(s, level_names[i]) == 0) {
            *ret = (LogLevel)i;
            return 0;
        }
    if (strcasecmp(s, "warning") == 0) {
        *ret = LOG_WARN;
        return 0;
    }
    return -EINVAL;
}

static void json_escape(StrBuf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sb_append(b, esc, 2);
        } else if (c == '\n')
            sb_puts(b, "\\n");
        else if (c == '\t')
            sb_puts(b, "\\t");
        else if (c < 0x20)
            sb_printf(b, "\\u%04x", c);
        else
            sb_append(b, (const char *)&c, 1);
    }
}

static void format_time(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void add_field(StrBuf *b, const char *key, const char *value)
{
    if (!value || !*value)
        return;
    if (json_format) {
        sb_printf(b, ",\"%s\":\"", key);
        json_escape(b, value);
        sb_puts(b, "\"");
    } else
        sb_printf(b, " %s=%s", key, value);
}

void log_emit(LogLevel level, const LogCtx *ctx, const char *fmt, ...)
{
    char when[40];
    va_list ap;
    _cleanup_free_ char *msg = NULL;
    StrBuf b = {0};

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    if (!msg)
        return;
    if (scrubber) {
        char *clean = scrubber(msg);
        if (clean) {
            free(msg);
            msg = clean;
        }
    }
    format_time(when, sizeof(when));
    if (json_format) {
        sb_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"", when, log_level_name(level));
        json_escape(&b, msg);
        sb_puts(&b, "\"");
    } else
        sb_printf(&b, "%s %-5s %s", when, log_level_name(level), msg);
    if (ctx) {
        add_field(&b, "run", ctx->run);
        add_field(&b, "node", ctx->node);
        add_field(&b, "tenant", ctx->tenant);
    }
    sb_puts(&b, json_format ? "}\n" : "\n");
    /* One write per line, so lines from several threads never interleave. */
    ssize_t _unused_ w = write(STDERR_FILENO, b.s, b.len);
    sb_free(&b);
}
