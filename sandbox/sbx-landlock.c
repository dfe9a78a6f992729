/* sbx-landlock.c: the filesystem (and, from ABI 4, TCP; from ABI 6, signal)
 * confinement of children that may open files.
 *
 * seccomp cannot see paths, so "write only in scratch" and "execute only
 * the interpreter" are Landlock's job. The zygote builds a ruleset per
 * attempt from directories it opened once (O_PATH); the child only calls
 * landlock_restrict_self(). The built-in (compute) profile needs none: it
 * has no open syscall at all.
 *
 * Debian 12's <linux/landlock.h> predates ABI 3, so the newer bits and the
 * larger attribute struct are spelled out here; the ruleset is sized to the
 * running kernel's ABI so older kernels accept it. */
#include <errno.h>
#include <linux/landlock.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sbx-internal.h"
#include "sandbox/sbx-util.h"

#define LL_FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define LL_NET_BIND_TCP (1ULL << 0)  /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)

typedef struct LlRulesetAttr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
} LlRulesetAttr;

#define LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_EXEC LANDLOCK_ACCESS_FS_EXECUTE
#define LL_WRITE_ALL                                                                                                   \
    (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |                  \
     LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SYM)

int sbx_landlock_abi(void)
{
    long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi < 0 ? 0 : (int)abi;
}

static uint64_t fs_handled(int abi)
{
    uint64_t fs = (1ULL << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
    if (abi >= 2)
        fs |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        fs |= LL_FS_TRUNCATE;
    if (abi >= 5)
        fs |= LL_FS_IOCTL_DEV;
    return fs;
}

static int add_rule(int ruleset, int fd, uint64_t access)
{
    if (fd < 0)
        return 0;
    struct landlock_path_beneath_attr pb = {.allowed_access = access, .parent_fd = fd};
    if (syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
        return -errno;
    return 0;
}

static int add_rules(int ruleset, const int *fds, size_t n, uint64_t access)
{
    for (size_t i = 0; i < n; i++) {
        int r = add_rule(ruleset, fds[i], access);
        if (r < 0)
            return r;
    }
    return 0;
}

int sbx_landlock_ruleset(int abi, const SbxLandlockPaths *p)
{
    LlRulesetAttr attr = {.handled_access_fs = fs_handled(abi)};
    size_t size = sizeof(uint64_t);
    if (abi >= 4) {
        /* No TCP rule at all: neither bind nor connect. */
        attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
        size = 2 * sizeof(uint64_t);
    }
    if (abi >= 6) {
        /* No signals to processes outside the attempt (kill(ppid)) and no
         * abstract unix sockets to the host's daemons. */
        attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
        size = sizeof(attr);
    }
    _cleanup_close_ int rs = (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
    if (rs < 0)
        return -errno;
    uint64_t file_rights = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_EXECUTE;
    uint64_t scratch =
        LL_READ | LL_WRITE_ALL | (abi >= 2 ? LANDLOCK_ACCESS_FS_REFER : 0) | (abi >= 3 ? LL_FS_TRUNCATE : 0);
    uint64_t devnull = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | (abi >= 3 ? LL_FS_TRUNCATE : 0);
    int r;
    if ((r = add_rules(rs, p->ro_fds, p->n_ro, LL_READ)) < 0 ||
        (r = add_rules(rs, p->exec_tree_fds, p->n_exec_tree, LL_READ | LL_EXEC)) < 0 ||
        (r = add_rules(rs, p->exec_file_fds, p->n_exec_file, file_rights)) < 0 ||
        (r = add_rule(rs, p->devnull_fd, devnull)) < 0 || (r = add_rule(rs, p->scratch_fd, scratch)) < 0)
        return r;
    return TAKE_FD(rs);
}
