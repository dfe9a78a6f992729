/* node-files.c: the server side of csv.read and csv.write: files under
 * <FLOWD_DATA_DIR>/files, never outside it. Paths are checked lexically
 * (relative, no "." or ".." components) and resolved with openat2's
 * RESOLVE_BENEATH, so a symlink may point within the files directory but
 * never out of it; kernels without openat2 refuse symlinks altogether.
 * Written files get a UTC timestamp in their name and appear atomically
 * (written under a temporary name, fsync'd, renamed without replacing). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "server/nodes/node-internal.h"

#define FILE_MAX_PATH 512

static char files_root[4096];
time_t node_files_fixed_time;

void node_files_set_root(const char *data_dir)
{
    if (data_dir && *data_dir)
        snprintf(files_root, sizeof(files_root), "%s/files", data_dir);
    else
        files_root[0] = '\0';
}

const char *node_files_root(void) { return files_root; }

const char *node_file_path_problem(const char *rel)
{
    if (!rel || !*rel)
        return "is empty";
    if (strlen(rel) > FILE_MAX_PATH)
        return "is longer than 512 characters";
    if (rel[0] == '/')
        return "must be relative to FLOWD_DATA_DIR/files, not absolute";
    for (const char *c = rel; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return "contains control characters";
    for (const char *s = rel; s;) {
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        if (n == 0)
            return "has an empty component (\"//\" or a trailing \"/\")";
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return "must not contain \".\" or \"..\" components";
        s = slash ? slash + 1 : NULL;
    }
    return NULL;
}

static int sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve)
{
    struct open_how how = {.flags = (uint64_t)flags, .resolve = resolve};
    if (flags & O_CREAT)
        how.mode = 0644;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* One component below dirfd (no slashes in name), never leaving dirfd. */
static int open_beneath(int dirfd, const char *name, int flags)
{
    int fd = sys_openat2(dirfd, name, flags | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    if (fd < 0 && errno == ENOSYS)
        fd = openat(dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW);
    return fd < 0 ? -errno : fd;
}

static int open_root(char **ret_msg)
{
    if (!files_root[0]) {
        *ret_msg = xstrdup("FLOWD_DATA_DIR is not set, so there is no files directory");
        return -ENOENT;
    }
    int fd = open(files_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        *ret_msg = xasprintf("cannot open %s: %s", files_root, strerror(errno));
        return -errno;
    }
    return fd;
}

static char *open_error(const char *rel, int r)
{
    if (r == -ENOENT)
        return xasprintf("files/%s does not exist", rel);
    if (r == -EXDEV || r == -ELOOP)
        return xasprintf("files/%s resolves outside FLOWD_DATA_DIR/files (through a symlink); refused", rel);
    return xasprintf("cannot open files/%s: %s", rel, strerror(-r));
}

/* Walks every component but the last, optionally creating directories. */
static int open_parent(int root, const char *rel, bool create, const char **ret_base, char **ret_msg)
{
    _cleanup_free_ char *copy = xstrdup(rel);
    int cur = dup(root);
    char *save = NULL, *comp = strtok_r(copy, "/", &save), *next;

    for (; comp && (next = strtok_r(NULL, "/", &save)); comp = next) {
        int fd = open_beneath(cur, comp, O_RDONLY | O_DIRECTORY);
        if (fd == -ENOENT && create && mkdirat(cur, comp, 0755) == 0)
            fd = open_beneath(cur, comp, O_RDONLY | O_DIRECTORY);
        close(cur);
        if (fd < 0) {
            *ret_msg = open_error(rel, fd);
            return fd;
        }
        cur = fd;
    }
    *ret_base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    return cur;
}

static int read_fd(int fd, const char *rel, uint64_t max, char **ret_data, size_t *ret_len, char **ret_msg)
{
    struct stat st;
    StrBuf b = {0};

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        *ret_msg = xasprintf("files/%s is not a regular file", rel);
        return -EINVAL;
    }
    int r = node_read_all(fd, max, &b);
    if (r == -EFBIG)
        *ret_msg =
            xasprintf("files/%s is larger than the limit of %llu bytes (max_bytes)", rel, (unsigned long long)max);
    else if (r < 0)
        *ret_msg = xasprintf("cannot read files/%s: %s", rel, strerror(-r));
    if (r < 0)
        return r;
    *ret_len = b.len;
    *ret_data = b.s ? sb_take(&b) : xstrdup("");
    return 0;
}

int node_file_read(const char *rel, uint64_t max, char **ret_data, size_t *ret_len, char **ret_msg)
{
    const char *why = node_file_path_problem(rel);
    if (why) {
        *ret_msg = xasprintf("path \"%s\" %s", rel ? rel : "", why);
        return -EINVAL;
    }
    int root = open_root(ret_msg);
    if (root < 0)
        return root;
    /* One openat2 for the whole path: a symlink anywhere below the root
     * may lead elsewhere below it, never out. */
    int fd =
        sys_openat2(root, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    fd = fd < 0 ? -errno : fd;
    if (fd == -ENOSYS) {
        const char *base;
        int dir = open_parent(root, rel, false, &base, ret_msg);
        if (dir < 0) {
            close(root);
            return dir;
        }
        fd = open_beneath(dir, base, O_RDONLY | O_NOCTTY | O_NONBLOCK);
        close(dir);
    }
    close(root);
    if (fd < 0) {
        *ret_msg = open_error(rel, fd);
        return fd;
    }
    int r = read_fd(fd, rel, max, ret_data, ret_len, ret_msg);
    close(fd);
    return r;
}

/* "out.csv" -> "out_20261128T140000Z.csv" (or "...Z-2.csv" for the k-th try). */
static char *stamped(const char *base, const char *ts, int k)
{
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        dot = base + strlen(base);
    char suffix[16] = "";
    if (k > 1)
        snprintf(suffix, sizeof(suffix), "-%d", k);
    return xasprintf("%.*s_%s%s%s", (int)(dot - base), base, ts, suffix, dot);
}

static int write_tmp(int dir, const char *tmp, const char *data, size_t len)
{
    int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -errno;
    int r = node_write_all(fd, data, len);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    return r;
}

static int publish(int dir, const char *tmp, const char *base, const char *ts, char **ret_name)
{
    for (int k = 1; k <= 100; k++) {
        char *name = stamped(base, ts, k);
        if (renameat2(dir, tmp, dir, name, RENAME_NOREPLACE) == 0) {
            *ret_name = name;
            return 0;
        }
        int err = errno;
        free(name);
        if (err != EEXIST)
            return -err;
    }
    return -EEXIST;
}

int node_file_write(const char *rel, const char *data, size_t len, char **ret_rel, char **ret_msg)
{
    static unsigned counter;
    const char *why = node_file_path_problem(rel), *base;
    char ts[32], tmp[96];
    struct tm tm;

    if (why) {
        *ret_msg = xasprintf("path \"%s\" %s", rel ? rel : "", why);
        return -EINVAL;
    }
    int root = open_root(ret_msg);
    if (root < 0)
        return root;
    int dir = open_parent(root, rel, true, &base, ret_msg);
    close(root);
    if (dir < 0)
        return dir;
    time_t now = node_files_fixed_time ? node_files_fixed_time : time(NULL);
    strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
    snprintf(tmp, sizeof(tmp), ".flowd-tmp-%d-%u", (int)getpid(), __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
    char *name = NULL;
    int r = write_tmp(dir, tmp, data, len);
    if (r == 0)
        r = publish(dir, tmp, base, ts, &name);
    if (r < 0) {
        unlinkat(dir, tmp, 0);
        *ret_msg = xasprintf("cannot write files/%s: %s", rel, strerror(-r));
    } else {
        fsync(dir);
        *ret_rel = xasprintf("%.*s%s", (int)(base - rel), rel, name);
    }
    free(name);
    close(dir);
    return r;
}
