/* sbx-util.h: small helpers shared by the sandbox's files (cleanup
 * attributes, time, error filling, raw file I/O). Private to sandbox/. */
#ifndef FLOWD_SBX_UTIL_H
#define FLOWD_SBX_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sbx.h"

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Moves ownership out of a cleanup variable. */
#define TAKE_PTR(p)                                                                                                    \
    ({                                                                                                                 \
        __typeof__(p) _tp_ = (p);                                                                                      \
        (p) = NULL;                                                                                                    \
        _tp_;                                                                                                          \
    })
#define TAKE_FD(fd)                                                                                                    \
    ({                                                                                                                 \
        int _tf_ = (fd);                                                                                               \
        (fd) = -1;                                                                                                     \
        _tf_;                                                                                                          \
    })

static inline void freep(void *p) { free(*(void **)p); }
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}
#define _cleanup_close_ _cleanup_(closep)

static inline int safe_close(int fd)
{
    if (fd >= 0) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    return -1;
}

static inline uint64_t sbx_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Fills e (if not NULL) and returns -err, so callers can write
 * `return sbx_error(e, EACCES, "...")`. */
int sbx_error(SbxError *e, int err, const char *fmt, ...) _printf_(3, 4);

/* Prepends context to an existing message, like crun_error_wrap(). */
int sbx_error_wrap(SbxError *e, int ret, const char *fmt, ...) _printf_(3, 4);

/* Raw file helpers used on the hot path: no stdio, no malloc. */
int sbx_write_all(int fd, const void *buf, size_t len);
int sbx_pwrite_str(int fd, const char *s);
int sbx_write_file(const char *path, const char *s);
ssize_t sbx_pread_str(int fd, char *buf, size_t size);
int sbx_read_file(const char *path, char *buf, size_t size);

/* Parses "key value" lines (memory.oom_control, memory.events, cpu.stat). */
int sbx_parse_keyed_u64(const char *text, const char *key, uint64_t *ret);

/* "64 MiB", "1.5 GiB", "512 KiB", "100 bytes". */
void sbx_format_bytes(uint64_t n, char *buf, size_t size);

const char *sbx_signal_name(int sig);

/* Zygote-private memory: anonymous pages marked MADV_DONTFORK. A fork
 * leaves them out of the child (which must never touch them) and does not
 * write-protect them, so the zygote's writes after a fork cost no
 * copy-on-write fault. Zeroed; NULL on failure. */
void *sbx_private_alloc(size_t len);
void *sbx_private_resize(void *p, size_t old_len, size_t new_len);
void sbx_private_free(void *p, size_t len);

/* rm -rf of dfd/name, not following symlinks, at most 64 levels deep. */
void sbx_rm_tree_at(int dfd, const char *name, int depth);

#endif
