/* sbx-cgroup-slot.c: the per-attempt cgroup work, done by the zygote on
 * fds it opened once: write limits (only when they change), reset the peak,
 * check the OOM counter, kill the slot. A few pread/pwrite per attempt
 * instead of mkdir/rmdir and libcgroup calls (measured 11 us vs 286 us).
 * No libcgroup here: the static flowd-zygote links this file, not that. */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/sbx-internal.h"
#include "sandbox/sbx-util.h"

#define CPU_PERIOD_US 100000u
#define UNKNOWN UINT64_MAX

static int open_at(const char *dir, const char *file, int flags)
{
    char path[1024];
    if (!dir || !dir[0])
        return -1;
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    return open(path, flags | O_CLOEXEC);
}

/* SIGKILLs every pid of a cgroup.procs listing. */
static void kill_pids(const char *buf)
{
    for (const char *p = buf; *p;) {
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid > 0)
            kill((pid_t)pid, SIGKILL);
        p = end + (*end == '\n');
    }
}

/* Reads cgroup.procs and SIGKILLs everyone, until it reads empty. v1 has no
 * cgroup.kill; pids cannot grow meanwhile because the killed cannot fork. */
static int kill_procs_file(const char *procs)
{
    for (int round = 0; round < 200; round++) {
        char buf[4096];
        int r = sbx_read_file(procs, buf, sizeof(buf));
        if (r < 0)
            return r;
        if (buf[0] == '\0')
            return 0;
        kill_pids(buf);
        usleep(round < 10 ? 100 : 2000);
    }
    return -EBUSY;
}

static int kill_v2(const char *dir)
{
    char kill_path[1024], procs[1024];
    snprintf(kill_path, sizeof(kill_path), "%s/cgroup.kill", dir);
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
    (void)sbx_write_file(kill_path, "1");
    return kill_procs_file(procs);
}

int sbx_cgroup_slot_kill_paths(int version, const SbxSlotPaths *s)
{
    if (version == 2)
        return s->dir[SBX_CG_UNIFIED] ? kill_v2(s->dir[SBX_CG_UNIFIED]) : 0;
    for (int c = 0; c < SBX_CG_UNIFIED; c++) {
        char procs[1024];
        if (!s->dir[c] || !s->dir[c][0])
            continue;
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", s->dir[c]);
        int r = kill_procs_file(procs);
        if (r < 0 && r != -ENOENT)
            return r;
    }
    return 0;
}

/* Limit files are written only when an attempt's limits differ from the
 * slot's last ones (rarely), so they are opened then: every fd the zygote
 * holds is copied by each fork and closed again by each child. */
static void limit_path(SbxZSlot *s, SbxSlotLimit l, const char *dir, const char *file)
{
    char path[1024];
    if (!dir || !dir[0])
        return;
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (access(path, W_OK) == 0)
        s->lim[l] = strdup(path);
}

static int write_limit(SbxZSlot *s, SbxSlotLimit l, const char *v)
{
    return s->lim[l] ? sbx_write_file(s->lim[l], v) : -ENOENT;
}

static void open_v1(SbxZSlot *s, bool memsw, const SbxSlotPaths *p)
{
    const char *mem = p->dir[SBX_CG_MEMORY];
    /* The child joins through "tasks", which moves one thread: it is alone
     * then, and unlike a cgroup.procs write this does not take
     * cgroup_threadgroup_rwsem for writing, whose synchronize_rcu() stalls
     * the first attach after an idle period by ~7 ms (measured: 0.5 ms). */
    for (int c = 0; c < SBX_CG_UNIFIED; c++)
        s->join_fd[c] = open_at(p->dir[c], "tasks", O_WRONLY);
    /* v1 caches the pid list of an open cgroup.procs until the fd has been
     * idle for a second, so a long-lived fd keeps answering with a stale
     * list: members are listed through a fresh open (procs_path), and the
     * cheap "anyone there?" question goes to pids.current. */
    snprintf(s->procs_path, sizeof(s->procs_path), "%s/cgroup.procs", mem);
    s->pids_cur_fd = open_at(p->dir[SBX_CG_PIDS], "pids.current", O_RDONLY);
    limit_path(s, SBX_LIM_MEM, mem, "memory.limit_in_bytes");
    if (memsw)
        limit_path(s, SBX_LIM_MEMSW, mem, "memory.memsw.limit_in_bytes");
    limit_path(s, SBX_LIM_FORCE, mem, "memory.force_empty");
    limit_path(s, SBX_LIM_CPU, p->dir[SBX_CG_CPU], "cpu.cfs_quota_us");
    limit_path(s, SBX_LIM_PIDS, p->dir[SBX_CG_PIDS], "pids.max");
    s->peak_fd = open_at(mem, "memory.max_usage_in_bytes", O_RDWR);
    s->oom_fd = open_at(mem, "memory.oom_control", O_RDONLY);
}

static void open_v2(SbxZSlot *s, const SbxSlotPaths *p)
{
    const char *d = p->dir[SBX_CG_UNIFIED];
    s->dir_fd = d ? open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    s->join_fd[SBX_CG_MEMORY] = open_at(d, "cgroup.procs", O_WRONLY);
    s->procs_fd = open_at(d, "cgroup.procs", O_RDONLY);
    s->events_fd = open_at(d, "cgroup.events", O_RDONLY);
    s->kill_fd = open_at(d, "cgroup.kill", O_WRONLY);
    limit_path(s, SBX_LIM_MEM, d, "memory.max");
    limit_path(s, SBX_LIM_CPU, d, "cpu.max");
    limit_path(s, SBX_LIM_PIDS, d, "pids.max");
    s->peak_fd = open_at(d, "memory.peak", O_RDWR);
    s->oom_fd = open_at(d, "memory.events", O_RDONLY);
}

static uint64_t read_oom_kills(SbxZSlot *s)
{
    char buf[512];
    uint64_t v = 0;
    if (s->oom_fd >= 0 && sbx_pread_str(s->oom_fd, buf, sizeof(buf)) > 0)
        (void)sbx_parse_keyed_u64(buf, "oom_kill", &v);
    return v;
}

int sbx_zslot_open(SbxZSlot *s, int version, bool memsw, const SbxSlotPaths *p)
{
    *s = (SbxZSlot){.version = version,
                    .dir_fd = -1,
                    .events_fd = -1,
                    .kill_fd = -1,
                    .pids_cur_fd = -1,
                    .mem_set = UNKNOWN,
                    .cpu_set = UNKNOWN,
                    .pids_set = UNKNOWN};
    for (int c = 0; c < SBX_CG_UNIFIED; c++)
        s->join_fd[c] = -1;
    if (version == 2)
        open_v2(s, p);
    else
        open_v1(s, memsw, p);
    if ((version == 2 && s->procs_fd < 0) || !s->lim[SBX_LIM_MEM])
        return -errno ? -errno : -ENOENT;
    s->oom_base = read_oom_kills(s);
    sbx_zslot_rearm(s);
    return 0;
}

void sbx_zslot_close(SbxZSlot *s)
{
    for (int c = 0; c < SBX_CG_UNIFIED; c++)
        s->join_fd[c] = safe_close(s->join_fd[c]);
    int *fds[] = {&s->dir_fd, &s->procs_fd, &s->events_fd, &s->kill_fd, &s->pids_cur_fd, &s->peak_fd, &s->oom_fd};
    for (size_t i = 0; i < ELEMENTSOF(fds); i++)
        *fds[i] = safe_close(*fds[i]);
    for (int l = 0; l < _SBX_LIM_MAX; l++) {
        free(s->lim[l]);
        s->lim[l] = NULL;
    }
}

static void fmt_limit(char *buf, size_t size, uint64_t v, int version)
{
    if (v == 0)
        snprintf(buf, size, "%s", version == 2 ? "max" : "-1");
    else
        snprintf(buf, size, "%" PRIu64, v);
}

/* v1 wants memsw >= limit at every moment, so the order of the two writes
 * depends on the direction. A limit below the charge left by the last
 * attempt's page cache fails with EBUSY until force_empty reclaims it. */
static int write_memory_v1(SbxZSlot *s, uint64_t bytes)
{
    char v[32];
    fmt_limit(v, sizeof(v), bytes, 1);
    bool raising = s->mem_set == UNKNOWN || bytes == 0 || (s->mem_set != 0 && bytes > s->mem_set);
    if (raising)
        (void)write_limit(s, SBX_LIM_MEMSW, v);
    int r = write_limit(s, SBX_LIM_MEM, v);
    if (r == -EBUSY && s->lim[SBX_LIM_FORCE]) {
        (void)write_limit(s, SBX_LIM_FORCE, "0");
        r = write_limit(s, SBX_LIM_MEM, v);
    }
    if (r < 0)
        return r;
    if (!raising)
        (void)write_limit(s, SBX_LIM_MEMSW, v);
    return 0;
}

static int write_cpu(SbxZSlot *s, uint32_t millis)
{
    char v[48];
    /* CFS refuses quotas under 1 ms per period. */
    uint64_t quota = millis ? MAX((uint64_t)millis * (CPU_PERIOD_US / 1000u), 1000u) : 0;
    if (s->version == 2) {
        if (quota)
            snprintf(v, sizeof(v), "%" PRIu64 " %u", quota, CPU_PERIOD_US);
        else
            snprintf(v, sizeof(v), "max %u", CPU_PERIOD_US);
    } else
        fmt_limit(v, sizeof(v), quota, 1);
    return write_limit(s, SBX_LIM_CPU, v);
}

int sbx_zslot_prepare(SbxZSlot *s, const SbxLimits *l)
{
    int r;
    if (s->mem_set != l->memory_bytes) {
        if (s->version == 2) {
            char v[32];
            fmt_limit(v, sizeof(v), l->memory_bytes, 2);
            r = write_limit(s, SBX_LIM_MEM, v);
        } else
            r = write_memory_v1(s, l->memory_bytes);
        if (r < 0)
            return r;
        s->mem_set = l->memory_bytes;
    }
    if (s->lim[SBX_LIM_CPU] && s->cpu_set != l->cpu_millis) {
        if ((r = write_cpu(s, l->cpu_millis)) < 0)
            return r;
        s->cpu_set = l->cpu_millis;
    }
    if (s->lim[SBX_LIM_PIDS] && s->pids_set != l->pids) {
        char v[32];
        snprintf(v, sizeof(v), "%" PRIu32, l->pids);
        if ((r = write_limit(s, SBX_LIM_PIDS, v)) < 0)
            return r;
        s->pids_set = l->pids;
    }
    s->empty = false;
    return 0;
}

void sbx_zslot_rearm(SbxZSlot *s)
{
    if (s->oom_stale) {
        s->oom_base = read_oom_kills(s);
        s->oom_stale = false;
    }
    /* A peak that cannot be reset (v2 before 6.12) would report the
     * slot's all-time high; drop it and let ru_maxrss answer instead. */
    if (s->peak_fd >= 0 && sbx_pwrite_str(s->peak_fd, s->version == 2 ? "reset" : "0") < 0)
        s->peak_fd = safe_close(s->peak_fd);
}

static ssize_t read_procs(SbxZSlot *s, char *buf, size_t size)
{
    if (s->version == 2)
        return sbx_pread_str(s->procs_fd, buf, size);
    _cleanup_close_ int fd = open(s->procs_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    return sbx_pread_str(fd, buf, size);
}

static bool probe_populated(SbxZSlot *s)
{
    char buf[64];
    if (s->version == 2 && s->events_fd >= 0) {
        uint64_t v = 1;
        if (sbx_pread_str(s->events_fd, buf, sizeof(buf)) > 0)
            (void)sbx_parse_keyed_u64(buf, "populated", &v);
        return v != 0;
    }
    /* pids.current also counts zombies not yet reaped, so only its zero is
     * conclusive; otherwise ask cgroup.procs, which lists the living. */
    if (s->pids_cur_fd >= 0 && sbx_pread_str(s->pids_cur_fd, buf, sizeof(buf)) > 0 && strtoull(buf, NULL, 10) == 0)
        return false;
    return read_procs(s, buf, sizeof(buf)) > 0;
}

/* Asked when no attempt's process can be joining the slot (before an
 * attempt, or after its main process was reaped), so an empty answer holds
 * until the next sbx_zslot_prepare(). */
bool sbx_zslot_populated(SbxZSlot *s)
{
    if (s->empty)
        return false;
    s->empty = !probe_populated(s);
    return !s->empty;
}

void sbx_zslot_kill(SbxZSlot *s)
{
    if (s->kill_fd >= 0 && sbx_pwrite_str(s->kill_fd, "1") == 0)
        return;
    char buf[4096];
    if (read_procs(s, buf, sizeof(buf)) <= 0)
        return;
    kill_pids(buf);
}

int sbx_zslot_drain(SbxZSlot *s, uint64_t max_us)
{
    uint64_t until = sbx_now_us() + max_us;
    for (unsigned i = 0; sbx_zslot_populated(s); i++) {
        if (sbx_now_us() >= until)
            return -EBUSY;
        sbx_zslot_kill(s);
        usleep(i < 20 ? 50 : 500);
    }
    return 0;
}

void sbx_zslot_collect(SbxZSlot *s, bool killed, uint64_t *ret_peak, bool *ret_oom)
{
    char buf[64];
    uint64_t peak = 0;
    if (s->peak_fd >= 0 && sbx_pread_str(s->peak_fd, buf, sizeof(buf)) > 0)
        peak = strtoull(buf, NULL, 10);
    *ret_peak = peak;
    *ret_oom = false;
    if (!killed) {
        s->oom_stale = true; /* re-read by sbx_zslot_rearm(), after the result */
        return;
    }
    uint64_t kills = read_oom_kills(s);
    *ret_oom = kills > s->oom_base;
    s->oom_base = kills;
    s->oom_stale = false;
}
