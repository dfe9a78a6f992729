/* sbx-seccomp.c: the named syscall profiles, compiled once with libseccomp
 * and exported as raw BPF. Children only load the exported program with one
 * seccomp() call: libseccomp allocates and must never run after fork.
 *
 * The allowlists are the ones verified on the target machines
 * (shared/notes/sandbox-measurements.md §3). Unlisted syscalls kill the
 * process; a few are answered with an errno instead because runtimes probe
 * them and cope (clone3 and openat2: ENOSYS makes glibc fall back; fork and
 * kill: EPERM becomes a Python PermissionError the user can read). Network
 * syscalls are not among them: a node that tries the network is killed and
 * reported as a sandbox violation, never left to retry quietly. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <termios.h>
#include <sys/ioctl.h>

#include "sandbox/sbx-internal.h"
#include "sandbox/sbx-util.h"

/* The built-in (compute) set. */
static const char *const compute_allow[] = {
    "read",
    "write",
    "readv",
    "writev",
    "close",
    "fstat",
    "newfstatat",
    "lseek",
    "brk",
    "munmap",
    "mremap",
    "madvise",
    "futex",
    "sysinfo",
    "clock_gettime",
    "clock_nanosleep",
    "nanosleep",
    "getpid",
    "gettid",
    "getrandom",
    "rt_sigprocmask",
    "rt_sigreturn",
    "restart_syscall",
    "exit",
    "exit_group",
    "pread64",
    "sigaltstack", /* sanitizer runtimes set one up; harmless alone */
};

/* Added for interpreters (python -I -S: json, re, hashlib, threads, ...). */
static const char *const interpreter_allow[] = {
    "statx",
    "access",
    "faccessat",
    "faccessat2",
    "readlink",
    "readlinkat",
    "getcwd",
    "getdents64",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "mmap",
    "mprotect",
    "rt_sigaction",
    "sigaltstack",
    "set_robust_list",
    "rseq",
    "set_tid_address",
    "arch_prctl",
    "clock_getres",
    "gettimeofday",
    "getppid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "uname",
    "sched_getaffinity",
    "sched_yield",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "pipe2",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "eventfd2",
    "tgkill",
    "execve",
    "pread64",
    "pwrite64",
    "chdir",
    "fchdir",
    "umask",
    "getrusage",
    "times",
    "fsync",
    "fdatasync",
    "getpgrp",
    "madvise",
    "membarrier",
    "statfs",
    "fstatfs",
    "fadvise64",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "shutdown",
    "getsockopt",
    "setsockopt",
    "getsockname",
    "getpeername",
    "lstat",
    "stat",
    "open",
    "openat",
};

/* Added for admin-allowlisted programs: process management inside the
 * attempt's cgroup (pids-limited) and Landlock domain (scoped signals). */
static const char *const exec_allow[] = {
    "fork",    "vfork",     "clone",     "wait4",    "waitid",    "kill",      "tkill",         "setsid",
    "setpgid", "getpgid",   "getsid",    "pipe",     "ioctl",     "prctl",     "rt_sigsuspend", "pause",
    "alarm",   "setitimer", "getitimer", "execveat", "prlimit64", "getgroups", "sysinfo",
};

/* With Landlock the kernel confines these to the scratch dir; without it
 * they are refused (EPERM) like every other filesystem change. */
static const char *const fs_mutate[] = {
    "mkdir",     "mkdirat",  "unlink",    "unlinkat",  "rmdir",     "rename",    "renameat",
    "renameat2", "truncate", "ftruncate", "fallocate", "utimensat", "utimes",    "chmod",
    "fchmod",    "fchmodat", "link",      "linkat",    "symlink",   "symlinkat",
};

static const char *const always_eperm[] = {
    "chown",    "fchown",    "lchown",    "fchownat",    "mknod",        "mknodat",
    "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
};

/* A compute zygote runs under a filter of its own (the compute set plus
 * these), loaded once; its children inherit it and stack a short filter
 * that traps exactly these again. Loading that costs a fork a few µs
 * instead of the ~60-90 µs of a whole allowlist: the kernel's action cache
 * is built only for the syscalls the inherited filter allows.
 * The list: the zygote's own loop (epoll, the caller's socket, pipes, fork,
 * reaping, slot files, kill) and each child's setup before its filter
 * (sbx-child.c). fcntl is allowed here and narrowed by the stacked filter. */
static const char *const compute_zygote_allow[] = {
    "epoll_wait",      "epoll_pwait", "epoll_ctl", "recvmsg",      "sendmsg",   "sendto", "pipe2",   "clone",
    "clone3",          "wait4",       "waitid",    "kill",         "pwrite64",  "openat", "open",    "geteuid",
    "setpgid",         "prlimit64",   "setgroups", "setresgid",    "setresuid", "dup2",   "dup3",    "close_range",
    "prctl",           "getppid",     "chdir",     "rt_sigaction", "seccomp",   "getuid", "getegid", "getgid",
    "set_robust_list",
};

static int seccomp_err(SbxError *e, int r, const char *what, const char *name)
{
    return sbx_error(e, r, "seccomp: %s %s: %s", what, name ? name : "", strerror(-r));
}

static int add_rules(scmp_filter_ctx ctx, uint32_t action, const char *const *names, size_t n, SbxError *e)
{
    for (size_t i = 0; i < n; i++) {
        int nr = seccomp_syscall_resolve_name(names[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not on this architecture (e.g. "open" elsewhere) */
        int r = seccomp_rule_add(ctx, action, nr, 0);
        if (r < 0 && r != -EEXIST)
            return seccomp_err(e, r, "rule", names[i]);
    }
    return 0;
}

#define RULE(ctx, act, name, ...)                                                                                      \
    do {                                                                                                               \
        int _r = seccomp_rule_add(ctx, act, SCMP_SYS(name), __VA_ARGS__);                                              \
        if (_r < 0 && _r != -EEXIST)                                                                                   \
            return seccomp_err(e, _r, "rule", #name);                                                                  \
    } while (0)

/* Without PROT_EXEC a built-in cannot turn data into code. */
static int add_compute(scmp_filter_ctx ctx, SbxError *e)
{
    int r = add_rules(ctx, SCMP_ACT_ALLOW, compute_allow, ELEMENTSOF(compute_allow), e);
    if (r < 0)
        return r;
    RULE(ctx, SCMP_ACT_ALLOW, mmap, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    RULE(ctx, SCMP_ACT_ALLOW, mprotect, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    RULE(ctx, SCMP_ACT_ALLOW, fcntl, 1, SCMP_A1(SCMP_CMP_EQ, F_GETFL));
    RULE(ctx, SCMP_ACT_ALLOW, fcntl, 1, SCMP_A1(SCMP_CMP_EQ, F_GETFD));
    return 0;
}

/* The raw __O_TMPFILE bit: glibc's O_TMPFILE includes O_DIRECTORY, which
 * would refuse every directory open. */
#define SBX_O_TMPFILE_BIT 020000000
static const int write_open_bits[] = {O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, SBX_O_TMPFILE_BIT};

static int add_readonly_open(scmp_filter_ctx ctx, SbxError *e)
{
    int mask = 0;
    for (size_t i = 0; i < ELEMENTSOF(write_open_bits); i++)
        mask |= write_open_bits[i];
    RULE(ctx, SCMP_ACT_ALLOW, openat, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, mask, 0));
    RULE(ctx, SCMP_ACT_ALLOW, open, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, mask, 0));
    for (size_t i = 0; i < ELEMENTSOF(write_open_bits); i++) {
        int b = write_open_bits[i];
        RULE(ctx, SCMP_ACT_ERRNO(EPERM), openat, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, b, b));
        RULE(ctx, SCMP_ACT_ERRNO(EPERM), open, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, b, b));
    }
    return 0;
}

static int add_interpreter(scmp_filter_ctx ctx, bool landlock, bool exec, SbxError *e)
{
    int r;
    if ((r = add_rules(ctx, SCMP_ACT_ALLOW, compute_allow, ELEMENTSOF(compute_allow), e)) < 0)
        return r;
    size_t n = ELEMENTSOF(interpreter_allow);
    if (!landlock)
        n -= 2; /* "open", "openat": argument-checked below */
    if ((r = add_rules(ctx, SCMP_ACT_ALLOW, interpreter_allow, n, e)) < 0)
        return r;
    if (!landlock && (r = add_readonly_open(ctx, e)) < 0)
        return r;
    if ((r = add_rules(ctx, landlock ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EPERM), fs_mutate, ELEMENTSOF(fs_mutate), e)) <
        0)
        return r;
    if ((r = add_rules(ctx, SCMP_ACT_ERRNO(EPERM), always_eperm, ELEMENTSOF(always_eperm), e)) < 0)
        return r;
    RULE(ctx, SCMP_ACT_ERRNO(ENOSYS), clone3, 0);
    RULE(ctx, SCMP_ACT_ERRNO(ENOSYS), openat2, 0);
    RULE(ctx, SCMP_ACT_ALLOW, socketpair, 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
    /* glibc's name service asks nscd over a unix socket (getpwuid when HOME
     * is unset): refuse it gently; every other address family kills. */
    RULE(ctx, SCMP_ACT_ERRNO(EACCES), socket, 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
    RULE(ctx, SCMP_ACT_ERRNO(EPERM), socketpair, 1, SCMP_A0(SCMP_CMP_NE, AF_UNIX));
    if (exec)
        return add_rules(ctx, SCMP_ACT_ALLOW, exec_allow, ELEMENTSOF(exec_allow), e);
    RULE(ctx, SCMP_ACT_ALLOW, prlimit64, 1, SCMP_A2(SCMP_CMP_EQ, 0));
    RULE(ctx, SCMP_ACT_ALLOW, ioctl, 1, SCMP_A1(SCMP_CMP_EQ, TCGETS));
    RULE(ctx, SCMP_ACT_ALLOW, ioctl, 1, SCMP_A1(SCMP_CMP_EQ, FIOCLEX));
    RULE(ctx, SCMP_ACT_ALLOW, ioctl, 1, SCMP_A1(SCMP_CMP_EQ, FIONBIO));
    RULE(ctx, SCMP_ACT_ALLOW, clone, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    RULE(ctx, SCMP_ACT_ERRNO(EPERM), clone, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    RULE(ctx, SCMP_ACT_ERRNO(EPERM), fork, 0);
    RULE(ctx, SCMP_ACT_ERRNO(EPERM), vfork, 0);
    RULE(ctx, SCMP_ACT_ERRNO(EPERM), kill, 0);
    RULE(ctx, SCMP_ACT_ERRNO(EPERM), execveat, 0);
    return 0;
}

static int export_bpf(scmp_filter_ctx ctx, SbxBpf *ret, SbxError *e)
{
    /* libseccomp 2.5 only exports to an fd. */
    _cleanup_close_ int fd = memfd_create("sbx-bpf", MFD_CLOEXEC);
    if (fd < 0)
        return sbx_error(e, errno, "seccomp: memfd_create: %m");
    int r = seccomp_export_bpf(ctx, fd);
    if (r < 0)
        return seccomp_err(e, r, "export", NULL);
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 || size > 65536)
        return sbx_error(e, EINVAL, "seccomp: exported program has a bad size %lld", (long long)size);
    struct sock_filter *insns = malloc((size_t)size);
    if (!insns)
        return sbx_error(e, ENOMEM, "seccomp: out of memory");
    if (pread(fd, insns, (size_t)size, 0) != size) {
        free(insns);
        return sbx_error(e, EIO, "seccomp: short read of the exported program");
    }
    *ret = (SbxBpf){.insns = insns, .len = (size_t)size / sizeof(struct sock_filter)};
    return 0;
}

static void ctx_releasep(scmp_filter_ctx *ctx)
{
    if (*ctx)
        seccomp_release(*ctx);
}

static scmp_filter_ctx new_ctx(uint32_t def)
{
    scmp_filter_ctx ctx = seccomp_init(def);
    if (!ctx)
        return NULL;
    seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
    /* A binary tree keeps both the per-syscall cost and the kernel's action
     * cache build at load time (which emulates the filter for every syscall
     * number) short for the long interpreter list. */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    return ctx;
}

/* The compute zygote's own filter: traps like the compute profile, so a
 * child's violation of the inherited filter is named the same way. */
static int compile_compute_zygote(SbxBpf *ret, SbxError *e)
{
    _cleanup_(ctx_releasep) scmp_filter_ctx ctx = new_ctx(SCMP_ACT_TRAP);
    if (!ctx)
        return sbx_error(e, ENOMEM, "seccomp: init failed");
    int r = add_compute(ctx, e);
    if (r < 0 || (r = add_rules(ctx, SCMP_ACT_ALLOW, compute_zygote_allow, ELEMENTSOF(compute_zygote_allow), e)) < 0)
        return r;
    RULE(ctx, SCMP_ACT_ALLOW, fcntl, 0);
    return export_bpf(ctx, ret, e);
}

/* What a compute child stacks on the zygote's filter: the zygote's extras
 * trap again, and fcntl is back to F_GETFD/F_GETFL. */
static int compile_compute_stacked(SbxBpf *ret, SbxError *e)
{
    _cleanup_(ctx_releasep) scmp_filter_ctx ctx = new_ctx(SCMP_ACT_ALLOW);
    if (!ctx)
        return sbx_error(e, ENOMEM, "seccomp: init failed");
    int r = add_rules(ctx, SCMP_ACT_TRAP, compute_zygote_allow, ELEMENTSOF(compute_zygote_allow), e);
    if (r < 0)
        return r;
    _Static_assert(F_DUPFD == 0 && F_GETFD == 1 && F_SETFD == 2 && F_GETFL == 3, "fcntl command numbers");
    RULE(ctx, SCMP_ACT_TRAP, fcntl, 1, SCMP_A1(SCMP_CMP_EQ, F_DUPFD));
    RULE(ctx, SCMP_ACT_TRAP, fcntl, 1, SCMP_A1(SCMP_CMP_EQ, F_SETFD));
    RULE(ctx, SCMP_ACT_TRAP, fcntl, 1, SCMP_A1(SCMP_CMP_GT, F_GETFL));
    return export_bpf(ctx, ret, e);
}

/* The zygote's own filter cannot be predicted under a sanitizer runtime
 * (which makes syscalls of its own at any time): such builds keep the
 * whole compute profile per child. */
bool sbx_prefilter_supported(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return false;
#else
    return true;
#endif
}

int sbx_seccomp_compile_compute_zygote(SbxBpf *ret_zygote, SbxBpf *ret_child, SbxError *e)
{
    int r = compile_compute_zygote(ret_zygote, e);
    if (r < 0)
        return r;
    if ((r = compile_compute_stacked(ret_child, e)) < 0)
        sbx_bpf_free(ret_zygote);
    return r;
}

int sbx_seccomp_compile(SbxProfile profile, bool landlock, SbxBpf *ret, SbxError *e)
{
    /* A built-in's violation traps so the child's SIGSYS handler can name the
     * syscall before the process dies (sbx-child.c); programs that exec get
     * KILL_PROCESS because they could install their own handler. Never
     * KILL_THREAD: a violating thread must take its process down. */
    uint32_t def = profile == SBX_PROFILE_COMPUTE ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
    _cleanup_(ctx_releasep) scmp_filter_ctx ctx = new_ctx(def);
    if (!ctx)
        return sbx_error(e, ENOMEM, "seccomp: init failed");
    int r;
    switch (profile) {
    case SBX_PROFILE_COMPUTE:
        r = add_compute(ctx, e);
        break;
    case SBX_PROFILE_INTERPRETER:
        r = add_interpreter(ctx, landlock, false, e);
        break;
    case SBX_PROFILE_EXEC:
        r = add_interpreter(ctx, landlock, true, e);
        break;
    default:
        return sbx_error(e, EINVAL, "seccomp: unknown profile %d", (int)profile);
    }
    if (r < 0)
        return r;
    return export_bpf(ctx, ret, e);
}

void sbx_bpf_free(SbxBpf *b)
{
    free(b->insns);
    *b = (SbxBpf){0};
}

void sbx_syscall_name(int nr, char *buf, size_t size)
{
    _cleanup_free_ char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    snprintf(buf, size, "%s", name ? name : "");
}
