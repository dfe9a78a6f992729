#include "server/util/util.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t now_unix_ns(void) { return clock_ns(CLOCK_REALTIME); }

uint64_t now_mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

static void *check_alloc(void *p)
{
    if (!p) {
        fputs("flowd: out of memory\n", stderr);
        abort();
    }
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    return check_alloc(r < 0 ? NULL : s);
}

char *xstrdup(const char *s) { return s ? check_alloc(strdup(s)) : NULL; }

void *xcalloc(size_t n, size_t size) { return check_alloc(calloc(n ? n : 1, size ? size : 1)); }

void *xrealloc(void *p, size_t size) { return check_alloc(realloc(p, size ? size : 1)); }

void sb_append(StrBuf *b, const char *s, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + len + 1)
            cap *= 2;
        b->s = xrealloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, len);
    b->len += len;
    b->s[b->len] = '\0';
}

void sb_puts(StrBuf *b, const char *s) { sb_append(b, s, strlen(s)); }

void sb_printf(StrBuf *b, const char *fmt, ...)
{
    va_list ap;
    _cleanup_free_ char *s = NULL;

    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        check_alloc(NULL);
    sb_append(b, s, (size_t)r);
}

char *sb_take(StrBuf *b)
{
    char *s = b->s ? b->s : xstrdup("");
    *b = (StrBuf){0};
    return s;
}

void sb_free(StrBuf *b)
{
    free(b->s);
    *b = (StrBuf){0};
}

char *new_id(const char *prefix)
{
    uint32_t rnd = 0;

    if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
        rnd = (uint32_t)now_mono_ns();
    return xasprintf("%s%013llx%08x", prefix, (unsigned long long)(now_unix_ns() / 1000000ull), rnd);
}

void fmt_bytes(char *buf, size_t size, uint64_t bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;

    while (v >= 1024.0 && u + 1 < ELEMENTSOF(units)) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
}

bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (p && *p) {
        unsigned c = *p++;
        int n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : -1;
        if (n < 0 || (n == 1 && c < 0xc2) || (n == 3 && c > 0xf4))
            return false;
        unsigned cp = n == 0 ? c : n == 1 ? (c & 0x1f) : n == 2 ? (c & 0x0f) : (c & 0x07);
        for (int k = 0; k < n; k++, p++) {
            if ((*p & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (*p & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
    }
    return true;
}
