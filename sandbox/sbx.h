/* sbx.h: the sandbox library's public API.
 *
 * The sandbox runs node attempts in forked children confined by a cgroup
 * slot (memory, CPU, pids), rlimits, an unprivileged uid, Landlock where the
 * kernel has it, and a precompiled seccomp filter loaded last (DESIGN.md §2,
 * §3). Children are forked by zygotes: small single-threaded fork servers
 * started before any thread exists, which talk to the caller over a
 * socketpair. This library knows nothing of gRPC, protobuf or workflows: it
 * runs a built-in function or an executable on input bytes and reports what
 * happened.
 *
 * Child I/O contract (what node code sees):
 *   fd 0  the input document (a sealed memfd holding SbxRequest.input)
 *   fd 1  the output document (a pipe; at most limits.output_max_bytes)
 *   fd 2  stderr (a pipe; forwarded as SBX_EV_LOG lines, bounded)
 *   fd 3  progress (a pipe; one JSON line per update, forwarded as
 *         SBX_EV_PROGRESS, coalesced to a few per second)
 * cwd is a private scratch directory, removed after the attempt.
 */
#ifndef FLOWD_SBX_H
#define FLOWD_SBX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum SbxProfile {
    SBX_PROFILE_COMPUTE,     /* built-in nodes: no open, no socket, no fork, no exec */
    SBX_PROFILE_INTERPRETER, /* python/exec: read-only open, threads, execve */
    SBX_PROFILE_EXEC,        /* admin-allowlisted programs (e.g. /bin/sh scripts): the
                              * interpreter rules plus fork/exec/wait/kill; children
                              * stay in the attempt's cgroup and Landlock domain */
    _SBX_PROFILE_MAX,
} SbxProfile;

typedef enum SbxMode {
    SBX_MODE_CGROUP, /* cgroup slots: the default, needs a writable cgroupfs */
    SBX_MODE_RLIMIT, /* rlimits only (FLOWD_SANDBOX=rlimit): weaker, said loudly */
    _SBX_MODE_MAX,
} SbxMode;

typedef enum SbxOutcome {
    SBX_OK,                /* exited 0; output holds what it wrote on fd 1 */
    SBX_NONZERO_EXIT,      /* exit_code set */
    SBX_SIGNALED,          /* signal set; not OOM, not timeout, not seccomp */
    SBX_OOM_KILLED,        /* the slot's oom_kill counter rose */
    SBX_TIMEOUT,           /* wall clock limit reached; whole cgroup killed */
    SBX_SANDBOX_VIOLATION, /* seccomp killed it; syscall named where known */
    SBX_INVALID_OUTPUT,    /* output larger than limits.output_max_bytes */
    SBX_CANCELLED,         /* sbx_cancel() */
    SBX_INTERNAL,          /* the sandbox itself failed (zygote died, setup failed) */
    _SBX_OUTCOME_MAX,
} SbxOutcome;

/* A built-in node function. It runs in the sandboxed child, after seccomp
 * (profile COMPUTE unless the table says otherwise): it reads fd 0, writes
 * its output document to fd 1 and optional progress lines to fd 3, and
 * returns the exit code. */
typedef int (*SbxBuiltinFn)(void);

typedef struct SbxBuiltin {
    const char *name;
    SbxBuiltinFn fn;
    SbxProfile profile;
} SbxBuiltin;

typedef struct SbxConfig {
    SbxMode mode;
    uid_t uid; /* children run as this uid/gid (default 65534) */
    gid_t gid;
    unsigned zygotes;         /* fork servers; 0 = one per CPU, at most 4 */
    unsigned max_children;    /* concurrent children over all zygotes */
    const char *scratch_root; /* per-attempt scratch dirs are made here */
    const char *cgroup_name;  /* slot parent, e.g. "flowd" (made under our own cgroup) */
    const SbxBuiltin *builtins;
    size_t n_builtins;
    /* Extra read-only paths for Landlock (besides /usr, /lib*, /etc). */
    const char *const *ro_paths;
    /* The program zygotes run (with a hidden argv flag handled by
     * sbx_zygote_maybe_run); NULL: this program (/proc/self/exe). A small
     * dedicated program forks much faster than a server linked with dozens
     * of libraries: fork and exit cost grows with the mappings. */
    const char *zygote_exe;
    /* The python template (see SbxTemplate): the path of the built
     * flowd_sbx_python.so. General zygotes are then `python` processes
     * (default /usr/bin/python3) that load it, and python attempts fork a
     * started interpreter instead of executing python3. Used only where
     * built-ins have zygotes of their own (not in sanitizer builds). */
    const char *python_zygote;
    const char *python;
    bool no_template; /* ignore python_zygote */
} SbxConfig;

typedef struct SbxLimits {
    uint64_t memory_bytes;     /* 0: no limit */
    uint32_t cpu_millis;       /* 1000 = one CPU; 0: no limit */
    uint32_t pids;             /* 0: default 64 */
    uint32_t timeout_ms;       /* wall clock; 0: none */
    uint64_t output_max_bytes; /* 0: 16 MiB */
    uint64_t fsize_bytes;      /* RLIMIT_FSIZE; 0: 64 MiB */
    uint32_t nofile;           /* RLIMIT_NOFILE; 0: 64 */
    uint32_t log_max_bytes;    /* stderr forwarded at most; 0: 64 KiB */
} SbxLimits;

typedef struct SbxRequest {
    uint64_t id;             /* the caller's attempt id, echoed in events */
    int builtin;             /* index into SbxConfig.builtins, or -1 to execve argv */
    SbxProfile profile;      /* for argv; built-ins use their table entry */
    const char *const *argv; /* argv[0] is an absolute path; NULL-terminated */
    const char *const *env;  /* "NAME=value", NULL-terminated; the whole environment */
    const char *input;       /* the bytes the child reads on fd 0 */
    size_t input_len;
    SbxLimits limits;
} SbxRequest;

typedef struct SbxUsage {
    uint64_t peak_memory_bytes;
    uint64_t cpu_user_us;
    uint64_t cpu_system_us;
    uint64_t wall_us;
} SbxUsage;

typedef struct SbxResult {
    SbxOutcome outcome;
    int exit_code;
    int signal;
    char syscall[32];   /* for SBX_SANDBOX_VIOLATION, "" when unknown */
    const char *output; /* valid only during the callback */
    size_t output_len;
    SbxUsage usage;
    /* What happened in words a user understands, e.g. "killed: memory limit
     * 64 MiB exceeded (peak 64 MiB)". Valid only during the callback. */
    const char *message;
} SbxResult;

typedef enum SbxEventType {
    SBX_EV_STARTED,  /* the child is running (pid known) */
    SBX_EV_PROGRESS, /* a line the child wrote on fd 3 */
    SBX_EV_LOG,      /* a line the child wrote on fd 2 */
    SBX_EV_DONE,     /* the attempt ended; result set; the id is free again */
    _SBX_EV_MAX,
} SbxEventType;

typedef struct SbxEvent {
    SbxEventType type;
    uint64_t id;
    const char *line; /* PROGRESS, LOG: without the newline, NUL-terminated */
    size_t line_len;
    const SbxResult *result; /* DONE */
    pid_t pid;               /* STARTED: the child's pid */
} SbxEvent;

/* Called on the library's reader thread; must not block for long and must
 * copy what it keeps. */
typedef void (*SbxEventFn)(const SbxEvent *ev, void *userdata);

typedef struct SbxError {
    int err; /* positive errno */
    char msg[512];
} SbxError;

typedef struct SbxInfo {
    SbxMode mode;
    int cgroup_version; /* 1, 2, or 0 in rlimit mode */
    bool landlock;
    unsigned zygotes;
    unsigned slots;
    bool python_template; /* general zygotes are python3 with the template warm */
} SbxInfo;

typedef struct SbxPool SbxPool;

/* Checks the machine (cgroups, seccomp), sets up the cgroup slots and starts
 * the zygotes: fresh images of this program (/proc/self/exe, empty
 * environment) that sbx_zygote_maybe_run() turns into fork servers, so
 * node code never shares memory with the caller. Call it early, before
 * threads exist. Returns 0 or -errno with e filled: e.g. no cgroup access
 * in SBX_MODE_CGROUP (the message names FLOWD_SANDBOX=rlimit). */
int sbx_pool_new(const SbxConfig *cfg, SbxPool **ret, SbxError *e);

/* Starts the reader thread that delivers events to fn. */
int sbx_pool_start(SbxPool *p, SbxEventFn fn, void *userdata);

/* Starts an attempt. Thread-safe. Returns 0, or -EAGAIN when max_children are
 * running (or no zygote is ready), -EINVAL for a bad request (a COMPUTE
 * profile cannot execve: argv needs INTERPRETER or EXEC), -EEXIST for an id
 * still running, -ENOTCONN before sbx_pool_start(). Exactly one SBX_EV_DONE
 * follows a 0. */
int sbx_spawn(SbxPool *p, const SbxRequest *req);

/* Kills the attempt's whole cgroup; its DONE event says SBX_CANCELLED.
 * Returns -ENOENT if the attempt is not running. Thread-safe. */
int sbx_cancel(SbxPool *p, uint64_t id);

/* True while every zygote is alive (a dead one is restarted by the reader
 * thread, its running attempts ending SBX_INTERNAL). */
bool sbx_pool_healthy(const SbxPool *p);

void sbx_pool_info(const SbxPool *p, SbxInfo *ret);

/* Kills every child, stops the zygotes, removes the cgroup slots. Accepts NULL. */
SbxPool *sbx_pool_free(SbxPool *p);

const char *sbx_outcome_name(SbxOutcome o);
const char *sbx_profile_name(SbxProfile p);
const char *sbx_mode_name(SbxMode m);

/* A template: a program a general zygote has started once and forks,
 * instead of each child executing it. A child whose request the template claims runs
 * the same setup as any other (cgroup, ids, fds, Landlock, seccomp with the
 * request's profile) and then calls run() where it would call execve(). */
typedef struct SbxTemplate {
    const char *name;
    /* In the zygote, once, before any child: 0 when ready. */
    int (*warm)(void);
    /* In the zygote, per INTERPRETER request: does run() do what execve of
     * argv with this whole environment would? */
    bool (*claims)(const char *const *argv, const char *const *env);
    /* In the zygote, before the fork of a claimed request (may be NULL).
     * What it keeps of argv is in every later child's copy of the zygote:
     * a request's secrets go in its environment (wiped after the fork),
     * never in argv. */
    void (*prepare)(const char *const *argv);
    /* In the child, after its setup. */
    void (*run)(const char *const *argv) __attribute__((noreturn));
} SbxTemplate;

/* Where flowd_sbx_python.so is, seen from this program (next to it, in
 * its Bazel runfiles or build tree), for SbxConfig.python_zygote; NULL if
 * nowhere. Free it. */
char *sbx_python_zygote_path(void);

/* The zygotes of this program warm t (unless SbxConfig.no_template). Call
 * before sbx_zygote_maybe_run(). */
void sbx_zygote_set_template(const SbxTemplate *t);

/* If argv says this process is a zygote (started by sbx_pool_new() or to
 * replace a dead one), runs it and never returns; otherwise returns at once.
 * Call first in main(), with the same built-in table as SbxConfig. */
void sbx_zygote_maybe_run(int argc, char **argv, const SbxBuiltin *builtins, size_t n_builtins);

#endif
