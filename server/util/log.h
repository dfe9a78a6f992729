/* log.h: the server's log: JSON lines on stderr (FLOWD_LOG_FORMAT=json, the
 * default) or text lines (FLOWD_LOG_FORMAT=text), at FLOWD_LOG_LEVEL and
 * above. Each line carries the run, node and tenant ids where they apply.
 * Log once, where the decision is made. */
#ifndef FLOWD_LOG_H
#define FLOWD_LOG_H

#include <stdbool.h>

#include "server/util/util.h"

typedef enum LogLevel {
    LOG_DEBUG,
    LOG_INFO,
    LOG_WARN,
    LOG_ERROR,
    _LOG_LEVEL_MAX,
} LogLevel;

typedef struct LogCtx {
    const char *run;
    const char *node;
    const char *tenant;
} LogCtx;

/* Rewrites a message before it is written, e.g. to scrub secret values.
 * Returns a new string (freed by the log) or NULL to keep the message. */
typedef char *(*LogScrubFn)(const char *msg);

void log_init(LogLevel min_level, bool json);
void log_set_scrubber(LogScrubFn fn);
bool log_enabled(LogLevel level);
void log_emit(LogLevel level, const LogCtx *ctx, const char *fmt, ...) _printf_(3, 4);

const char *log_level_name(LogLevel level);
/* Parses "debug", "info", "warn", "error"; -EINVAL otherwise. */
int log_level_from_name(const char *s, LogLevel *ret);

#define log_at(level, ctx, ...)                                                                                        \
    do {                                                                                                               \
        if (log_enabled(level))                                                                                        \
            log_emit(level, ctx, __VA_ARGS__);                                                                         \
    } while (0)
#define log_debug(ctx, ...) log_at(LOG_DEBUG, ctx, __VA_ARGS__)
#define log_info(ctx, ...) log_at(LOG_INFO, ctx, __VA_ARGS__)
#define log_warn(ctx, ...) log_at(LOG_WARN, ctx, __VA_ARGS__)
#define log_error(ctx, ...) log_at(LOG_ERROR, ctx, __VA_ARGS__)

#endif
