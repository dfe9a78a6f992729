/* sbx-util.c: error filling, raw file I/O, formatting and the string tables
 * of the public enums. */
#include "sandbox/sbx-util.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const char *const outcome_table[_SBX_OUTCOME_MAX] = {
    [SBX_OK] = "OK",
    [SBX_NONZERO_EXIT] = "NONZERO_EXIT",
    [SBX_SIGNALED] = "SIGNALED",
    [SBX_OOM_KILLED] = "OOM_KILLED",
    [SBX_TIMEOUT] = "TIMEOUT",
    [SBX_SANDBOX_VIOLATION] = "SANDBOX_VIOLATION",
    [SBX_INVALID_OUTPUT] = "INVALID_OUTPUT",
    [SBX_CANCELLED] = "CANCELLED",
    [SBX_INTERNAL] = "INTERNAL",
};

static const char *const profile_table[_SBX_PROFILE_MAX] = {
    [SBX_PROFILE_COMPUTE] = "compute",
    [SBX_PROFILE_INTERPRETER] = "interpreter",
    [SBX_PROFILE_EXEC] = "exec",
};

static const char *const mode_table[_SBX_MODE_MAX] = {
    [SBX_MODE_CGROUP] = "cgroup",
    [SBX_MODE_RLIMIT] = "rlimit",
};

const char *sbx_outcome_name(SbxOutcome o) { return (unsigned)o < _SBX_OUTCOME_MAX ? outcome_table[o] : NULL; }

const char *sbx_profile_name(SbxProfile p) { return (unsigned)p < _SBX_PROFILE_MAX ? profile_table[p] : NULL; }

const char *sbx_mode_name(SbxMode m) { return (unsigned)m < _SBX_MODE_MAX ? mode_table[m] : NULL; }

int sbx_error(SbxError *e, int err, const char *fmt, ...)
{
    if (err < 0)
        err = -err;
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->err = err;
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    }
    return -err;
}

int sbx_error_wrap(SbxError *e, int ret, const char *fmt, ...)
{
    if (e) {
        char prefix[256], old[sizeof(e->msg)];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, e->msg, sizeof(old));
        size_t n = strlen(prefix);
        memcpy(e->msg, prefix, n);
        size_t room = sizeof(e->msg) - n - 1;
        size_t olen = MIN(strlen(old), room > 2 ? room - 2 : 0);
        memcpy(e->msg + n, ": ", 2);
        memcpy(e->msg + n + 2, old, olen);
        e->msg[n + 2 + olen] = '\0';
        if (e->err == 0)
            e->err = ret < 0 ? -ret : ret;
    }
    return ret;
}

int sbx_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Cgroup files take one value per write() at offset 0; pwrite keeps a cached
 * fd reusable without lseek. */
int sbx_pwrite_str(int fd, const char *s)
{
    size_t len = strlen(s);
    ssize_t n = pwrite(fd, s, len, 0);
    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : -EIO;
}

int sbx_write_file(const char *path, const char *s)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    return sbx_pwrite_str(fd, s);
}

ssize_t sbx_pread_str(int fd, char *buf, size_t size)
{
    ssize_t n = pread(fd, buf, size - 1, 0);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return n;
}

int sbx_read_file(const char *path, char *buf, size_t size)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = sbx_pread_str(fd, buf, size);
    return n < 0 ? (int)n : 0;
}

int sbx_parse_keyed_u64(const char *text, const char *key, uint64_t *ret)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(p + klen + 1, &end, 10);
            if (errno != 0 || end == p + klen + 1)
                return -EINVAL;
            *ret = v;
            return 0;
        }
    }
    return -ENOENT;
}

void sbx_format_bytes(uint64_t n, char *buf, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (n < 1024) {
        snprintf(buf, size, "%" PRIu64 " bytes", n);
        return;
    }
    double v = (double)n / 1024.0;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < ELEMENTSOF(units)) {
        v /= 1024.0;
        u++;
    }
    if (v - (double)(uint64_t)v < 0.05)
        snprintf(buf, size, "%" PRIu64 " %s", (uint64_t)v, units[u]);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
}

const char *sbx_signal_name(int sig)
{
    const char *abbrev = sigabbrev_np(sig);
    return abbrev ? abbrev : "?";
}

void sbx_rm_tree_at(int dfd, const char *name, int depth)
{
    if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
        return;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && depth < 64)
            sbx_rm_tree_at(dirfd(d), de->d_name, depth + 1);
    closedir(d);
    (void)unlinkat(dfd, name, AT_REMOVEDIR);
}

void *sbx_private_alloc(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (madvise(p, len, MADV_DONTFORK) < 0) {
        munmap(p, len);
        return NULL;
    }
    return p;
}

/* mremap() keeps the mapping's flags, MADV_DONTFORK included. */
void *sbx_private_resize(void *p, size_t old_len, size_t new_len)
{
    void *q = mremap(p, old_len, new_len, MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : q;
}

void sbx_private_free(void *p, size_t len)
{
    if (p)
        munmap(p, len);
}

/* Where a build or an install put flowd_sbx_python.so, seen from this
 * program: next to it (installed), in its Bazel runfiles, or in the
 * sandbox/ directory of the bazel-bin tree it sits in. */
char *sbx_python_zygote_path(void)
{
    static const char *const rel[] = {
        "%s/flowd_sbx_python.so",
        "%s/%s.runfiles/flowd/sandbox/flowd_sbx_python.so",
        "%s/../sandbox/flowd_sbx_python.so",
        "%s/../../sandbox/flowd_sbx_python.so",
    };
    char self[PATH_MAX], path[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    const char *srcdir = getenv("TEST_SRCDIR");
    if (srcdir) {
        snprintf(path, sizeof(path), "%s/flowd/sandbox/flowd_sbx_python.so", srcdir);
        if (access(path, R_OK) == 0)
            return realpath(path, NULL);
    }
    for (size_t i = 0; i < ELEMENTSOF(rel); i++) {
        if (i == 1)
            snprintf(path, sizeof(path), rel[i], self, slash + 1);
        else
            snprintf(path, sizeof(path), rel[i], self);
        if (access(path, R_OK) == 0)
            return realpath(path, NULL);
    }
    return NULL;
}
