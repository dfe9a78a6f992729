/* sbx-zygote.c: the fork server.
 *
 * A zygote is single-threaded and small, so fork is cheap and safe. It
 * owns a share of the cgroup slots, forks one child per SPAWN, and watches
 * its children with one epoll loop: output pipes, a signalfd for SIGCHLD,
 * deadlines computed from the attempt table. When a child ends it kills
 * whatever is left in the slot, classifies the outcome and sends DONE.
 * Everything it sends is bounded per attempt (output, log, coalesced
 * progress), so a slow caller cannot make it grow without limit. */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>

#include "sandbox/sbx-internal.h"
#include "sandbox/sbx-util.h"

enum { PIPE_OUT, PIPE_ERR, PIPE_PROG, _PIPE_MAX };
enum { EV_SOCK = 1, EV_SIGNAL, EV_PIPE, EV_SLOT_PIPE };

#define EV_DATA(kind, idx, pipe) (((uint64_t)(kind) << 32) | ((uint64_t)(idx) << 2) | (pipe))
/* After the child exits, wait this long for pipes held by its leftovers. */
#define EXIT_GRACE_US 200000u
/* How long a SIGSYS death waits for the kernel's audit record (kmsg). */
#define KMSG_WAIT_US 30000u
#define LOG_TRUNCATED "... log truncated"

typedef struct ZAttempt {
    bool used;
    uint64_t id;
    pid_t pid;
    int slot; /* index into Zygote.slots, -1 in rlimit mode */
    SbxProfile profile;
    SbxLimits lim;
    int fd[_PIPE_MAX];
    bool slot_pipes; /* fd[] are the slot's pipes: not ours to close */
    bool drained;    /* ... and read to the end with the slot empty */
    uint64_t t_start, deadline, exit_at, kmsg_until;
    size_t line_len[2];
    size_t progress_len;
    bool progress_pending;
    uint64_t progress_sent_at;
    uint64_t log_bytes;
    bool log_truncated;
    bool exited, timed_out, cancelled, overflow;
    int status;
    struct rusage ru;
    int sigsys_nr;
    SbxBuf out; /* kept from attempt to attempt (reset_attempt) */
    /* Big buffers last: reset_attempt() clears only what comes before
     * `out` (their lengths), so a reset writes one page, not four. */
    char scratch[512];
    char line[2][SBX_LINE_MAX]; /* partial stderr / progress lines */
    char progress[SBX_LINE_MAX];
} ZAttempt;

typedef struct KmsgHit {
    pid_t pid;
    int nr;
} KmsgHit;

typedef struct PipeSet {
    int rd[_PIPE_MAX], wr[_PIPE_MAX];
} PipeSet;

typedef struct Zygote {
    int sock, ep, sigfd, kmsg_fd, devnull;
    pid_t self;
    bool root, has_groups;
    /* cgroup mode: each slot keeps one set of pipes for all its attempts
     * (made and watched once). An attempt's output is complete when its
     * slot is empty: every writer is gone, and only the zygote holds the
     * write ends, which is why these pipes never see EOF. */
    PipeSet *slot_pipes;
    int *slot_owner; /* attempt index per slot, -1 when idle */
    SbxZygoteInit init;
    const SbxBuiltin *builtins;
    size_t n_builtins;
    SbxZSlot *slots;
    unsigned *free_slots; /* FIFO: a slot rests as long as possible (CFS quota) */
    unsigned free_head, free_count;
    ZAttempt *att;
    unsigned n_att, running;
    SbxChildReport *reports;
    size_t reports_len;
    SbxBuf in, outq;
    bool out_armed;
    uint64_t lazy_flush_at; /* queued non-urgent frames go out by then */
    int fdq[64];
    unsigned n_fdq;
    int ro_fds[32], exec_tree_fds[8], loader_fd;
    size_t n_ro, n_exec_tree;
    uint64_t seq;
    KmsgHit kmsg_hits[32];
    unsigned kmsg_next;
    const SbxTemplate *tmpl; /* warmed, or NULL */
} Zygote;

static const SbxTemplate *program_template;

void sbx_zygote_set_template(const SbxTemplate *t) { program_template = t; }

static _Noreturn void die(Zygote *z, int code);

/* A prefiltered zygote serves the compute profile only (sbx-pool.c). */
static bool compute_only(const Zygote *z) { return z->init.self_bpf.len > 0; }

/* ---- sending to the caller ---- */

static void arm_out(Zygote *z, bool on)
{
    if (z->out_armed == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u64 = EV_DATA(EV_SOCK, 0, 0)};
    epoll_ctl(z->ep, EPOLL_CTL_MOD, z->sock, &ev);
    z->out_armed = on;
}

static void flush_out(Zygote *z)
{
    size_t off = 0;
    while (off < z->outq.len) {
        ssize_t n = send(z->sock, z->outq.data + off, z->outq.len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            die(z, 0); /* the caller is gone */
        }
        off += (size_t)n;
    }
    sbx_buf_consume(&z->outq, off);
    arm_out(z, z->outq.len > 0);
    if (z->outq.len == 0)
        z->lazy_flush_at = 0;
}

/* STARTED, LOG and PROGRESS may wait up to a millisecond: a short attempt's
 * STARTED then leaves with its DONE in one write, and the caller's reader
 * thread wakes once instead of twice. */
static void flush_later(Zygote *z)
{
    if (z->lazy_flush_at == 0)
        z->lazy_flush_at = sbx_now_us() + 1000;
}

static void send_line(Zygote *z, SbxFrameType type, uint64_t id, const char *s, size_t n)
{
    SbxWriter w;
    sbx_frame_begin(&w, &z->outq, type);
    sbx_put_u64(&w, id);
    sbx_put_bytes(&w, s, n);
    (void)sbx_frame_end(&w);
    flush_later(z);
}

static void send_started(Zygote *z, ZAttempt *a)
{
    SbxWriter w;
    sbx_frame_begin(&w, &z->outq, SBX_FRAME_STARTED);
    sbx_put_u64(&w, a->id);
    sbx_put_u32(&w, (uint32_t)a->pid);
    (void)sbx_frame_end(&w);
    flush_later(z);
}

static void send_done(Zygote *z, uint64_t id, const SbxResult *res)
{
    SbxWriter w;
    if (sbx_done_encode(&w, &z->outq, id, res) < 0) {
        /* Out of memory for the output: still end the attempt. */
        SbxResult small = {
            .outcome = SBX_INTERNAL, .syscall = "", .message = "sandbox: out of memory sending the result"};
        (void)sbx_done_encode(&w, &z->outq, id, &small);
    }
    flush_out(z);
}

static void send_internal(Zygote *z, uint64_t id, const char *msg)
{
    SbxResult res = {.outcome = SBX_INTERNAL, .message = msg};
    send_done(z, id, &res);
}

/* ---- scratch directories ---- */

static int make_scratch(Zygote *z, ZAttempt *a)
{
    snprintf(a->scratch, sizeof(a->scratch), "%s/z%u-%" PRIu64, z->init.scratch_root, z->init.index, ++z->seq);
    if (mkdir(a->scratch, 0700) < 0 && errno != EEXIST)
        return -errno;
    if (z->root && chown(a->scratch, z->init.uid, z->init.gid) < 0)
        return -errno;
    return 0;
}

/* ---- the attempt table ---- */

/* An unused entry: every field before `out` cleared, no slot, no fds. The
 * output buffer is kept for the next attempt (mapped already, so reusing
 * it costs no syscall and no fault). */
static void reset_attempt(ZAttempt *a)
{
    memset(a, 0, offsetof(ZAttempt, out));
    a->slot = -1;
    for (int i = 0; i < _PIPE_MAX; i++)
        a->fd[i] = -1;
    a->sigsys_nr = -1;
    a->out.len = 0;
    a->out.dontfork = true;
    a->scratch[0] = '\0';
}

static ZAttempt *find_attempt(Zygote *z, uint64_t id)
{
    for (unsigned i = 0; i < z->n_att; i++)
        if (z->att[i].used && z->att[i].id == id)
            return &z->att[i];
    return NULL;
}

static int take_slot(Zygote *z)
{
    /* A slot whose leftovers are still dying is skipped this time round. */
    for (unsigned tries = 0; tries < z->free_count; tries++) {
        unsigned s = z->free_slots[z->free_head];
        z->free_head = (z->free_head + 1) % z->init.n_slots;
        z->free_count--;
        if (!sbx_zslot_populated(&z->slots[s]))
            return (int)s;
        sbx_zslot_kill(&z->slots[s]);
        z->free_slots[(z->free_head + z->free_count) % z->init.n_slots] = s;
        z->free_count++;
    }
    return -1;
}

static void put_slot(Zygote *z, int s)
{
    if (s < 0)
        return;
    z->free_slots[(z->free_head + z->free_count) % z->init.n_slots] = (unsigned)s;
    z->free_count++;
}

static void kill_attempt(Zygote *z, ZAttempt *a)
{
    if (a->slot >= 0)
        sbx_zslot_kill(&z->slots[a->slot]);
    else if (a->pid > 0)
        kill(-a->pid, SIGKILL);
    if (a->pid > 0 && !a->exited)
        kill(a->pid, SIGKILL);
}

/* The explicit EPOLL_CTL_DEL matters: a child forked meanwhile may still
 * hold a copy of this read end (until its close_range()), which would keep
 * the closed fd's registration alive and firing. */
static void close_pipe(Zygote *z, ZAttempt *a, int which)
{
    if (a->fd[which] < 0)
        return;
    if (a->slot_pipes) {
        a->fd[which] = -1;
        return;
    }
    epoll_ctl(z->ep, EPOLL_CTL_DEL, a->fd[which], NULL);
    a->fd[which] = safe_close(a->fd[which]);
}

/* What is left in an idle slot's pipes (a killed attempt's last words). */
static void discard_slot_pipes(Zygote *z, int slot)
{
    static char sink[4096];
    for (int i = 0; i < _PIPE_MAX; i++)
        while (read(z->slot_pipes[slot].rd[i], sink, sizeof(sink)) > 0)
            ;
}

static void release_attempt(Zygote *z, ZAttempt *a)
{
    for (int i = 0; i < _PIPE_MAX; i++)
        close_pipe(z, a, i);
    if (a->slot >= 0) {
        (void)sbx_zslot_drain(&z->slots[a->slot], 20000);
        sbx_zslot_rearm(&z->slots[a->slot]);
        if (a->slot_pipes) {
            z->slot_owner[a->slot] = -1;
            if (!a->drained) /* ended by the grace period, leftovers still writing */
                discard_slot_pipes(z, a->slot);
        }
    }
    put_slot(z, a->slot);
    if (a->scratch[0])
        sbx_rm_tree_at(AT_FDCWD, a->scratch, 0);
    if (a->out.cap > SBX_BUF_KEEP)
        sbx_buf_free(&a->out);
    reset_attempt(a);
    z->running--;
}

/* ---- reading the child's pipes ---- */

static void maybe_send_progress(Zygote *z, ZAttempt *a, bool force)
{
    if (!a->progress_pending)
        return;
    uint64_t now = sbx_now_us();
    if (!force && now - a->progress_sent_at < SBX_PROGRESS_INTERVAL_US)
        return;
    send_line(z, SBX_FRAME_PROGRESS, a->id, a->progress, a->progress_len);
    a->progress_pending = false;
    a->progress_sent_at = now;
}

/* The number after the mark; the line is not NUL-terminated (its buffer
 * holds whatever longer line came before). */
static int parse_sigsys_nr(const char *p, const char *end)
{
    int nr = 0;
    for (; p < end && *p >= '0' && *p <= '9' && nr < 100000; p++)
        nr = nr * 10 + (*p - '0');
    return nr;
}

static void on_log_line(Zygote *z, ZAttempt *a, const char *s, size_t n)
{
    const char *mark = memmem(s, n, SBX_SIGSYS_MARK, sizeof(SBX_SIGSYS_MARK) - 1);
    if (mark) {
        a->sigsys_nr = parse_sigsys_nr(mark + sizeof(SBX_SIGSYS_MARK) - 1, s + n);
        n = (size_t)(mark - s);
        if (n == 0)
            return;
    }
    if (a->log_truncated)
        return;
    if (a->log_bytes + n > a->lim.log_max_bytes) {
        a->log_truncated = true;
        send_line(z, SBX_FRAME_LOG, a->id, LOG_TRUNCATED, sizeof(LOG_TRUNCATED) - 1);
        return;
    }
    a->log_bytes += n;
    send_line(z, SBX_FRAME_LOG, a->id, s, n);
}

static void on_line(Zygote *z, ZAttempt *a, int which, const char *s, size_t n)
{
    if (which == PIPE_ERR) {
        on_log_line(z, a, s, n);
        return;
    }
    memcpy(a->progress, s, n);
    a->progress_len = n;
    a->progress_pending = true;
    maybe_send_progress(z, a, false);
}

/* Splits a chunk into lines; a line longer than SBX_LINE_MAX is cut. */
static void feed_lines(Zygote *z, ZAttempt *a, int which, const char *p, size_t n)
{
    int k = which == PIPE_ERR ? 0 : 1;
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        size_t room = SBX_LINE_MAX - 1 - a->line_len[k];
        size_t copy = MIN(take, room);
        memcpy(a->line[k] + a->line_len[k], p, copy);
        a->line_len[k] += copy;
        if (nl || a->line_len[k] == SBX_LINE_MAX - 1) {
            on_line(z, a, which, a->line[k], a->line_len[k]);
            a->line_len[k] = 0;
        }
        size_t used = nl && copy == take ? take + 1 : copy;
        p += used;
        n -= used;
    }
}

static void flush_partial(Zygote *z, ZAttempt *a, int which)
{
    int k = which == PIPE_ERR ? 0 : 1;
    if (a->line_len[k] > 0) {
        on_line(z, a, which, a->line[k], a->line_len[k]);
        a->line_len[k] = 0;
    }
}

static void on_output_overflow(Zygote *z, ZAttempt *a)
{
    a->overflow = true;
    kill_attempt(z, a);
    sbx_buf_free(&a->out);
}

/* Reads what is there; returns false at EOF. */
static bool read_out(Zygote *z, ZAttempt *a)
{
    static char sink[65536];
    for (;;) {
        char *dst = sink;
        size_t room = sizeof(sink);
        if (!a->overflow) {
            if (sbx_buf_reserve(&a->out, 16384) < 0) {
                on_output_overflow(z, a);
                continue;
            }
            dst = a->out.data + a->out.len;
            room = a->out.cap - a->out.len;
        }
        ssize_t n = read(a->fd[PIPE_OUT], dst, room);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        if (n == 0)
            return false;
        if (a->overflow)
            continue;
        a->out.len += (size_t)n;
        if (a->out.len > a->lim.output_max_bytes)
            on_output_overflow(z, a);
    }
}

static bool read_lines(Zygote *z, ZAttempt *a, int which)
{
    static char buf[65536];
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t n = read(a->fd[which], buf, sizeof(buf));
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        if (n == 0) {
            flush_partial(z, a, which);
            return false;
        }
        /* Past the log budget stderr is only drained; lines are still
         * split so the SIGSYS mark of a dying built-in is seen. */
        feed_lines(z, a, which, buf, (size_t)n);
    }
    return true; /* fair share done; level-triggered epoll comes back */
}

static void finish_attempt(Zygote *z, ZAttempt *a);
static void on_pipe(Zygote *z, unsigned idx, int which);

/* Per-attempt pipes end with EOF; a slot's pipes when the slot is empty
 * (then everything written is in them). Leftovers get EXIT_GRACE_US. */
static bool output_complete(Zygote *z, ZAttempt *a)
{
    if (!a->slot_pipes)
        return a->fd[0] < 0 && a->fd[1] < 0 && a->fd[2] < 0;
    if (sbx_zslot_populated(&z->slots[a->slot]))
        return false;
    for (int p = 0; p < _PIPE_MAX; p++)
        on_pipe(z, (unsigned)(a - z->att), p);
    a->drained = true;
    return true;
}

static void maybe_finish(Zygote *z, ZAttempt *a)
{
    if (!a->exited)
        return;
    if (!output_complete(z, a) && sbx_now_us() < a->exit_at + EXIT_GRACE_US)
        return;
    finish_attempt(z, a);
}

static void on_pipe(Zygote *z, unsigned idx, int which)
{
    ZAttempt *a = &z->att[idx];
    if (!a->used || a->fd[which] < 0)
        return;
    bool more = which == PIPE_OUT ? read_out(z, a) : read_lines(z, a, which);
    if (!more) {
        close_pipe(z, a, which);
        maybe_finish(z, a);
    }
}

static void on_slot_pipe(Zygote *z, unsigned slot, int which)
{
    int owner = z->slot_owner[slot];
    if (owner >= 0 && z->att[owner].fd[which] >= 0)
        on_pipe(z, (unsigned)owner, which);
    else
        discard_slot_pipes(z, (int)slot); /* nobody's: a dead attempt's leftovers */
}

/* ---- seccomp violation names ---- */

/* The audit record of a KILL_PROCESS ("type=1326 ... pid=N ... syscall=M")
 * reaches kmsg asynchronously and is rate-limited: a best effort. */
static void kmsg_scan(Zygote *z)
{
    char rec[2048];
    for (int i = 0; i < 256 && z->kmsg_fd >= 0; i++) {
        ssize_t n = read(z->kmsg_fd, rec, sizeof(rec) - 1);
        if (n < 0) {
            if (errno == EPIPE || errno == EINTR)
                continue; /* records were overwritten; carry on */
            return;
        }
        rec[n] = '\0';
        const char *t = strstr(rec, "type=1326");
        const char *p = t ? strstr(t, " pid=") : NULL;
        const char *s = t ? strstr(t, " syscall=") : NULL;
        if (!p || !s)
            continue;
        z->kmsg_hits[z->kmsg_next] = (KmsgHit){.pid = atoi(p + 5), .nr = atoi(s + 9)};
        z->kmsg_next = (z->kmsg_next + 1) % ELEMENTSOF(z->kmsg_hits);
    }
}

static int kmsg_lookup(Zygote *z, pid_t pid)
{
    kmsg_scan(z);
    for (size_t i = 0; i < ELEMENTSOF(z->kmsg_hits); i++)
        if (z->kmsg_hits[i].pid == pid && pid > 0)
            return z->kmsg_hits[i].nr;
    return -1;
}

/* ---- classification ---- */

static void classify(Zygote *z, ZAttempt *a, SbxResult *res, char *msg, size_t size)
{
    SbxChildReport *rep = &z->reports[a - z->att];
    SbxExitInfo x = {
        .status = a->status,
        .ru = a->ru,
        .wall_us = a->exit_at - a->t_start,
        .cancelled = a->cancelled,
        .timed_out = a->timed_out,
        .overflow = a->overflow,
        .stage = (SbxStage)rep->stage,
        .stage_err = rep->err,
        .syscall_nr = a->sigsys_nr,
        .limits = &a->lim,
    };
    if (a->slot >= 0)
        sbx_zslot_collect(&z->slots[a->slot], WIFSIGNALED(a->status) && WTERMSIG(a->status) == SIGKILL, &x.peak_bytes,
                          &x.oom);
    if (WIFSIGNALED(a->status) && WTERMSIG(a->status) == SIGSYS && x.syscall_nr < 0)
        x.syscall_nr = kmsg_lookup(z, a->pid);
    sbx_classify(&x, res, msg, size);
}

static void finish_attempt(Zygote *z, ZAttempt *a)
{
    /* A KILL_PROCESS death may be named by kmsg a moment later. */
    if (WIFSIGNALED(a->status) && WTERMSIG(a->status) == SIGSYS && a->sigsys_nr < 0 && kmsg_lookup(z, a->pid) < 0 &&
        z->kmsg_fd >= 0) {
        if (a->kmsg_until == 0)
            a->kmsg_until = sbx_now_us() + KMSG_WAIT_US;
        if (sbx_now_us() < a->kmsg_until)
            return;
    }
    for (int i = 0; i < _PIPE_MAX; i++)
        if (i != PIPE_OUT)
            flush_partial(z, a, i);
    maybe_send_progress(z, a, true);
    SbxResult res = {0};
    char msg[256];
    classify(z, a, &res, msg, sizeof(msg));
    res.message = msg;
    if (res.outcome == SBX_OK || res.outcome == SBX_NONZERO_EXIT) {
        res.output = a->out.data ? a->out.data : "";
        res.output_len = a->out.len;
    }
    /* The scratch dir is gone before the caller hears of the end. */
    if (a->scratch[0]) {
        sbx_rm_tree_at(AT_FDCWD, a->scratch, 0);
        a->scratch[0] = '\0';
    }
    send_done(z, a->id, &res);
    release_attempt(z, a);
}

/* ---- children ---- */

static void on_child_exit(Zygote *z, pid_t pid, int status, const struct rusage *ru)
{
    for (unsigned i = 0; i < z->n_att; i++) {
        ZAttempt *a = &z->att[i];
        if (!a->used || a->pid != pid || a->exited)
            continue;
        a->exited = true;
        a->status = status;
        a->ru = *ru;
        a->exit_at = sbx_now_us();
        /* The attempt ends with its main process: whatever it left behind
         * (a setsid() grandchild included) dies now, and then the pipes it
         * held reach EOF. */
        if (a->slot >= 0) {
            /* A compute child is one task (no clone, fork or threads in its
             * profile, none in its setup): reaped, its slot is empty. */
            if (a->profile == SBX_PROFILE_COMPUTE)
                z->slots[a->slot].empty = true;
            else if (sbx_zslot_populated(&z->slots[a->slot]))
                sbx_zslot_kill(&z->slots[a->slot]);
        } else
            kill(-pid, SIGKILL);
        if (!a->slot_pipes) /* a slot's pipes are read once it is empty */
            for (int p = 0; p < _PIPE_MAX; p++)
                on_pipe(z, i, p);
        maybe_finish(z, a);
        return;
    }
    /* Orphaned grandchildren reparent to us (subreaper); nothing to do. */
}

static void on_sigchld(Zygote *z)
{
    struct signalfd_siginfo si[8];
    while (read(z->sigfd, si, sizeof(si)) == (ssize_t)sizeof(si))
        ; /* a short read emptied it; wait4 below reaps every child anyway */
    for (;;) {
        int status;
        struct rusage ru;
        pid_t pid = wait4(-1, &status, WNOHANG | __WALL, &ru);
        if (pid <= 0)
            break;
        on_child_exit(z, pid, status, &ru);
    }
}

static void apply_defaults(SbxLimits *l)
{
    if (!l->pids)
        l->pids = SBX_DEFAULT_PIDS;
    if (!l->output_max_bytes)
        l->output_max_bytes = SBX_DEFAULT_OUTPUT;
    if (!l->fsize_bytes)
        l->fsize_bytes = SBX_DEFAULT_FSIZE;
    if (!l->nofile)
        l->nofile = SBX_DEFAULT_NOFILE;
    if (!l->log_max_bytes)
        l->log_max_bytes = SBX_DEFAULT_LOG;
}

static int close_pipe_set(PipeSet *ps, int r)
{
    for (int i = 0; i < _PIPE_MAX; i++) {
        ps->rd[i] = safe_close(ps->rd[i]);
        ps->wr[i] = safe_close(ps->wr[i]);
    }
    return r;
}

/* Read ends non-blocking (the zygote's), write ends blocking (the child's
 * fds 1-3); all close-on-exec. */
static int make_pipes(PipeSet *ps)
{
    for (int i = 0; i < _PIPE_MAX; i++)
        ps->rd[i] = ps->wr[i] = -1;
    for (int i = 0; i < _PIPE_MAX; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
            return close_pipe_set(ps, -errno);
        ps->rd[i] = p[0];
        ps->wr[i] = p[1];
        if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
            return close_pipe_set(ps, -errno);
    }
    return 0;
}

/* rlimit mode: a fresh set per attempt, which ends with EOF. */
static int attempt_pipes(int rd[_PIPE_MAX], int wr[_PIPE_MAX])
{
    PipeSet ps;
    int r = make_pipes(&ps);
    if (r < 0)
        return r;
    memcpy(rd, ps.rd, sizeof(ps.rd));
    memcpy(wr, ps.wr, sizeof(ps.wr));
    return 0;
}

/* v2: the child is born in its slot, which also avoids the cgroup.procs
 * write that stalls ~7 ms after idle (synchronize_rcu). */
static pid_t fork_into(Zygote *z, ZAttempt *a, bool warm)
{
    /* A child that runs on in the zygote's image (a template's) needs
     * glibc's fork: it records the child's own tid for the threads the
     * child may start. It joins its slot with a write. */
    if (warm)
        return fork();
    if (a->slot >= 0 && z->slots[a->slot].dir_fd >= 0) {
        struct clone_args ca = {
            .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)z->slots[a->slot].dir_fd};
        pid_t pid = (pid_t)syscall(__NR_clone3, &ca, sizeof(ca));
        if (pid >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EINVAL))
            return pid;
        z->slots[a->slot].dir_fd = safe_close(z->slots[a->slot].dir_fd); /* use the write */
    }
    /* A raw fork, not glibc's: its at-fork handlers take and release the
     * malloc, stdio and loader locks around the fork, writing libc pages
     * that both processes then copy (4 faults on each side). The zygote
     * is single-threaded, so no lock is held, and glibc (>= 2.34) asks the
     * kernel for the tid where it matters (raise, abort). */
    return (pid_t)syscall(__NR_clone, SIGCHLD, NULL, NULL, NULL, 0);
}

typedef struct SpawnFds {
    int input, rd[_PIPE_MAX], wr[_PIPE_MAX], ruleset, exec_fd, scratch;
} SpawnFds;

static void spawn_fds_close(SpawnFds *f)
{
    f->input = safe_close(f->input);
    for (int i = 0; i < _PIPE_MAX; i++) {
        f->rd[i] = safe_close(f->rd[i]);
        f->wr[i] = safe_close(f->wr[i]);
    }
    f->ruleset = safe_close(f->ruleset);
    f->exec_fd = safe_close(f->exec_fd);
    f->scratch = safe_close(f->scratch);
}

static int build_ruleset(Zygote *z, ZAttempt *a, SbxSpawnMsg *m, SpawnFds *f)
{
    if (a->profile == SBX_PROFILE_COMPUTE || z->init.landlock_abi <= 0)
        return 0;
    int exec_files[2] = {z->loader_fd, -1};
    size_t n_exec = 1;
    if (m->argv) {
        f->exec_fd = open(m->argv[0], O_PATH | O_CLOEXEC);
        if (f->exec_fd < 0)
            return -errno;
        exec_files[n_exec++] = f->exec_fd;
    }
    f->scratch = open(a->scratch, O_PATH | O_DIRECTORY | O_CLOEXEC);
    SbxLandlockPaths lp = {
        .ro_fds = z->ro_fds,
        .n_ro = z->n_ro,
        .exec_tree_fds = z->exec_tree_fds,
        .n_exec_tree = a->profile == SBX_PROFILE_EXEC ? z->n_exec_tree : 0,
        .exec_file_fds = exec_files,
        .n_exec_file = n_exec,
        .devnull_fd = z->devnull,
        .scratch_fd = f->scratch,
    };
    f->ruleset = sbx_landlock_ruleset(z->init.landlock_abi, &lp);
    return f->ruleset < 0 ? f->ruleset : 0;
}

/* Everything the child needs, copied out of the zygote's private state
 * (which a fork leaves behind) into the plan on this stack. */
static void plan_child(Zygote *z, ZAttempt *a, const SbxSpawnMsg *m, const SpawnFds *f, const int wr[_PIPE_MAX],
                       bool warm, SbxChildPlan *plan)
{
    const SbxZSlot *s = a->slot >= 0 ? &z->slots[a->slot] : NULL;
    bool v1 = s && s->version == 1;
    *plan = (SbxChildPlan){
        /* v2 children are born in the slot unless clone3 was unavailable */
        .n_join_fds = !s                        ? 0
                      : v1                      ? SBX_CG_UNIFIED
                      : s->dir_fd >= 0 && !warm ? 0
                                                : 1,
        .mode = z->init.mode,
        .limits = a->lim,
        .drop_ids = z->root,
        .drop_groups = z->has_groups,
        .uid = z->init.uid,
        .gid = z->init.gid,
        .fd_in = f->input,
        .fd_out = wr[PIPE_OUT],
        .fd_err = wr[PIPE_ERR],
        .fd_prog = wr[PIPE_PROG],
        .ruleset_fd = f->ruleset,
        .envp = m->env,
        .zygote_pid = z->self,
        .bpf = z->init.bpf[a->profile],
        .sigsys_report = a->profile == SBX_PROFILE_COMPUTE,
        .prefiltered = compute_only(z),
        .fn = m->builtin >= 0 ? z->builtins[m->builtin].fn : NULL,
        .template_run = warm ? z->tmpl->run : NULL,
        .argv = m->argv,
        .report = &z->reports[a - z->att],
        .report_map = z->reports,
        .report_map_len = z->reports_len,
    };
    if (s)
        memcpy(plan->join_fds, s->join_fd, sizeof(plan->join_fds));
    _Static_assert(sizeof(plan->cwd) == sizeof(a->scratch), "the scratch path fits the plan");
    memcpy(plan->cwd, a->scratch, sizeof(plan->cwd));
}

static bool claimed_by_template(Zygote *z, const ZAttempt *a, const SbxSpawnMsg *m)
{
    if (!z->tmpl || !m->argv || a->profile != SBX_PROFILE_INTERPRETER ||
        !z->tmpl->claims((const char *const *)m->argv, (const char *const *)m->env))
        return false;
    if (z->tmpl->prepare)
        z->tmpl->prepare((const char *const *)m->argv);
    return true;
}

static int start_child(Zygote *z, ZAttempt *a, SbxSpawnMsg *m, SpawnFds *f)
{
    int r;
    if (a->profile != SBX_PROFILE_COMPUTE && (r = make_scratch(z, a)) < 0)
        return r;
    const PipeSet *sp = a->slot >= 0 ? &z->slot_pipes[a->slot] : NULL;
    if ((!sp && (r = attempt_pipes(f->rd, f->wr)) < 0) || (r = build_ruleset(z, a, m, f)) < 0)
        return r;
    z->reports[a - z->att] = (SbxChildReport){0};
    bool warm = claimed_by_template(z, a, m);
    SbxChildPlan plan;
    plan_child(z, a, m, f, sp ? sp->wr : f->wr, warm, &plan);
    a->t_start = sbx_now_us();
    pid_t pid = fork_into(z, a, warm);
    if (pid < 0)
        return -errno;
    if (pid == 0)
        sbx_child_run(&plan);
    a->pid = pid;
    if (sp) {
        memcpy(a->fd, sp->rd, sizeof(a->fd));
        a->slot_pipes = true;
        z->slot_owner[a->slot] = (int)(a - z->att);
        return 0;
    }
    for (int i = 0; i < _PIPE_MAX; i++) {
        a->fd[i] = TAKE_FD(f->rd[i]);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_DATA(EV_PIPE, a - z->att, i)};
        epoll_ctl(z->ep, EPOLL_CTL_ADD, a->fd[i], &ev);
    }
    return 0;
}

static ZAttempt *claim_attempt(Zygote *z, const SbxSpawnMsg *m, const char **why)
{
    if (find_attempt(z, m->id)) {
        *why = "sandbox: attempt id already running";
        return NULL;
    }
    if (m->builtin >= 0 && (size_t)m->builtin >= z->n_builtins) {
        *why = "sandbox: unknown built-in (zygote table differs from the caller's)";
        return NULL;
    }
    SbxProfile profile = m->builtin >= 0 ? z->builtins[m->builtin].profile : m->profile;
    if (compute_only(z) && profile != SBX_PROFILE_COMPUTE) {
        *why = "sandbox: a compute zygote was sent an attempt of another profile";
        return NULL;
    }
    ZAttempt *a = NULL;
    for (unsigned i = 0; i < z->n_att && !a; i++)
        if (!z->att[i].used)
            a = &z->att[i];
    int slot = z->init.mode == SBX_MODE_CGROUP ? take_slot(z) : -1;
    if (!a || (z->init.mode == SBX_MODE_CGROUP && slot < 0)) {
        put_slot(z, slot);
        *why = "sandbox: no free slot in this zygote";
        return NULL;
    }
    reset_attempt(a);
    a->used = true;
    a->id = m->id;
    a->slot = slot;
    a->lim = m->limits;
    a->profile = profile;
    apply_defaults(&a->lim);
    z->running++;
    return a;
}

static void on_spawn(Zygote *z, SbxReader *r)
{
    SbxSpawnMsg m;
    if (sbx_spawn_decode(r, &m) < 0 || z->n_fdq == 0)
        die(z, 2); /* the stream is out of step; the caller restarts us */
    SpawnFds f = {
        .input = z->fdq[0], .rd = {-1, -1, -1}, .wr = {-1, -1, -1}, .ruleset = -1, .exec_fd = -1, .scratch = -1};
    memmove(z->fdq, z->fdq + 1, --z->n_fdq * sizeof(int));
    const char *why = NULL;
    ZAttempt *a = claim_attempt(z, &m, &why);
    if (!a) {
        send_internal(z, m.id, why);
    } else {
        int rc = a->slot >= 0 ? sbx_zslot_prepare(&z->slots[a->slot], &a->lim) : 0;
        if (rc == 0)
            rc = start_child(z, a, &m, &f);
        if (rc < 0) {
            char msg[256];
            snprintf(msg, sizeof(msg), "sandbox: cannot start the attempt: %s", strerror(-rc));
            send_internal(z, m.id, msg);
            release_attempt(z, a);
        } else {
            a->deadline = a->lim.timeout_ms ? a->t_start + a->lim.timeout_ms * 1000ull : 0;
            send_started(z, a);
        }
    }
    spawn_fds_close(&f);
    sbx_spawn_msg_done(&m);
}

static void on_cancel(Zygote *z, SbxReader *r)
{
    ZAttempt *a = find_attempt(z, sbx_get_u64(r));
    if (!a || a->exited)
        return; /* already over: its DONE is on the way */
    a->cancelled = true;
    kill_attempt(z, a);
}

/* ---- the caller's socket ---- */

static void take_fds(Zygote *z, struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *fds = (int *)CMSG_DATA(c);
        for (size_t i = 0; i < n; i++) {
            if (z->n_fdq < ELEMENTSOF(z->fdq))
                z->fdq[z->n_fdq++] = fds[i];
            else
                close(fds[i]);
        }
    }
}

static void on_frames(Zygote *z)
{
    size_t off = 0;
    for (;;) {
        SbxFrameType type;
        SbxReader body;
        size_t size;
        int r = sbx_frame_next(z->in.data + off, z->in.len - off, &type, &body, &size);
        if (r < 0)
            die(z, 2);
        if (r == 0)
            break;
        if (type == SBX_FRAME_SPAWN)
            on_spawn(z, &body);
        else if (type == SBX_FRAME_CANCEL)
            on_cancel(z, &body);
        else
            die(z, 2);
        off += size;
    }
    sbx_buf_consume(&z->in, off);
}

static void on_sock(Zygote *z, uint32_t events)
{
    if (events & EPOLLOUT)
        flush_out(z);
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    /* One read per wake-up: epoll is level-triggered, so more data brings
     * us back, and a fork is not followed by a read that finds nothing. */
    if (sbx_buf_reserve(&z->in, 65536) < 0)
        die(z, 3);
    char cbuf[CMSG_SPACE(sizeof(int) * 8)];
    struct iovec iov = {.iov_base = z->in.data + z->in.len, .iov_len = z->in.cap - z->in.len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    ssize_t n = recvmsg(z->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0)
        die(z, 0); /* the caller closed: pool freed or caller died */
    take_fds(z, &mh);
    z->in.len += (size_t)n;
    on_frames(z);
}

/* ---- timers ---- */

static int next_timeout_ms(Zygote *z)
{
    uint64_t now = sbx_now_us(), next = UINT64_MAX;
    for (unsigned i = 0; i < z->n_att; i++) {
        ZAttempt *a = &z->att[i];
        if (!a->used)
            continue;
        if (a->deadline && !a->exited && !a->timed_out)
            next = MIN(next, a->deadline);
        if (a->progress_pending)
            next = MIN(next, a->progress_sent_at + SBX_PROGRESS_INTERVAL_US);
        if (a->exited)
            next = MIN(next, a->kmsg_until ? a->kmsg_until : a->exit_at + EXIT_GRACE_US);
        if (a->exited && a->slot_pipes)
            next = MIN(next, now + 1000); /* leftovers dying: is the slot empty yet? */
    }
    if (z->lazy_flush_at)
        next = MIN(next, z->lazy_flush_at);
    if (next == UINT64_MAX)
        return -1;
    return next <= now ? 0 : (int)MIN((next - now + 999) / 1000, 60000u);
}

static void on_timers(Zygote *z)
{
    uint64_t now = sbx_now_us();
    for (unsigned i = 0; i < z->n_att; i++) {
        ZAttempt *a = &z->att[i];
        if (!a->used)
            continue;
        if (a->deadline && now >= a->deadline && !a->exited && !a->timed_out && !a->cancelled) {
            a->timed_out = true;
            kill_attempt(z, a);
        }
        maybe_send_progress(z, a, false);
        if (a->exited)
            maybe_finish(z, a);
    }
}

/* ---- setup and teardown ---- */

static _Noreturn void die(Zygote *z, int code)
{
    for (unsigned i = 0; i < z->n_att; i++)
        if (z->att[i].used)
            kill_attempt(z, &z->att[i]);
    for (unsigned i = 0; i < z->n_att; i++) {
        ZAttempt *a = &z->att[i];
        if (!a->used)
            continue;
        if (!a->exited)
            (void)waitpid(a->pid, NULL, __WALL);
        a->exited = true;
        if (a->scratch[0])
            sbx_rm_tree_at(AT_FDCWD, a->scratch, 0);
    }
    _exit(code);
}

static void open_paths(Zygote *z)
{
    static const char *const system_ro[] = {"/usr", "/lib", "/lib64", "/etc", "/bin"};
    static const char *const system_exec[] = {"/usr", "/bin", "/lib", "/lib64", "/sbin"};
    for (size_t i = 0; i < ELEMENTSOF(system_ro); i++) {
        int fd = open(system_ro[i], O_PATH | O_CLOEXEC);
        if (fd >= 0)
            z->ro_fds[z->n_ro++] = fd;
    }
    for (char **p = z->init.ro_paths; p && *p && z->n_ro < ELEMENTSOF(z->ro_fds); p++) {
        int fd = open(*p, O_PATH | O_CLOEXEC);
        if (fd >= 0)
            z->ro_fds[z->n_ro++] = fd;
    }
    for (size_t i = 0; i < ELEMENTSOF(system_exec); i++) {
        int fd = open(system_exec[i], O_PATH | O_CLOEXEC);
        if (fd >= 0)
            z->exec_tree_fds[z->n_exec_tree++] = fd;
    }
    /* Executing a dynamic program also executes its loader. */
    z->loader_fd = open("/lib64/ld-linux-x86-64.so.2", O_PATH | O_CLOEXEC);
    z->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
}

static int setup_slots(Zygote *z)
{
    unsigned n = z->init.n_slots;
    if (z->init.mode != SBX_MODE_CGROUP)
        return 0;
    z->slots = sbx_private_alloc(n * sizeof(*z->slots));
    z->free_slots = sbx_private_alloc(n * sizeof(unsigned));
    if (!z->slots || !z->free_slots)
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        int r = sbx_zslot_open(&z->slots[i], z->init.cgroup_version, z->init.memsw, &z->init.slots[i]);
        if (r < 0)
            return r;
        put_slot(z, (int)i);
    }
    return 0;
}

static int setup_loop(Zygote *z)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    z->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    z->ep = epoll_create1(EPOLL_CLOEXEC);
    if (z->sigfd < 0 || z->ep < 0)
        return -errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_DATA(EV_SOCK, 0, 0)};
    if (epoll_ctl(z->ep, EPOLL_CTL_ADD, z->sock, &ev) < 0)
        return -errno;
    ev.data.u64 = EV_DATA(EV_SIGNAL, 0, 0);
    if (epoll_ctl(z->ep, EPOLL_CTL_ADD, z->sigfd, &ev) < 0)
        return -errno;
    /* Compute children trap and name their syscall themselves. */
    z->kmsg_fd = compute_only(z) ? -1 : open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (z->kmsg_fd >= 0)
        lseek(z->kmsg_fd, 0, SEEK_END);
    return 0;
}

static int setup_slot_pipes(Zygote *z)
{
    unsigned n = z->init.mode == SBX_MODE_CGROUP ? z->init.n_slots : 0;
    if (n == 0)
        return 0;
    z->slot_pipes = sbx_private_alloc(n * sizeof(*z->slot_pipes));
    z->slot_owner = sbx_private_alloc(n * sizeof(*z->slot_owner));
    if (!z->slot_pipes || !z->slot_owner)
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        z->slot_owner[i] = -1;
        int r = make_pipes(&z->slot_pipes[i]);
        if (r < 0)
            return r;
        for (int k = 0; k < _PIPE_MAX; k++) {
            struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_DATA(EV_SLOT_PIPE, i, k)};
            if (epoll_ctl(z->ep, EPOLL_CTL_ADD, z->slot_pipes[i].rd[k], &ev) < 0)
                return -errno;
        }
    }
    return 0;
}

static int setup(Zygote *z)
{
    z->n_att = z->init.max_children;
    z->att = sbx_private_alloc(z->n_att * sizeof(*z->att));
    z->reports_len = (z->n_att * sizeof(SbxChildReport) + 4095) & ~(size_t)4095;
    z->reports = mmap(NULL, z->reports_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!z->att || z->reports == MAP_FAILED)
        return -ENOMEM;
    for (unsigned i = 0; i < z->n_att; i++)
        reset_attempt(&z->att[i]);
    if (mkdir(z->init.scratch_root, 0711) < 0 && errno != EEXIST)
        return -errno;
    /* Every open fd is copied by each fork and closed by each child: a
     * compute zygote opens no Landlock paths (compute has no Landlock). */
    if (!compute_only(z))
        open_paths(z);
    int r = setup_slots(z);
    if (r == 0)
        r = setup_loop(z);
    return r < 0 ? r : setup_slot_pipes(z);
}

static void read_init(Zygote *z)
{
    for (;;) {
        SbxFrameType type;
        SbxReader body;
        size_t size;
        int r = sbx_frame_next(z->in.data, z->in.len, &type, &body, &size);
        if (r < 0 || (r == 1 && type != SBX_FRAME_INIT))
            _exit(2);
        if (r == 1) {
            if (sbx_init_decode(&body, &z->init) < 0)
                _exit(2);
            sbx_buf_consume(&z->in, size);
            return;
        }
        if (sbx_buf_reserve(&z->in, 65536) < 0)
            _exit(3);
        ssize_t n = read(z->sock, z->in.data + z->in.len, z->in.cap - z->in.len);
        if (n <= 0 && errno != EINTR)
            _exit(0);
        if (n > 0)
            z->in.len += (size_t)n;
    }
}

/* A compute zygote confines itself once; its children inherit the filter,
 * NO_NEW_PRIVS and the SIGSYS handler that names a trapped syscall, and
 * stack the short filter of their profile (sbx-seccomp.c). */
static int load_self_filter(Zygote *z)
{
    if (!z->init.self_bpf.len)
        return 0;
    struct sock_fprog prog = {.len = (unsigned short)z->init.self_bpf.len, .filter = z->init.self_bpf.insns};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || sbx_install_sigsys_report() < 0 ||
        syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
        return -errno;
    return 0;
}

/* What every child would set the same way is set once here and inherited:
 * no core dumps, the default file size limit, no supplementary groups. */
static void own_limits(Zygote *z)
{
    struct rlimit core = {0, 0}, fsize = {SBX_DEFAULT_FSIZE, SBX_DEFAULT_FSIZE};
    if (setrlimit(RLIMIT_CORE, &core) < 0 || setrlimit(RLIMIT_FSIZE, &fsize) < 0)
        _exit(4);
    if (z->root)
        (void)setgroups(0, NULL);
    z->has_groups = getgroups(0, NULL) != 0;
}

static void stdio_to_devnull(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int i = 0; i < 3; i++)
        if (fd != i)
            dup2(fd, i);
    if (fd > 2)
        close(fd);
}

_Noreturn void sbx_zygote_main(int sock, const SbxBuiltin *builtins, size_t n_builtins)
{
    /* The zygote's own state is private: see sbx_private_alloc(). */
    Zygote *z = sbx_private_alloc(sizeof(*z));
    if (!z)
        _exit(3);
    *z = (Zygote){.sock = sock,
                  .kmsg_fd = -1,
                  .devnull = -1,
                  .loader_fd = -1,
                  .builtins = builtins,
                  .n_builtins = n_builtins,
                  .in.dontfork = true,
                  .outq.dontfork = true,
                  .self = getpid(),
                  .root = geteuid() == 0};
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NAME, "flowd-zygote");
    /* Orphaned grandchildren come to us, so they are reaped (and their pids
     * freed from the slot's pids count) by the process that kills them. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    /* A forked zygote inherits the caller's handlers (a test framework's
     * SIGSEGV handler, say); children must start from the defaults. */
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    stdio_to_devnull();
    if (chdir("/") < 0) /* hold no mount busy */
        _exit(4);
    own_limits(z);
    read_init(z);
    if (setup(z) < 0 || load_self_filter(z) < 0)
        _exit(4);
    /* Only python zygotes register a template (the pool starts them only
     * when it is wanted); compute zygotes run built-ins only. */
    if (program_template && !compute_only(z) && program_template->warm() == 0)
        z->tmpl = program_template;
    SbxWriter w;
    sbx_frame_begin(&w, &z->outq, SBX_FRAME_READY);
    sbx_put_u32(&w, (uint32_t)z->self);
    sbx_put_u8(&w, z->tmpl != NULL);
    (void)sbx_frame_end(&w);
    flush_out(z);
    for (;;) {
        struct epoll_event evs[64];
        int n = epoll_wait(z->ep, evs, ELEMENTSOF(evs), next_timeout_ms(z));
        if (n < 0 && errno != EINTR)
            die(z, 5);
        /* Pipes first: a child's last output must be read before its exit
         * is handled in the same round. */
        for (int i = 0; i < n; i++) {
            uint64_t kind = evs[i].data.u64 >> 32;
            unsigned idx = (unsigned)(evs[i].data.u64 & 0xffffffffu) >> 2;
            if (kind == EV_PIPE)
                on_pipe(z, idx, (int)(evs[i].data.u64 & 3));
            else if (kind == EV_SLOT_PIPE)
                on_slot_pipe(z, idx, (int)(evs[i].data.u64 & 3));
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 >> 32 == EV_SIGNAL)
                on_sigchld(z);
            else if (evs[i].data.u64 >> 32 == EV_SOCK)
                on_sock(z, evs[i].events);
        }
        on_timers(z);
        if (z->outq.len && !z->out_armed && sbx_now_us() >= z->lazy_flush_at)
            flush_out(z);
    }
}

void sbx_zygote_maybe_run(int argc, char **argv, const SbxBuiltin *builtins, size_t n_builtins)
{
    if (argc < 2 || !argv || !argv[1] || strcmp(argv[1], SBX_ZYGOTE_FLAG) != 0)
        return;
    /* Whatever the program opened before main() without O_CLOEXEC. */
    syscall(__NR_close_range, SBX_ZYGOTE_FD + 1, ~0U, 0);
    sbx_zygote_main(SBX_ZYGOTE_FD, builtins, n_builtins);
}
