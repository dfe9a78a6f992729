/* sbx-pool.c: the caller's side: set up once, fork the zygotes, then send
 * SPAWN/CANCEL frames from any thread and deliver the zygotes' events on
 * one reader thread.
 *
 * Zygotes: posix_spawn() of /proc/self/exe with a hidden argv[1]
 * (SBX_ZYGOTE_FLAG), the socket on fd 3 and an environment of only LD_BIND_NOW=1;
 * sbx_zygote_maybe_run() at the top of main() turns that process into a
 * zygote, which gets its configuration (seccomp programs included) in an
 * INIT frame. The same path restarts a dead zygote from the reader thread,
 * where forking the multi-threaded caller would be unsafe. Attempts that
 * were running on a dead zygote end SBX_INTERNAL; the slots it owned are
 * killed empty first. */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>

#include "sandbox/sbx-internal.h"
#include "sandbox/sbx-util.h"

#define READY_TIMEOUT_US (10u * 1000000u)
#define SEND_TIMEOUT_MS 5000
#define RESTART_BACKOFF_MAX_US (5u * 1000000u)
#define WAKE_TAG UINT64_MAX

typedef enum ZState { Z_STARTING, Z_READY, Z_DEAD } ZState;

typedef struct PZygote {
    unsigned index;
    pid_t pid;
    int sock;
    ZState state;
    uint64_t generation; /* bumped per (re)start; stale sends are dropped */
    unsigned running, capacity;
    SbxBuf rbuf;
    pthread_mutex_t wlock; /* one writer at a time on sock */
    uint64_t started_at, restart_at;
    unsigned failures;
    unsigned first_slot, n_slots;
    bool compute; /* prefiltered: serves the compute profile only */
    bool warm;    /* said READY with its template warm */
} PZygote;

typedef struct PAttempt {
    bool used;
    uint64_t id;
    unsigned z;
} PAttempt;

struct SbxPool {
    SbxMode mode;
    uid_t uid;
    gid_t gid;
    char *scratch_root;
    char *zygote_exe;
    char **ro_paths;
    const SbxBuiltin *builtins;
    size_t n_builtins;
    SbxBpf bpf[_SBX_PROFILE_MAX];
    /* Compute attempts go to zygotes of their own that run under a filter
     * (compute_zygote_bpf); their children stack compute_child_bpf. */
    bool prefilter;
    SbxBpf compute_zygote_bpf, compute_child_bpf;
    unsigned per_kind; /* zygotes per kind; nz = 2 * per_kind with prefilter */
    SbxCgroup *cg;
    int landlock_abi;
    char *python_zygote, *python; /* general zygotes are python3 processes */
    PZygote *z;
    unsigned nz;
    PAttempt *att;
    unsigned max_children, running;
    pthread_mutex_t lock; /* att, running, zygote states and counts */
    pthread_t reader;
    bool started;
    int ep, wake_fd;
    atomic_bool stopping;
    SbxEventFn fn;
    void *userdata;
};

/* ---- configuration ---- */

static char **strv_copy(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    char **c = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; c && i < n; i++)
        if (!(c[i] = strdup(v[i]))) {
            for (size_t j = 0; j < i; j++)
                free(c[j]);
            free(c);
            return NULL;
        }
    return c;
}

static void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static unsigned default_zygotes(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (unsigned)n;
}

static int check_config(const SbxConfig *cfg, SbxError *e)
{
    if (!cfg)
        return sbx_error(e, EINVAL, "sandbox: no configuration");
    if ((unsigned)cfg->mode >= _SBX_MODE_MAX)
        return sbx_error(e, EINVAL, "sandbox: unknown mode %d", (int)cfg->mode);
    if (cfg->n_builtins && !cfg->builtins)
        return sbx_error(e, EINVAL, "sandbox: n_builtins without a table");
    for (size_t i = 0; i < cfg->n_builtins; i++)
        if (!cfg->builtins[i].fn || (unsigned)cfg->builtins[i].profile >= _SBX_PROFILE_MAX)
            return sbx_error(e, EINVAL, "sandbox: built-in %zu has no function or a bad profile", i);
    if (cfg->zygotes > SBX_MAX_ZYGOTES)
        return sbx_error(e, EINVAL, "sandbox: %u zygotes, at most %u", cfg->zygotes, SBX_MAX_ZYGOTES);
    if (cfg->scratch_root && cfg->scratch_root[0] != '/')
        return sbx_error(e, EINVAL, "sandbox: scratch_root must be absolute");
    return 0;
}

static int pool_configure(SbxPool *p, const SbxConfig *cfg, SbxError *e)
{
    p->mode = cfg->mode;
    /* 0 means "not set": children never run as root. */
    p->uid = cfg->uid ? cfg->uid : 65534;
    p->gid = cfg->gid ? cfg->gid : 65534;
    p->per_kind = cfg->zygotes ? cfg->zygotes : default_zygotes();
    p->max_children = cfg->max_children ? cfg->max_children : 4 * p->per_kind;
    if (p->max_children > SBX_MAX_SLOTS / 4)
        p->max_children = SBX_MAX_SLOTS / 4;
    if (p->per_kind > p->max_children)
        p->per_kind = p->max_children;
    p->prefilter = sbx_prefilter_supported();
    p->nz = p->prefilter ? 2 * p->per_kind : p->per_kind;
    p->builtins = cfg->builtins;
    p->n_builtins = cfg->n_builtins;
    p->scratch_root = strdup(cfg->scratch_root ? cfg->scratch_root : "/tmp/flowd-sbx");
    /* A path, not /proc/self/exe: a python zygote executes it when it
     * cannot load the template. */
    p->zygote_exe = cfg->zygote_exe ? strdup(cfg->zygote_exe) : realpath("/proc/self/exe", NULL);
    if (!p->zygote_exe)
        p->zygote_exe = strdup("/proc/self/exe");
    /* (A machine without python3 gets ordinary general zygotes: its python
     * attempts then fail as they would have, not the pool.) */
    const char *python = cfg->python ? cfg->python : "/usr/bin/python3";
    if (!cfg->no_template && cfg->python_zygote && p->prefilter && access(python, X_OK) == 0 &&
        access(cfg->python_zygote, R_OK) == 0) {
        p->python_zygote = strdup(cfg->python_zygote);
        p->python = strdup(python);
    }
    p->ro_paths = strv_copy(cfg->ro_paths);
    p->z = calloc(p->nz, sizeof(*p->z));
    p->att = calloc(p->max_children, sizeof(*p->att));
    if (!p->scratch_root || !p->ro_paths || !p->z || !p->att)
        return sbx_error(e, ENOMEM, "sandbox: out of memory");
    for (unsigned i = 0; i < p->nz; i++) {
        p->z[i].sock = -1;
        p->z[i].state = Z_DEAD;
        pthread_mutex_init(&p->z[i].wlock, NULL);
    }
    if (mkdir(p->scratch_root, 0711) < 0 && errno != EEXIST)
        return sbx_error(e, errno, "sandbox: cannot create scratch root %s: %m", p->scratch_root);
    /* Scratch dirs belong to the sandbox uid; it must be able to enter. */
    chmod(p->scratch_root, 0711);
    return 0;
}

/* Every zygote of a kind gets an equal share of the slots (each kind can
 * take all of max_children), plus two so a slot can rest between attempts
 * (a CFS quota is per period: one slot reused back-to-back gets
 * throttled). Zygotes [0, per_kind) are general, the rest compute. */
static void plan_slots(SbxPool *p)
{
    unsigned share = (p->max_children + p->per_kind - 1) / p->per_kind;
    for (unsigned i = 0; i < p->nz; i++) {
        PZygote *z = &p->z[i];
        z->index = i;
        z->compute = i >= p->per_kind;
        z->capacity = share;
        z->n_slots = p->mode == SBX_MODE_CGROUP ? share + 2 : 0;
        z->first_slot = i * (share + 2);
    }
}

static int compile_profiles(SbxPool *p, SbxError *e)
{
    for (int i = 0; i < _SBX_PROFILE_MAX; i++) {
        int r = sbx_seccomp_compile((SbxProfile)i, p->landlock_abi > 0, &p->bpf[i], e);
        if (r < 0)
            return sbx_error_wrap(e, r, "sandbox: profile %s", sbx_profile_name((SbxProfile)i));
    }
    if (!p->prefilter)
        return 0;
    int r = sbx_seccomp_compile_compute_zygote(&p->compute_zygote_bpf, &p->compute_child_bpf, e);
    return r < 0 ? sbx_error_wrap(e, r, "sandbox: compute zygote filter") : 0;
}

/* ---- talking to a zygote ---- */

static int send_all(int sock, const char *data, size_t len, int fd)
{
    size_t off = 0;
    int waited = 0;
    while (off < len) {
        char cbuf[CMSG_SPACE(sizeof(int))] = {0};
        struct iovec iov = {.iov_base = (char *)data + off, .iov_len = len - off};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (fd >= 0 && off == 0) {
            mh.msg_control = cbuf;
            mh.msg_controllen = sizeof(cbuf);
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                return -errno;
            struct pollfd pfd = {.fd = sock, .events = POLLOUT};
            if (waited >= SEND_TIMEOUT_MS)
                return -ETIMEDOUT;
            poll(&pfd, 1, 100);
            waited += 100;
            continue;
        }
        off += (size_t)n;
    }
    return 0;
}

static int send_init(SbxPool *p, PZygote *z)
{
    SbxZygoteInit in = {
        .index = z->index,
        .uid = p->uid,
        .gid = p->gid,
        .mode = p->mode,
        .cgroup_version = p->cg ? p->cg->version : 0,
        .memsw = p->cg && p->cg->memsw,
        .landlock_abi = p->landlock_abi,
        .max_children = z->n_slots ? z->n_slots : z->capacity,
        .scratch_root = p->scratch_root,
        .ro_paths = p->ro_paths,
        .slots = p->cg ? p->cg->slots + z->first_slot : NULL,
        .n_slots = z->n_slots,
    };
    memcpy(in.bpf, p->bpf, sizeof(in.bpf));
    if (z->compute) {
        in.bpf[SBX_PROFILE_COMPUTE] = p->compute_child_bpf;
        in.self_bpf = p->compute_zygote_bpf;
    }
    SbxBuf buf = {0};
    SbxWriter w;
    int r = sbx_init_encode(&w, &buf, &in);
    if (r == 0)
        r = send_all(z->sock, buf.data, buf.len, -1);
    sbx_buf_free(&buf);
    return r;
}

static int socket_pair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    int flags = fcntl(sv[0], F_GETFL);
    fcntl(sv[0], F_SETFL, flags | O_NONBLOCK);
    return 0;
}

/* A general zygote with the python template: python3 -I -S, started as
 * the template's children would be (LANG=C.UTF-8, pipes on fds 0-2, which
 * its stdio objects are built over), loads flowd_sbx_python.so from its
 * directory and becomes the zygote; if it cannot, it executes the zygote
 * program instead (python-zygote.c). */
static const char python_boot[] =
    "try:\n"
    "    __import__('sys').path.insert(0, __import__('sys').argv[2])\n"
    "    __import__('flowd_sbx_python')\n"
    "except BaseException:\n"
    "    pass\n"
    "__import__('os').execve(__import__('sys').argv[3], ['flowd-zygote', '" SBX_ZYGOTE_FLAG "'],\n"
    "                        {'LD_BIND_NOW': '1'})\n";

static int spawn_python_zygote(const SbxPool *p, posix_spawn_file_actions_t *fa, pid_t *pid)
{
    int io[2];
    if (pipe2(io, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_adddup2(fa, io[0], 0);
    posix_spawn_file_actions_adddup2(fa, io[1], 1);
    posix_spawn_file_actions_adddup2(fa, io[1], 2);
    char dir[4096];
    const char *slash = strrchr(p->python_zygote, '/');
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - p->python_zygote) : 1, slash ? p->python_zygote : ".");
    char *argv[] = {"python3", "-I", "-S", "-c", (char *)python_boot, SBX_ZYGOTE_FLAG, dir, p->zygote_exe, NULL};
    char *envp[] = {"LD_BIND_NOW=1", "LANG=C.UTF-8", NULL};
    int r = posix_spawn(pid, p->python, fa, NULL, argv, envp);
    close(io[0]);
    close(io[1]);
    return -r;
}

/* A zygote is always a fresh image of the zygote program (posix_spawn of
 * SbxConfig.zygote_exe, by default /proc/self/exe; vfork-style, safe from a
 * multi-threaded caller), never a
 * fork of the caller: built-in children are copies of the zygote, and a
 * fork would hand them the caller's heap and initial stack, with its
 * environment (the server's secrets) and whatever it had loaded. The
 * environment holds only LD_BIND_NOW=1; everything the zygote needs comes in INIT. */
static int exec_zygote(const SbxPool *p, PZygote *z)
{
    int sv[2];
    int r = socket_pair(sv);
    if (r < 0)
        return r;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], SBX_ZYGOTE_FD);
    char *argv[] = {"flowd-zygote", SBX_ZYGOTE_FLAG, NULL};
    /* Only LD_BIND_NOW: every symbol of every library is bound once in the
     * zygote, not lazily again in each child (whose first call of each
     * function would run the binder and copy the GOT page it writes). */
    char *envp[] = {"LD_BIND_NOW=1", NULL};
    pid_t pid;
    if (p->python_zygote && !z->compute)
        r = -spawn_python_zygote(p, &fa, &pid);
    else
        r = posix_spawn(&pid, p->zygote_exe, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    if (r != 0) {
        close(sv[0]);
        return -r;
    }
    z->pid = pid;
    z->sock = sv[0];
    return 0;
}

static int start_zygote(SbxPool *p, PZygote *z)
{
    int r = exec_zygote(p, z);
    if (r < 0)
        return r;
    z->generation++;
    z->state = Z_STARTING;
    z->started_at = sbx_now_us();
    z->rbuf.len = 0;
    r = send_init(p, z);
    if (r < 0) {
        kill(z->pid, SIGKILL);
        return r;
    }
    return 0;
}

/* ---- reading a zygote's frames (reader thread, and pool_new for READY) ---- */

static void deliver(SbxPool *p, const SbxEvent *ev)
{
    if (p->fn)
        p->fn(ev, p->userdata);
}

static PAttempt *find_att(SbxPool *p, uint64_t id)
{
    for (unsigned i = 0; i < p->max_children; i++)
        if (p->att[i].used && p->att[i].id == id)
            return &p->att[i];
    return NULL;
}

static void on_done(SbxPool *p, PZygote *z, SbxReader *r)
{
    uint64_t id;
    SbxResult res;
    if (sbx_done_decode(r, &id, &res) < 0) {
        kill(z->pid, SIGKILL); /* out of step: restart it */
        return;
    }
    pthread_mutex_lock(&p->lock);
    PAttempt *a = find_att(p, id);
    bool ours = a && a->z == z->index;
    if (ours) {
        a->used = false;
        z->running--;
        p->running--;
    }
    pthread_mutex_unlock(&p->lock);
    if (ours)
        deliver(p, &(SbxEvent){.type = SBX_EV_DONE, .id = id, .result = &res});
}

static void on_frame(SbxPool *p, PZygote *z, SbxFrameType type, SbxReader *r)
{
    if (type == SBX_FRAME_DONE) {
        on_done(p, z, r);
        return;
    }
    if (type == SBX_FRAME_READY) {
        (void)sbx_get_u32(r); /* its pid, known */
        bool warm = sbx_get_u8(r) != 0;
        pthread_mutex_lock(&p->lock);
        z->state = Z_READY;
        z->warm = warm;
        pthread_mutex_unlock(&p->lock);
        return;
    }
    SbxEvent ev = {.id = sbx_get_u64(r)};
    if (type == SBX_FRAME_STARTED) {
        ev.type = SBX_EV_STARTED;
        ev.pid = (pid_t)sbx_get_u32(r);
    } else if (type == SBX_FRAME_LOG || type == SBX_FRAME_PROGRESS) {
        ev.type = type == SBX_FRAME_LOG ? SBX_EV_LOG : SBX_EV_PROGRESS;
        ev.line = sbx_get_bytes(r, &ev.line_len);
    } else
        r->bad = true;
    if (r->bad)
        kill(z->pid, SIGKILL);
    else
        deliver(p, &ev);
}

/* Returns false when the zygote's socket is closed or broken. */
static bool read_zygote(SbxPool *p, PZygote *z)
{
    for (int rounds = 0; rounds < 16; rounds++) {
        if (sbx_buf_reserve(&z->rbuf, 65536) < 0)
            return false;
        ssize_t n = recv(z->sock, z->rbuf.data + z->rbuf.len, z->rbuf.cap - z->rbuf.len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return true;
        if (n <= 0)
            return false;
        z->rbuf.len += (size_t)n;
        size_t off = 0;
        for (;;) {
            SbxFrameType type;
            SbxReader body;
            size_t size;
            int r = sbx_frame_next(z->rbuf.data + off, z->rbuf.len - off, &type, &body, &size);
            if (r < 0)
                return false;
            if (r == 0)
                break;
            on_frame(p, z, type, &body);
            off += size;
        }
        sbx_buf_consume(&z->rbuf, off);
    }
    return true;
}

/* ---- zygote death and restart (reader thread) ---- */

static void remove_scratch_of(SbxPool *p, unsigned index)
{
    char prefix[32];
    int n = snprintf(prefix, sizeof(prefix), "z%u-", index);
    DIR *d = opendir(p->scratch_root);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, prefix, (size_t)n) == 0)
            sbx_rm_tree_at(dirfd(d), de->d_name, 0);
    closedir(d);
}

static void zygote_died(SbxPool *p, PZygote *z)
{
    pthread_mutex_lock(&z->wlock);
    if (p->ep >= 0 && z->sock >= 0)
        epoll_ctl(p->ep, EPOLL_CTL_DEL, z->sock, NULL);
    z->sock = safe_close(z->sock);
    pthread_mutex_unlock(&z->wlock);
    kill(z->pid, SIGKILL);
    int status = 0;
    (void)waitpid(z->pid, &status, 0);
    /* Its children died with it (PDEATHSIG); what they left in the slots
     * (setsid() escapees) dies now, before the slots are handed out again. */
    for (unsigned i = 0; p->cg && i < z->n_slots; i++)
        sbx_cgroup_slot_kill_paths(p->cg->version, &p->cg->slots[z->first_slot + i]);
    remove_scratch_of(p, z->index);

    uint64_t lost[SBX_MAX_SLOTS];
    unsigned n_lost = 0;
    pthread_mutex_lock(&p->lock);
    z->state = Z_DEAD;
    for (unsigned i = 0; i < p->max_children; i++)
        if (p->att[i].used && p->att[i].z == z->index && n_lost < ELEMENTSOF(lost)) {
            p->att[i].used = false;
            lost[n_lost++] = p->att[i].id;
        }
    p->running -= n_lost;
    z->running = 0;
    pthread_mutex_unlock(&p->lock);

    uint64_t now = sbx_now_us();
    if (now - z->started_at > 10u * 1000000u)
        z->failures = 0; /* it ran fine for a while: restart at once */
    uint64_t backoff = z->failures ? MIN(100000ull << MIN(z->failures, 6u), RESTART_BACKOFF_MAX_US) : 0;
    z->failures++;
    z->restart_at = now + backoff;

    /* SIGSYS: the zygote made a call its own filter does not allow (compute
     * zygotes, sbx-seccomp.c), a bug worth naming. */
    char msg[160];
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
        snprintf(msg, sizeof(msg), "sandbox: the zygote running this attempt died of SIG%s%s; the attempt was lost",
                 sbx_signal_name(WTERMSIG(status)),
                 WTERMSIG(status) == SIGSYS ? " (a system call its own seccomp filter refuses)" : "");
    else
        snprintf(msg, sizeof(msg), "sandbox: the zygote running this attempt died; the attempt was lost");
    SbxResult res = {.outcome = SBX_INTERNAL, .output = "", .message = msg};
    for (unsigned i = 0; i < n_lost; i++)
        deliver(p, &(SbxEvent){.type = SBX_EV_DONE, .id = lost[i], .result = &res});
}

static void watch_zygote(SbxPool *p, PZygote *z)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = z->index};
    epoll_ctl(p->ep, EPOLL_CTL_ADD, z->sock, &ev);
}

static void restart_due(SbxPool *p)
{
    uint64_t now = sbx_now_us();
    for (unsigned i = 0; i < p->nz; i++) {
        PZygote *z = &p->z[i];
        if (z->state == Z_STARTING && now - z->started_at > READY_TIMEOUT_US) {
            kill(z->pid, SIGKILL); /* never said READY; EOF follows */
            z->started_at = now;
        }
        if (z->state != Z_DEAD || now < z->restart_at)
            continue;
        pthread_mutex_lock(&z->wlock);
        int r = start_zygote(p, z);
        if (r == 0)
            watch_zygote(p, z);
        pthread_mutex_unlock(&z->wlock);
        if (r < 0)
            z->restart_at = now + RESTART_BACKOFF_MAX_US;
    }
}

static int reader_timeout_ms(SbxPool *p)
{
    uint64_t now = sbx_now_us(), next = UINT64_MAX;
    for (unsigned i = 0; i < p->nz; i++) {
        if (p->z[i].state == Z_DEAD)
            next = MIN(next, p->z[i].restart_at);
        else if (p->z[i].state == Z_STARTING)
            next = MIN(next, p->z[i].started_at + READY_TIMEOUT_US);
    }
    if (next == UINT64_MAX)
        return -1;
    return next <= now ? 0 : (int)MIN((next - now) / 1000 + 1, 60000u);
}

static void *reader_main(void *arg)
{
    SbxPool *p = arg;
    while (!atomic_load(&p->stopping)) {
        struct epoll_event evs[16];
        int n = epoll_wait(p->ep, evs, ELEMENTSOF(evs), reader_timeout_ms(p));
        for (int i = 0; i < n && !atomic_load(&p->stopping); i++) {
            if (evs[i].data.u64 == WAKE_TAG)
                continue;
            PZygote *z = &p->z[evs[i].data.u64];
            if (z->sock >= 0 && !read_zygote(p, z))
                zygote_died(p, z);
        }
        if (!atomic_load(&p->stopping))
            restart_due(p);
    }
    return NULL;
}

/* ---- public API ---- */

static int wait_ready(SbxPool *p, PZygote *z, SbxError *e)
{
    uint64_t until = sbx_now_us() + READY_TIMEOUT_US;
    while (z->state != Z_READY) {
        struct pollfd pfd = {.fd = z->sock, .events = POLLIN};
        if (sbx_now_us() > until)
            return sbx_error(e, ETIMEDOUT, "sandbox: zygote %u did not start", z->index);
        poll(&pfd, 1, 100);
        if (!read_zygote(p, z)) {
            int status = 0;
            waitpid(z->pid, &status, 0);
            z->pid = 0;
            return sbx_error(e, EIO,
                             "sandbox: zygote %u failed to start (exit %d): is "
                             "sbx_zygote_maybe_run() called first in main()? are the cgroup "
                             "slots and the scratch dir %s usable?",
                             z->index, WIFEXITED(status) ? WEXITSTATUS(status) : -1, p->scratch_root);
        }
    }
    return 0;
}

int sbx_pool_new(const SbxConfig *cfg, SbxPool **ret, SbxError *e)
{
    int r = check_config(cfg, e);
    if (r < 0)
        return r;
    SbxPool *p = calloc(1, sizeof(*p));
    if (!p)
        return sbx_error(e, ENOMEM, "sandbox: out of memory");
    pthread_mutex_init(&p->lock, NULL);
    p->ep = p->wake_fd = -1;
    p->landlock_abi = sbx_landlock_abi();
    if ((r = pool_configure(p, cfg, e)) < 0)
        goto fail;
    plan_slots(p);
    if ((r = compile_profiles(p, e)) < 0)
        goto fail;
    if (p->mode == SBX_MODE_CGROUP) {
        const char *name = cfg->cgroup_name ? cfg->cgroup_name : "flowd";
        r = sbx_cgroup_setup(name, p->nz * p->z[0].n_slots, &p->cg, e);
        if (r < 0)
            goto fail;
    }
    for (unsigned i = 0; i < p->nz; i++) {
        if ((r = start_zygote(p, &p->z[i])) < 0) {
            r = sbx_error(e, r, "sandbox: cannot start zygote %u: %s", i, strerror(-r));
            goto fail;
        }
        if ((r = wait_ready(p, &p->z[i], e)) < 0)
            goto fail;
    }
    *ret = p;
    return 0;
fail:
    sbx_pool_free(p);
    return r;
}

int sbx_pool_start(SbxPool *p, SbxEventFn fn, void *userdata)
{
    if (!p || !fn || p->started)
        return -EINVAL;
    p->fn = fn;
    p->userdata = userdata;
    p->ep = epoll_create1(EPOLL_CLOEXEC);
    p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->ep < 0 || p->wake_fd < 0)
        return -errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TAG};
    epoll_ctl(p->ep, EPOLL_CTL_ADD, p->wake_fd, &ev);
    for (unsigned i = 0; i < p->nz; i++)
        if (p->z[i].sock >= 0)
            watch_zygote(p, &p->z[i]);
    int r = pthread_create(&p->reader, NULL, reader_main, p);
    if (r != 0)
        return -r;
    p->started = true;
    return 0;
}

static int check_request(const SbxPool *p, const SbxRequest *req)
{
    if (!req || req->builtin < -1 || (req->builtin >= 0 && (size_t)req->builtin >= p->n_builtins))
        return -EINVAL;
    if (req->builtin < 0) {
        if (!req->argv || !req->argv[0] || req->argv[0][0] != '/' || (unsigned)req->profile >= _SBX_PROFILE_MAX ||
            req->profile == SBX_PROFILE_COMPUTE) /* compute has no execve */
            return -EINVAL;
    }
    if ((req->input_len && !req->input) || req->limits.output_max_bytes > SBX_OUTPUT_MAX_LIMIT)
        return -EINVAL;
    return 0;
}

/* The input travels as a sealed memfd: no copy through the socket, and the
 * child cannot change what a retry would read. */
static int input_memfd(const SbxRequest *req)
{
    _cleanup_close_ int fd = memfd_create("flowd-input", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    while (off < req->input_len) {
        ssize_t n = pwrite(fd, req->input + off, req->input_len - off, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        off += (size_t)n;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        return -errno;
    return TAKE_FD(fd);
}

/* Picks the least busy ready zygote of the attempt's kind and records the
 * attempt. */
static int reserve(SbxPool *p, uint64_t id, SbxProfile profile, unsigned *ret_z, uint64_t *ret_gen)
{
    bool compute = p->prefilter && profile == SBX_PROFILE_COMPUTE;
    pthread_mutex_lock(&p->lock);
    int r = -EAGAIN;
    PZygote *best = NULL;
    if (find_att(p, id))
        r = -EEXIST;
    else if (p->running < p->max_children)
        for (unsigned i = 0; i < p->nz; i++) {
            PZygote *z = &p->z[i];
            if (z->compute == compute && z->state == Z_READY && z->running < z->capacity &&
                (!best || z->running < best->running))
                best = z;
        }
    for (unsigned i = 0; best && i < p->max_children; i++)
        if (!p->att[i].used) {
            p->att[i] = (PAttempt){.used = true, .id = id, .z = best->index};
            best->running++;
            p->running++;
            *ret_z = best->index;
            *ret_gen = best->generation;
            r = 0;
            break;
        }
    pthread_mutex_unlock(&p->lock);
    return r;
}

/* Sends under the zygote's write lock, only to the incarnation the attempt
 * was reserved on; a failed send kills the zygote so the reader thread ends
 * the attempt (exactly one DONE either way). */
static void send_to(SbxPool *p, unsigned zi, uint64_t gen, const SbxBuf *buf, int fd)
{
    PZygote *z = &p->z[zi];
    pthread_mutex_lock(&z->wlock);
    if (z->generation == gen && z->sock >= 0 && send_all(z->sock, buf->data, buf->len, fd) < 0)
        kill(z->pid, SIGKILL);
    pthread_mutex_unlock(&z->wlock);
}

int sbx_spawn(SbxPool *p, const SbxRequest *req)
{
    if (!p)
        return -EINVAL;
    int r = check_request(p, req);
    if (r < 0)
        return r;
    if (!p->started)
        return -ENOTCONN;
    SbxProfile profile = req->builtin >= 0 ? p->builtins[req->builtin].profile : req->profile;
    SbxBuf buf = {0};
    SbxWriter w;
    if ((r = sbx_spawn_encode(&w, &buf, req, profile)) < 0)
        return r;
    _cleanup_close_ int fd = input_memfd(req);
    if (fd < 0) {
        sbx_buf_free(&buf);
        return fd;
    }
    unsigned zi;
    uint64_t gen;
    if ((r = reserve(p, req->id, profile, &zi, &gen)) == 0)
        send_to(p, zi, gen, &buf, fd);
    sbx_buf_free(&buf);
    return r;
}

int sbx_cancel(SbxPool *p, uint64_t id)
{
    if (!p)
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    PAttempt *a = find_att(p, id);
    unsigned zi = a ? a->z : 0;
    uint64_t gen = a ? p->z[zi].generation : 0;
    pthread_mutex_unlock(&p->lock);
    if (!a)
        return -ENOENT;
    SbxBuf buf = {0};
    SbxWriter w;
    sbx_frame_begin(&w, &buf, SBX_FRAME_CANCEL);
    sbx_put_u64(&w, id);
    int r = sbx_frame_end(&w);
    if (r == 0)
        send_to(p, zi, gen, &buf, -1);
    sbx_buf_free(&buf);
    return r;
}

bool sbx_pool_healthy(const SbxPool *p)
{
    if (!p)
        return false;
    SbxPool *mp = (SbxPool *)p;
    bool ok = true;
    pthread_mutex_lock(&mp->lock);
    for (unsigned i = 0; i < p->nz; i++)
        ok &= p->z[i].state == Z_READY;
    pthread_mutex_unlock(&mp->lock);
    return ok;
}

/* Every general zygote that is up has its template warm. */
static bool general_zygotes_warm(const SbxPool *p)
{
    bool warm = true;
    pthread_mutex_lock((pthread_mutex_t *)&p->lock);
    for (unsigned i = 0; i < p->nz; i++)
        if (!p->z[i].compute && p->z[i].state == Z_READY && !p->z[i].warm)
            warm = false;
    pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
    return warm;
}

void sbx_pool_info(const SbxPool *p, SbxInfo *ret)
{
    *ret = (SbxInfo){
        .mode = p->mode,
        .cgroup_version = p->cg ? p->cg->version : 0,
        .landlock = p->landlock_abi > 0,
        .zygotes = p->nz,
        .slots = p->cg ? p->cg->n_slots : 0,
        .python_template = p->python_zygote != NULL && general_zygotes_warm(p),
    };
}

/* Closing the socket makes a zygote kill its children, clean its scratch
 * dirs and exit; give it a moment, then insist. */
static void stop_zygote(PZygote *z)
{
    z->sock = safe_close(z->sock);
    if (z->pid <= 0)
        return;
    int pidfd = (int)syscall(SYS_pidfd_open, z->pid, 0);
    if (pidfd >= 0) {
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        if (poll(&pfd, 1, 2000) == 0)
            kill(z->pid, SIGKILL);
        close(pidfd);
    } else
        kill(z->pid, SIGKILL);
    int status = 0;
    (void)waitpid(z->pid, &status, 0);
    z->pid = 0;
}

static void end_remaining(SbxPool *p)
{
    SbxResult res = {.outcome = SBX_CANCELLED, .output = "", .message = "cancelled: the sandbox pool was shut down"};
    for (unsigned i = 0; p->att && i < p->max_children; i++)
        if (p->att[i].used) {
            p->att[i].used = false;
            deliver(p, &(SbxEvent){.type = SBX_EV_DONE, .id = p->att[i].id, .result = &res});
        }
}

SbxPool *sbx_pool_free(SbxPool *p)
{
    if (!p)
        return NULL;
    if (p->started) {
        atomic_store(&p->stopping, true);
        uint64_t one = 1;
        (void)!write(p->wake_fd, &one, sizeof(one));
        pthread_join(p->reader, NULL);
    }
    for (unsigned i = 0; p->z && i < p->nz; i++) {
        stop_zygote(&p->z[i]);
        sbx_buf_free(&p->z[i].rbuf);
        pthread_mutex_destroy(&p->z[i].wlock);
    }
    end_remaining(p);
    sbx_cgroup_free(p->cg);
    for (int i = 0; i < _SBX_PROFILE_MAX; i++)
        sbx_bpf_free(&p->bpf[i]);
    sbx_bpf_free(&p->compute_zygote_bpf);
    sbx_bpf_free(&p->compute_child_bpf);
    safe_close(p->ep);
    safe_close(p->wake_fd);
    free(p->scratch_root);
    free(p->zygote_exe);
    free(p->python_zygote);
    free(p->python);
    strv_free(p->ro_paths);
    free(p->z);
    free(p->att);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return NULL;
}
