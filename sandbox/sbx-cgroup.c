/* sbx-cgroup.c: finding the cgroup hierarchies and making the slot pool
 * (caller side, once at start and once at the end).
 *
 * libcgroup is used for detection only (mount points, our own cgroup): its
 * value writes re-read /proc/mounts and malloc, and 2.0.2 does not translate
 * v1/v2 setting names, so slots are made and configured with raw mkdir and
 * writes. The hot path (per attempt) lives in sbx-cgroup-slot.c.
 *
 * Layout, per controller (v1) or once (v2):
 *   <mount>/<our cgroup>/<name>/p<pid>/s<N>
 * <name> is shared by every pool of the machine (server, tests); p<pid> is
 * this process's pool, so pools never step on each other and the leftovers
 * of a crashed process can be recognised and removed. */
#include <dirent.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "sandbox/sbx-internal.h"
#include "sandbox/sbx-util.h"

#define RLIMIT_HINT "set FLOWD_SANDBOX=rlimit to run with rlimits only (weaker isolation)"

static const char *const v1_controllers[] = {
    [SBX_CG_MEMORY] = "memory",
    [SBX_CG_CPU] = "cpu",
    [SBX_CG_PIDS] = "pids",
};

static int libcgroup_init_once(SbxError *e)
{
    static int result = 1;
    if (result == 1)
        result = cgroup_init();
    if (result != 0)
        return sbx_error(e, ENOENT, "no usable cgroup filesystem (libcgroup: %s); %s", cgroup_strerror(result),
                         RLIMIT_HINT);
    return 0;
}

/* Our own cgroup for a v1 controller, or for v2 when controller is NULL:
 * from /proc/self/cgroup ("4:memory:/a/b", "0::/a/b"). */
static int own_cgroup(const char *controller, char *buf, size_t size)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return -errno;
    char line[1024];
    int r = -ENOENT;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *list = c1 + 1;
        bool match = false;
        if (!controller)
            match = strcmp(line, "0") == 0 && *list == '\0';
        else
            for (char *save = NULL, *t = strtok_r((char *)list, ",", &save); t; t = strtok_r(NULL, ",", &save))
                match |= strcmp(t, controller) == 0;
        if (match) {
            snprintf(buf, size, "%s", c2 + 1);
            r = 0;
            break;
        }
    }
    fclose(f);
    return r;
}

static int mount_point(const char *controller, char *buf, size_t size, long *ret_fstype)
{
    char *mnt = NULL;
    if (cgroup_get_subsys_mount_point(controller, &mnt) != 0 || !mnt)
        return -ENOENT;
    snprintf(buf, size, "%s", mnt);
    free(mnt);
    struct statfs sfs;
    if (statfs(buf, &sfs) < 0)
        return -errno;
    *ret_fstype = (long)sfs.f_type;
    return 0;
}

static int mkdir_ok(const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int join(char **ret, const char *a, const char *b)
{
    return asprintf(ret, "%s/%s", a, b[0] == '/' ? b + 1 : b) < 0 ? -ENOMEM : 0;
}

/* rmdir with the bounded retry the kernel needs after a kill: a killed task
 * leaves the cgroup a little after its SIGKILL (median 30-60 us, max ~8 ms). */
static int rmdir_retry(const char *path)
{
    for (int i = 0; i < 100; i++) {
        if (rmdir(path) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            return -errno;
        usleep(i < 10 ? 100 : 1000);
    }
    return -EBUSY;
}

/* Removes a p<pid> directory: kill its slots' tasks, rmdir slots, itself. */
static void remove_pool_dir(const char *dir, int version)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_type != DT_DIR || de->d_name[0] == '.')
                continue;
            _cleanup_free_ char *slot = NULL;
            if (join(&slot, dir, de->d_name) < 0)
                continue;
            SbxSlotPaths sp = {0};
            sp.dir[version == 2 ? SBX_CG_UNIFIED : SBX_CG_MEMORY] = slot;
            sbx_cgroup_slot_kill_paths(version, &sp);
            rmdir_retry(slot);
        }
        closedir(d);
    }
    rmdir_retry(dir);
}

/* A process killed with SIGKILL leaves its pool behind; remove the pools
 * whose owner is gone so slots do not pile up across restarts. */
static void remove_stale_pools(const char *group, int version)
{
    DIR *d = opendir(group);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        if (de->d_type != DT_DIR || de->d_name[0] != 'p')
            continue;
        long pid = strtol(de->d_name + 1, &end, 10);
        if (*end != '\0' || pid <= 0 || pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        _cleanup_free_ char *dir = NULL;
        if (join(&dir, group, de->d_name) == 0)
            remove_pool_dir(dir, version);
    }
    closedir(d);
}

static int make_slots(SbxCgroup *cg, SbxCgCtl c, SbxError *e)
{
    for (unsigned i = 0; i < cg->n_slots; i++) {
        char name[32];
        snprintf(name, sizeof(name), "s%u", i);
        if (join(&cg->slots[i].dir[c], cg->parent[c], name) < 0)
            return sbx_error(e, ENOMEM, "out of memory");
        int r = mkdir_ok(cg->slots[i].dir[c]);
        if (r < 0)
            return sbx_error(e, r, "cannot create cgroup %s: %s; %s", cg->slots[i].dir[c], strerror(-r), RLIMIT_HINT);
    }
    return 0;
}

static int make_pool_dirs(SbxCgroup *cg, SbxCgCtl c, const char *mnt, const char *own, const char *name, SbxError *e)
{
    _cleanup_free_ char *base = NULL;
    char pname[32];
    snprintf(pname, sizeof(pname), "p%d", (int)getpid());
    if (join(&base, mnt, own) < 0 || join(&cg->group[c], base, name) < 0 ||
        join(&cg->parent[c], cg->group[c], pname) < 0)
        return sbx_error(e, ENOMEM, "out of memory");
    int r = mkdir_ok(cg->group[c]);
    if (r < 0)
        return sbx_error(e, r, "cannot create cgroup %s: %s; %s", cg->group[c], strerror(-r), RLIMIT_HINT);
    remove_stale_pools(cg->group[c], cg->version);
    r = mkdir_ok(cg->parent[c]);
    if (r < 0)
        return sbx_error(e, r, "cannot create cgroup %s: %s; %s", cg->parent[c], strerror(-r), RLIMIT_HINT);
    return 0;
}

static int setup_v1(SbxCgroup *cg, const char *name, SbxError *e)
{
    for (SbxCgCtl c = SBX_CG_MEMORY; c < SBX_CG_UNIFIED; c++) {
        char mnt[512], own[512];
        long fstype;
        if (mount_point(v1_controllers[c], mnt, sizeof(mnt), &fstype) < 0 || fstype != CGROUP_SUPER_MAGIC ||
            own_cgroup(v1_controllers[c], own, sizeof(own)) < 0) {
            if (c == SBX_CG_MEMORY)
                return sbx_error(e, ENOENT, "cgroup v1 memory controller not found; %s", RLIMIT_HINT);
            continue; /* cpu or pids missing: run without that limit */
        }
        int r = make_pool_dirs(cg, c, mnt, own, name, e);
        if (r < 0)
            return r;
        if ((r = make_slots(cg, c, e)) < 0)
            return r;
    }
    _cleanup_free_ char *memsw = NULL;
    if (join(&memsw, cg->parent[SBX_CG_MEMORY], "memory.memsw.limit_in_bytes") == 0)
        cg->memsw = access(memsw, F_OK) == 0;
    return 0;
}

/* cgroup v2 forbids processes in a cgroup that delegates controllers. In a
 * container with a cgroup namespace we sit in the namespace's root with
 * every process of the container: move them all to a leaf first. */
static int v2_enable_controllers(const char *dir, const char *leaf_name)
{
    _cleanup_free_ char *ctl = NULL, *procs = NULL, *leaf = NULL, *leaf_procs = NULL;
    if (join(&ctl, dir, "cgroup.subtree_control") < 0 || join(&procs, dir, "cgroup.procs") < 0)
        return -ENOMEM;
    int r = sbx_write_file(ctl, "+memory +cpu +pids");
    if (r != -EBUSY || !leaf_name)
        return r;
    if (join(&leaf, dir, leaf_name) < 0 || join(&leaf_procs, leaf, "cgroup.procs") < 0)
        return -ENOMEM;
    if ((r = mkdir_ok(leaf)) < 0)
        return r;
    char buf[8192];
    if ((r = sbx_read_file(procs, buf, sizeof(buf))) < 0)
        return r;
    for (char *save = NULL, *t = strtok_r(buf, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
        (void)sbx_write_file(leaf_procs, t); /* kernel threads and the dead refuse */
    return sbx_write_file(ctl, "+memory +cpu +pids");
}

static int setup_v2(SbxCgroup *cg, const char *mnt, const char *name, SbxError *e)
{
    char own[512];
    SbxCgCtl c = SBX_CG_UNIFIED;
    if (own_cgroup(NULL, own, sizeof(own)) < 0)
        return sbx_error(e, ENOENT, "cannot find our cgroup v2 path; %s", RLIMIT_HINT);
    _cleanup_free_ char *base = NULL;
    if (join(&base, mnt, own) < 0)
        return sbx_error(e, ENOMEM, "out of memory");
    int r = v2_enable_controllers(base, "flowd-main");
    if (r < 0)
        return sbx_error(e, r, "cannot enable memory, cpu, pids controllers in %s: %s; %s", base, strerror(-r),
                         RLIMIT_HINT);
    if ((r = make_pool_dirs(cg, c, mnt, own, name, e)) < 0)
        return r;
    if ((r = v2_enable_controllers(cg->group[c], NULL)) < 0 || (r = v2_enable_controllers(cg->parent[c], NULL)) < 0)
        return sbx_error(e, r, "cannot delegate controllers under %s: %s; %s", cg->group[c], strerror(-r), RLIMIT_HINT);
    if ((r = make_slots(cg, c, e)) < 0)
        return r;
    for (unsigned i = 0; i < cg->n_slots; i++) {
        _cleanup_free_ char *oom = NULL, *swap = NULL;
        if (join(&oom, cg->slots[i].dir[c], "memory.oom.group") == 0)
            (void)sbx_write_file(oom, "1"); /* an OOM kills the whole attempt */
        if (join(&swap, cg->slots[i].dir[c], "memory.swap.max") == 0)
            (void)sbx_write_file(swap, "0");
    }
    return 0;
}

int sbx_cgroup_setup(const char *name, unsigned n_slots, SbxCgroup **ret, SbxError *e)
{
    if (!name || !*name || strchr(name, '/') || name[0] == '.')
        return sbx_error(e, EINVAL, "bad cgroup name \"%s\"", name ? name : "");
    int r = libcgroup_init_once(e);
    if (r < 0)
        return r;
    SbxCgroup *cg = calloc(1, sizeof(*cg));
    if (!cg || !(cg->slots = calloc(n_slots, sizeof(*cg->slots)))) {
        free(cg);
        return sbx_error(e, ENOMEM, "out of memory");
    }
    cg->n_slots = n_slots;
    char mnt[512];
    long fstype = 0;
    r = mount_point("memory", mnt, sizeof(mnt), &fstype);
    if (r < 0)
        r = sbx_error(e, ENOENT, "no cgroup memory controller is mounted; %s", RLIMIT_HINT);
    else if (fstype == CGROUP2_SUPER_MAGIC) {
        cg->version = 2;
        r = setup_v2(cg, mnt, name, e);
    } else {
        cg->version = 1;
        r = setup_v1(cg, name, e);
    }
    if (r < 0) {
        sbx_cgroup_free(cg);
        return r;
    }
    *ret = cg;
    return 0;
}

void sbx_cgroup_free(SbxCgroup *cg)
{
    if (!cg)
        return;
    for (unsigned i = 0; i < cg->n_slots; i++) {
        sbx_cgroup_slot_kill_paths(cg->version, &cg->slots[i]);
        for (int c = 0; c < _SBX_CG_MAX; c++) {
            if (cg->slots[i].dir[c])
                rmdir_retry(cg->slots[i].dir[c]);
            free(cg->slots[i].dir[c]);
        }
    }
    for (int c = 0; c < _SBX_CG_MAX; c++) {
        if (cg->parent[c])
            rmdir_retry(cg->parent[c]);
        if (cg->group[c])
            (void)rmdir(cg->group[c]); /* fails while another pool uses it */
        free(cg->parent[c]);
        free(cg->group[c]);
    }
    free(cg->slots);
    free(cg);
}
