/* nodes.c: the registry of node kinds (built-ins, python, exec and the
 * plugins found in FLOWD_PLUGIN_DIR), the built-in table handed to the
 * sandbox, and the server-side entry points around an attempt. */
#include "server/nodes/nodes.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/nodes/node-internal.h"

extern const NodeKind node_kind_noop;
extern const NodeKind node_kind_python;
extern const NodeKind node_kind_select;
extern const NodeKind node_kind_filter;
extern const NodeKind node_kind_sort;
extern const NodeKind node_kind_aggregate;
extern const NodeKind node_kind_merge;
extern const NodeKind node_kind_switch;
extern const NodeKind node_kind_validate;
extern const NodeKind node_kind_mask;
extern const NodeKind node_kind_csv_read;
extern const NodeKind node_kind_csv_write;
extern const NodeKind node_kind_exec;

/* The order of the built-ins is the sandbox's built-in table: the server
 * and its zygotes (fresh images of this binary) must agree on it, so it
 * never depends on configuration. */
static const NodeKind *const static_kinds[] = {
    &node_kind_noop,      &node_kind_python,    &node_kind_select, &node_kind_filter,   &node_kind_sort,
    &node_kind_aggregate, &node_kind_merge,     &node_kind_switch, &node_kind_validate, &node_kind_mask,
    &node_kind_csv_read,  &node_kind_csv_write, &node_kind_exec,
};

#define NODES_MAX 512

static const NodeKind *kinds[NODES_MAX];
static size_t n_kinds; /* atomic: readers see fully registered kinds */
static pthread_mutex_t register_lock = PTHREAD_MUTEX_INITIALIZER;

static SbxBuiltin builtins[ELEMENTSOF(static_kinds)];
static int builtin_index[ELEMENTSOF(static_kinds)];
static size_t n_builtins;
static char python_path[PATH_MAX] = "/usr/bin/python3";
static const char *ro_paths[2];

int nodes_register(const NodeKind *k)
{
    int r = 0;

    pthread_mutex_lock(&register_lock);
    size_t n = __atomic_load_n(&n_kinds, __ATOMIC_ACQUIRE);
    if (n == NODES_MAX)
        r = -ENOSPC;
    else {
        kinds[n] = k;
        __atomic_store_n(&n_kinds, n + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&register_lock);
    return r;
}

void nodes_init(const NodesConfig *cfg)
{
    if (cfg && cfg->python && *cfg->python)
        snprintf(python_path, sizeof(python_path), "%s", cfg->python);
    pthread_mutex_lock(&register_lock);
    if (__atomic_load_n(&n_kinds, __ATOMIC_ACQUIRE) == 0) {
        for (size_t i = 0; i < ELEMENTSOF(static_kinds); i++)
            kinds[i] = static_kinds[i];
        __atomic_store_n(&n_kinds, ELEMENTSOF(static_kinds), __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&register_lock);
    n_builtins = 0;
    for (size_t i = 0; i < ELEMENTSOF(static_kinds); i++) {
        builtin_index[i] = -1;
        if (!static_kinds[i]->builtin)
            continue;
        builtin_index[i] = (int)n_builtins;
        builtins[n_builtins++] =
            (SbxBuiltin){static_kinds[i]->name, static_kinds[i]->builtin, static_kinds[i]->profile};
    }
}

static int make_dirs(const char *path)
{
    char buf[PATH_MAX];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -errno;
            *p = '/';
        }
    return mkdir(buf, 0750) < 0 && errno != EEXIST ? -errno : 0;
}

static int check_allowlist(const char *allow, char *err, size_t err_size)
{
    for (const char *s = allow; s && *s;) {
        const char *colon = strchr(s, ':');
        size_t n = colon ? (size_t)(colon - s) : strlen(s);
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof(path), "%.*s", (int)n, s);
        s = colon ? colon + 1 : NULL;
        if (n == 0)
            continue;
        const char *why = path[0] != '/'                                ? "is not an absolute path"
                          : stat(path, &st) < 0 || !S_ISREG(st.st_mode) ? "is not a regular file"
                          : access(path, X_OK) < 0                      ? "is not executable"
                                                                        : NULL;
        if (why) {
            snprintf(err, err_size, "FLOWD_EXEC_ALLOW=%s: \"%s\" %s (a colon-separated list of programs)", allow, path,
                     why);
            return -EINVAL;
        }
    }
    return 0;
}

int nodes_setup(const NodesConfig *cfg, char *err, size_t err_size)
{
    char self[PATH_MAX] = "";
    int r;

    nodes_init(cfg);
    if (cfg->self_exe)
        snprintf(self, sizeof(self), "%s", cfg->self_exe);
    else {
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        self[n > 0 ? n : 0] = '\0';
    }
    node_files_set_root(cfg->data_dir);
    if (cfg->data_dir && *cfg->data_dir && (r = make_dirs(node_files_root())) < 0) {
        snprintf(err, err_size, "FLOWD_DATA_DIR=%s: cannot create %s: %s", cfg->data_dir, node_files_root(),
                 strerror(-r));
        return r;
    }
    if ((r = check_allowlist(cfg->exec_allow, err, err_size)) < 0)
        return r;
    node_exec_configure(self, cfg->exec_allow);
    if ((r = node_plugin_configure(cfg->plugin_exe ? cfg->plugin_exe : self, cfg->plugin_dir, err, err_size)) < 0)
        return r;
    node_csv_configure(cfg->csv_max_bytes);
    ro_paths[0] = node_plugin_dir();
    ro_paths[1] = NULL;
    return 0;
}

const char *const *nodes_ro_paths(void) { return ro_paths; }

static int static_index(const NodeKind *k)
{
    for (size_t i = 0; i < ELEMENTSOF(static_kinds); i++)
        if (static_kinds[i] == k)
            return (int)i;
    return -1;
}

const NodeKind *nodes_find(const char *name)
{
    size_t n = __atomic_load_n(&n_kinds, __ATOMIC_ACQUIRE);

    for (size_t i = 0; i < n; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return strncmp(name, "plugin:", 7) == 0 ? node_plugin_find(name) : NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 64;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(prev));
    }
    return prev[lb];
}

const char *nodes_suggest(const char *name)
{
    size_t n = __atomic_load_n(&n_kinds, __ATOMIC_ACQUIRE);
    const char *best = NULL;
    size_t best_d = 3;

    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(name, kinds[i]->name);
        if (d < best_d) {
            best_d = d;
            best = kinds[i]->name;
        }
    }
    return best;
}

const NodeKind *const *nodes_all(size_t *ret_n)
{
    *ret_n = __atomic_load_n(&n_kinds, __ATOMIC_ACQUIRE);
    return kinds;
}

const SbxBuiltin *nodes_builtins(size_t *ret_n)
{
    *ret_n = n_builtins;
    return builtins;
}

void nodes_fill_request(const NodeKind *k, SbxRequest *req)
{
    static const char *python_argv[6];

    req->profile = k->profile;
    if (k->builtin) {
        int i = static_index(k);
        req->builtin = i >= 0 ? builtin_index[i] : -1;
        req->argv = NULL;
        return;
    }
    req->builtin = -1;
    if (k->argv) {
        req->argv = k->argv(k);
        return;
    }
    python_argv[0] = python_path;
    python_argv[1] = "-I";
    python_argv[2] = "-S";
    python_argv[3] = "-c";
    python_argv[4] = node_python_runner;
    python_argv[5] = NULL;
    req->argv = python_argv;
}

int nodes_prepare(const NodeKind *k, const json_t *config, const json_t *inputs, json_t **ret_prepared, char **ret_msg)
{
    json_t *prepared = NULL;

    if (k && k->prepare) {
        int r = k->prepare(config, inputs, &prepared, ret_msg);
        if (r < 0)
            return r;
    }
    *ret_prepared = prepared;
    return 0;
}

int nodes_finish(const NodeKind *k, const json_t *config, json_t **io_output, char **ret_msg)
{
    json_t *out = NULL;

    if (!k || !k->finish)
        return 0;
    int r = k->finish(config, *io_output, &out, ret_msg);
    if (r < 0)
        return r;
    json_decref(*io_output);
    *io_output = out;
    return 0;
}

void nodes_exec_helper_maybe_run(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--flowd-exec-node") == 0)
        _exit(node_exec_adapter(argv[2]));
}
