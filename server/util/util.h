/* util.h: small helpers shared by the server's modules. */
#ifndef FLOWD_UTIL_H
#define FLOWD_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))

static inline void freep(void *p) { free(*(void **)p); }

/* Returns the pointer and clears the variable, so a cleanup attribute does
 * not free what was handed over. */
#define TAKE_PTR(p)                                                                                                    \
    ({                                                                                                                 \
        __typeof__(p) _tmp_ = (p);                                                                                     \
        (p) = NULL;                                                                                                    \
        _tmp_;                                                                                                         \
    })

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* Wall-clock time in nanoseconds since the epoch. */
uint64_t now_unix_ns(void);
/* Monotonic time in nanoseconds. */
uint64_t now_mono_ns(void);

/* Allocating sprintf; aborts on out-of-memory like the other x* helpers. */
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xstrdup(const char *s);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);

/* A growable string buffer. */
typedef struct StrBuf {
    char *s;
    size_t len;
    size_t cap;
} StrBuf;

void sb_append(StrBuf *b, const char *s, size_t len);
void sb_puts(StrBuf *b, const char *s);
void sb_printf(StrBuf *b, const char *fmt, ...) _printf_(2, 3);
/* Returns the string and resets the buffer. */
char *sb_take(StrBuf *b);
void sb_free(StrBuf *b);

/* A new identifier: prefix, 13 hex digits of milliseconds since the epoch and
 * 8 random hex digits, so that ids sort by creation time. */
char *new_id(const char *prefix);

/* True when s is valid UTF-8 (protobuf strings must be; protobuf-c does not
 * check). */
bool utf8_valid(const char *s);

/* Human-readable byte count: "12.3 MiB". */
void fmt_bytes(char *buf, size_t size, uint64_t bytes);

#endif
