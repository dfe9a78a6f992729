/* sbx-child.c: what a freshly forked child does before it runs node code.
 *
 * The order is the contract of DESIGN.md §2 and each step needs the one
 * before it:
 *   cgroup first, so every page and pid below is charged to the slot;
 *   rlimits while still root (raising would need privilege later);
 *   ids dropped before fds are closed and before PDEATHSIG, because a
 *     credential change clears the parent-death signal;
 *   PDEATHSIG, then a getppid() check for a zygote that died meanwhile;
 *   the scratch dir as cwd before Landlock hides everything else;
 *   NO_NEW_PRIVS before Landlock and seccomp (both require it as non-root);
 *   seccomp last, so the setup itself needs none of the forbidden syscalls.
 * Only raw syscalls here: no malloc, no stdio, no libseccomp or libcgroup.
 * A failing step records itself in the shared report page and exits 127. */
#include <errno.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sbx-internal.h"
#include "sandbox/sbx-util.h"

extern char **environ;

static const char *const stage_table[_SBX_STAGE_MAX] = {
    [SBX_STAGE_NONE] = "none",
    [SBX_STAGE_CGROUP] = "joining the cgroup",
    [SBX_STAGE_RLIMIT] = "setting rlimits",
    [SBX_STAGE_IDS] = "dropping to the sandbox uid",
    [SBX_STAGE_FDS] = "setting up file descriptors",
    [SBX_STAGE_PDEATHSIG] = "setting the parent-death signal",
    [SBX_STAGE_CWD] = "entering the scratch directory",
    [SBX_STAGE_NNP] = "setting no_new_privs",
    [SBX_STAGE_LANDLOCK] = "applying Landlock",
    [SBX_STAGE_SECCOMP] = "loading the seccomp filter",
    [SBX_STAGE_EXEC] = "executing the program",
};

const char *sbx_stage_name(SbxStage s) { return (unsigned)s < _SBX_STAGE_MAX ? stage_table[s] : "unknown"; }

static _Noreturn void fail(const SbxChildPlan *p, SbxStage stage, int err)
{
    p->report->err = err;
    p->report->stage = (int)stage;
    _exit(127);
}

static int set_rlimit(int resource, uint64_t v)
{
    struct rlimit rl = {.rlim_cur = v, .rlim_max = v};
    return setrlimit(resource, &rl) < 0 ? -errno : 0;
}

static int apply_rlimits(const SbxChildPlan *p)
{
    const SbxLimits *l = &p->limits;
    int r;
    /* CORE=0 and the default FSIZE are the zygote's own, inherited. */
    if ((r = set_rlimit(RLIMIT_NOFILE, l->nofile)) < 0 ||
        (l->fsize_bytes != SBX_DEFAULT_FSIZE && (r = set_rlimit(RLIMIT_FSIZE, l->fsize_bytes)) < 0))
        return r;
    if (p->mode != SBX_MODE_RLIMIT)
        return 0;
    /* Without cgroups these are the only brakes. RLIMIT_NPROC counts every
     * process of the uid on the machine, so it is only a fork-bomb brake. */
    if (l->memory_bytes && (r = set_rlimit(RLIMIT_AS, l->memory_bytes)) < 0)
        return r;
    if ((r = set_rlimit(RLIMIT_NPROC, l->pids)) < 0)
        return r;
    if (l->timeout_ms) {
        uint64_t cpu_s = l->timeout_ms / 1000 + 2; /* a backstop; the wall timer comes first */
        struct rlimit rl = {.rlim_cur = cpu_s, .rlim_max = cpu_s + 1};
        if (setrlimit(RLIMIT_CPU, &rl) < 0)
            return -errno;
    }
    return 0;
}

static int drop_ids(const SbxChildPlan *p)
{
    if (!p->drop_ids)
        return 0;
    if ((p->drop_groups && setgroups(0, NULL) < 0) || setresgid(p->gid, p->gid, p->gid) < 0 ||
        setresuid(p->uid, p->uid, p->uid) < 0)
        return -errno;
    return 0;
}

/* fds 0-3 are the I/O contract; the Landlock ruleset rides on fd 4 until it
 * is applied; everything else is closed. All sources are >= 4 because the
 * zygote keeps /dev/null on 0-2 and its socket on 3. */
static int setup_fds(const SbxChildPlan *p)
{
    if (dup2(p->fd_in, 0) < 0 || dup2(p->fd_out, 1) < 0 || dup2(p->fd_err, 2) < 0 || dup2(p->fd_prog, 3) < 0)
        return -errno;
    int first = 4;
    if (p->ruleset_fd >= 0) {
        if (p->ruleset_fd != 4 && dup2(p->ruleset_fd, 4) < 0)
            return -errno;
        first = 5;
    }
    if (syscall(__NR_close_range, first, ~0U, 0) < 0)
        return -errno;
    return 0;
}

static void write_num(char *buf, size_t *len, unsigned v)
{
    char tmp[12];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof(tmp));
    while (n)
        buf[(*len)++] = tmp[--n];
}

/* A trapped built-in lands here: name the syscall on stderr, then make a
 * second forbidden call. SIGSYS is blocked inside its own handler (and the
 * handler was reset), so the kernel forces the default action and the whole
 * process dies of SIGSYS, like KILL_PROCESS would have done. */
static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    char buf[48];
    size_t len = sizeof(SBX_SIGSYS_MARK) - 1;
    memcpy(buf, SBX_SIGSYS_MARK, len);
    write_num(buf, &len, (unsigned)si->si_syscall);
    buf[len++] = '\n';
    (void)!write(2, buf, len);
    for (;;)
        syscall(__NR_vhangup);
}

int sbx_install_sigsys_report(void)
{
    struct sigaction sa = {.sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO | SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}

static int load_seccomp(const SbxChildPlan *p)
{
    struct sock_fprog prog = {.len = (unsigned short)p->bpf.len, .filter = p->bpf.insns};
    if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
        return -errno;
    return 0;
}

static void join_cgroup(const SbxChildPlan *p)
{
    for (size_t i = 0; i < p->n_join_fds; i++)
        if (p->join_fds[i] >= 0 && pwrite(p->join_fds[i], "0", 1, 0) < 0)
            fail(p, SBX_STAGE_CGROUP, errno);
}

_Noreturn void sbx_child_run(const SbxChildPlan *p)
{
    int r;
    /* The zygote blocks SIGCHLD; a built-in of a compute zygote cannot fork,
     * and has its zygote's NO_NEW_PRIVS and SIGSYS handler already. */
    if (!p->prefiltered) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
    }
    if (p->mode == SBX_MODE_RLIMIT)
        setpgid(0, 0); /* so the group can be killed; cgroup mode kills the slot */

    join_cgroup(p);
    if ((r = apply_rlimits(p)) < 0)
        fail(p, SBX_STAGE_RLIMIT, -r);
    if ((r = drop_ids(p)) < 0)
        fail(p, SBX_STAGE_IDS, -r);
    if ((r = setup_fds(p)) < 0)
        fail(p, SBX_STAGE_FDS, -r);
    if (p->envp[0] || (environ && environ[0]))
        environ = p->envp; /* (not written when both are empty: a page less to copy) */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        fail(p, SBX_STAGE_PDEATHSIG, errno);
    if (getppid() != p->zygote_pid)
        _exit(127); /* the zygote is gone: nobody will read our output */
    if (p->cwd[0] && chdir(p->cwd) < 0)
        fail(p, SBX_STAGE_CWD, errno);
    if (!p->prefiltered && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail(p, SBX_STAGE_NNP, errno);
    if (p->ruleset_fd >= 0) {
        if (syscall(__NR_landlock_restrict_self, 4, 0) < 0)
            fail(p, SBX_STAGE_LANDLOCK, errno);
        close(4);
    }
    if (p->sigsys_report && !p->prefiltered && (r = sbx_install_sigsys_report()) < 0)
        fail(p, SBX_STAGE_SECCOMP, -r);
    if ((r = load_seccomp(p)) < 0)
        fail(p, SBX_STAGE_SECCOMP, -r);

    if (p->fn || p->template_run) {
        /* Node code must not reach the report page of its siblings. */
        munmap(p->report_map, p->report_map_len);
        if (p->template_run)
            p->template_run((const char *const *)p->argv);
        _exit(p->fn());
    }
    execve(p->argv[0], p->argv, p->envp);
    fail(p, SBX_STAGE_EXEC, errno);
}
