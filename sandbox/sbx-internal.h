/* sbx-internal.h: what the sandbox's files share and nobody else sees.
 *
 * Who runs what:
 *   caller (multi-threaded flowd): sbx-pool.c; compiles the seccomp
 *     programs (sbx-seccomp.c) and sets up the cgroup slots (sbx-cgroup.c)
 *     once, then only talks to zygotes.
 *   zygote (single-threaded): sbx-zygote.c; forks children and watches them.
 *   child: sbx-child.c; a fixed sequence of raw syscalls, then the node code.
 */
#ifndef FLOWD_SBX_INTERNAL_H
#define FLOWD_SBX_INTERNAL_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "sandbox/sbx.h"
#include "sandbox/sbx-frame.h"

/* The hidden argv[1] that makes sbx_zygote_maybe_run() become a zygote; the
 * socket is always fd 3 in a re-executed zygote. */
#define SBX_ZYGOTE_FLAG "--flowd-sbx-zygote"
#define SBX_ZYGOTE_FD 3

#define SBX_DEFAULT_PIDS 64u
#define SBX_DEFAULT_OUTPUT (16u * 1024u * 1024u)
#define SBX_DEFAULT_FSIZE (64u * 1024u * 1024u)
#define SBX_DEFAULT_NOFILE 64u
#define SBX_DEFAULT_LOG (64u * 1024u)
/* Longest LOG or PROGRESS line forwarded; longer lines are split. */
#define SBX_LINE_MAX 4096u
/* At most this many progress events per second and attempt. */
#define SBX_PROGRESS_INTERVAL_US 200000u
#define SBX_MAX_SLOTS 512u
#define SBX_MAX_ZYGOTES 16u

/* A compiled seccomp program. */
typedef struct SbxBpf {
    struct sock_filter *insns;
    size_t len;
} SbxBpf;

/* Profile variants: the interpreter and exec filters allow writing opens
 * only when Landlock confines them to the scratch dir. */
int sbx_seccomp_compile(SbxProfile profile, bool landlock, SbxBpf *ret, SbxError *e);
/* A compute zygote's own filter, and the short one its children stack on it
 * in place of the compute profile (same allowlist, a fraction of the load
 * cost). */
int sbx_seccomp_compile_compute_zygote(SbxBpf *ret_zygote, SbxBpf *ret_child, SbxError *e);
bool sbx_prefilter_supported(void);
void sbx_bpf_free(SbxBpf *b);
/* The syscall's name for a message, or "" if libseccomp does not know it. */
void sbx_syscall_name(int nr, char *buf, size_t size);

/* Landlock ABI version, 0 when the kernel has none. */
int sbx_landlock_abi(void);

/* One cgroup slot as the zygote sees it: per controller directory, "" when
 * that controller is not managed. v2 uses only unified. */
typedef enum SbxCgCtl {
    SBX_CG_MEMORY,
    SBX_CG_CPU,
    SBX_CG_PIDS,
    SBX_CG_UNIFIED,
    _SBX_CG_MAX,
} SbxCgCtl;

typedef struct SbxSlotPaths {
    char *dir[_SBX_CG_MAX];
} SbxSlotPaths;

/* Caller side: what sbx_cgroup_setup() found and made. */
typedef struct SbxCgroup {
    int version;               /* 1 or 2 */
    bool memsw;                /* v1 memory.memsw.* exists */
    char *parent[_SBX_CG_MAX]; /* the pool's directory per controller */
    char *group[_SBX_CG_MAX];  /* <own cgroup>/<cgroup_name>, removed if empty */
    SbxSlotPaths *slots;
    unsigned n_slots;
} SbxCgroup;

int sbx_cgroup_setup(const char *name, unsigned n_slots, SbxCgroup **ret, SbxError *e);
void sbx_cgroup_free(SbxCgroup *cg);
/* Kills every process in the slot and waits (bounded) until it is empty. */
int sbx_cgroup_slot_kill_paths(int version, const SbxSlotPaths *s);

/* What the zygote needs to run, sent in the INIT frame. */
typedef struct SbxZygoteInit {
    uint32_t index;
    uid_t uid;
    gid_t gid;
    SbxMode mode;
    int cgroup_version;
    bool memsw;
    int landlock_abi;
    uint32_t max_children;
    char *scratch_root;
    char **ro_paths;              /* NULL-terminated */
    SbxBpf bpf[_SBX_PROFILE_MAX]; /* what a child of each profile loads */
    SbxBpf self_bpf;              /* compute zygotes: loaded by the zygote itself; len 0: none */
    SbxSlotPaths *slots;
    uint32_t n_slots;
} SbxZygoteInit;

int sbx_init_encode(SbxWriter *w, SbxBuf *buf, const SbxZygoteInit *in);
int sbx_init_decode(SbxReader *r, SbxZygoteInit *ret);
void sbx_init_done(SbxZygoteInit *in);

/* Zygote side of a slot: fds opened once, limits cached so an attempt with
 * the same limits as the last one costs no write (sbx-cgroup-slot.c). */
typedef enum SbxSlotLimit {
    SBX_LIM_MEM,
    SBX_LIM_MEMSW,
    SBX_LIM_FORCE,
    SBX_LIM_CPU,
    SBX_LIM_PIDS,
    _SBX_LIM_MAX
} SbxSlotLimit;

typedef struct SbxZSlot {
    int version;
    int join_fd[SBX_CG_UNIFIED]; /* v1 cgroup.procs per controller, for the child */
    int dir_fd;                  /* v2: CLONE_INTO_CGROUP target */
    int procs_fd;                /* v2 cgroup.procs to list members */
    char procs_path[512];        /* v1 cgroup.procs, opened per listing */
    int pids_cur_fd;             /* v1 pids.current */
    int events_fd;               /* v2 cgroup.events (populated) */
    int kill_fd;                 /* v2 cgroup.kill */
    int peak_fd, oom_fd;
    char *lim[_SBX_LIM_MAX];             /* limit files, opened when written; NULL: absent */
    uint64_t mem_set, cpu_set, pids_set; /* last written; UINT64_MAX: unknown */
    uint64_t oom_base;
    bool oom_stale; /* oom_base needs a re-read (sbx_zslot_rearm) */
    /* Drained since its last attempt: nothing can have joined it since
     * (only the zygote's children do), so "populated?" needs no read. */
    bool empty;
} SbxZSlot;

int sbx_zslot_open(SbxZSlot *s, int version, bool memsw, const SbxSlotPaths *p);
void sbx_zslot_close(SbxZSlot *s);
/* Writes the attempt's limits (those that changed). */
int sbx_zslot_prepare(SbxZSlot *s, const SbxLimits *l);
/* Readies the slot for its next attempt once a result is out (so not on an
 * attempt's way): resets the peak memory counter and re-reads the OOM kill
 * count if sbx_zslot_collect() skipped it. */
void sbx_zslot_rearm(SbxZSlot *s);
bool sbx_zslot_populated(SbxZSlot *s);
/* One kill round over the slot (v2: cgroup.kill). */
void sbx_zslot_kill(SbxZSlot *s);
/* Kills and waits up to max_us for the slot to empty; 0 or -EBUSY. */
int sbx_zslot_drain(SbxZSlot *s, uint64_t max_us);
/* Peak memory (0 if unknown) and whether the oom_kill counter rose. */
/* An OOM kill is a SIGKILL, so the kill count is read only when the main
 * process was killed (killed); otherwise it is re-read after the result. */
void sbx_zslot_collect(SbxZSlot *s, bool killed, uint64_t *ret_peak, bool *ret_oom);

/* Where child setup failed, written by the child into a page shared with
 * the zygote (no fd needed, nothing to read after exec). */
typedef enum SbxStage {
    SBX_STAGE_NONE,
    SBX_STAGE_CGROUP,
    SBX_STAGE_RLIMIT,
    SBX_STAGE_IDS,
    SBX_STAGE_FDS,
    SBX_STAGE_PDEATHSIG,
    SBX_STAGE_CWD,
    SBX_STAGE_NNP,
    SBX_STAGE_LANDLOCK,
    SBX_STAGE_SECCOMP,
    SBX_STAGE_EXEC,
    _SBX_STAGE_MAX,
} SbxStage;

const char *sbx_stage_name(SbxStage s);

typedef struct SbxChildReport {
    volatile int stage;
    volatile int err;
} SbxChildReport;

/* Everything a child does, decided by the zygote before fork. */
typedef struct SbxChildPlan {
    /* Built by the zygote before fork and complete in itself: the child
     * reads nothing else of the zygote's (its state is MADV_DONTFORK and
     * absent from the child). */
    int join_fds[SBX_CG_UNIFIED]; /* v1: write "0" to each; -1 entries skipped */
    size_t n_join_fds;
    SbxMode mode;
    SbxLimits limits; /* defaults already applied */
    bool drop_ids;
    bool drop_groups; /* the zygote still has supplementary groups */
    uid_t uid;
    gid_t gid;
    int fd_in, fd_out, fd_err, fd_prog; /* become 0, 1, 2, 3 */
    int ruleset_fd;                     /* Landlock, -1 for none */
    char **envp;
    char cwd[512]; /* "": stay where we are */
    pid_t zygote_pid;
    SbxBpf bpf;
    bool sigsys_report; /* compute: name the syscall before dying */
    bool prefiltered;   /* a compute zygote's: NNP, SIGSYS handler inherited */
    SbxBuiltinFn fn;    /* or argv */
    void (*template_run)(const char *const *argv) __attribute__((noreturn)); /* or execve */
    char **argv;
    SbxChildReport *report;
    void *report_map; /* the whole shared mapping, unmapped before node code */
    size_t report_map_len;
} SbxChildPlan;

_Noreturn void sbx_child_run(const SbxChildPlan *p);
/* The SIGSYS handler that names a trapped syscall on fd 2 (compute). */
int sbx_install_sigsys_report(void);

/* The marker a trapping built-in writes on fd 2 before it dies. */
#define SBX_SIGSYS_MARK "\001sbx-sigsys "

/* Landlock: a ruleset for one attempt of a profile that may open files. */
typedef struct SbxLandlockPaths {
    const int *ro_fds; /* read-only trees */
    size_t n_ro;
    const int *exec_tree_fds; /* trees whose programs may be executed (exec profile) */
    size_t n_exec_tree;
    const int *exec_file_fds; /* single files that may be executed */
    size_t n_exec_file;
    int devnull_fd;
    int scratch_fd; /* read-write, no execute */
} SbxLandlockPaths;

int sbx_landlock_ruleset(int abi, const SbxLandlockPaths *p);

/* Everything known about an ended attempt, for sbx_classify(). */
typedef struct SbxExitInfo {
    int status; /* from wait4 */
    struct rusage ru;
    uint64_t wall_us;
    uint64_t peak_bytes; /* from the slot; 0: unknown, use ru_maxrss */
    bool oom;            /* the slot's oom_kill counter rose */
    bool cancelled, timed_out, overflow;
    SbxStage stage; /* != NONE: child setup failed there with stage_err */
    int stage_err;
    int syscall_nr; /* SIGSYS: the forbidden syscall, -1 unknown */
    const SbxLimits *limits;
} SbxExitInfo;

/* Decides the outcome and writes a message a user understands into msg.
 * res->message is left to the caller; output fields are not touched. */
void sbx_classify(const SbxExitInfo *x, SbxResult *res, char *msg, size_t size);

/* Runs a zygote on the socket; never returns. */
_Noreturn void sbx_zygote_main(int sock, const SbxBuiltin *builtins, size_t n_builtins);

#endif
