/* plugin:<name>: shared libraries FLOWD_PLUGIN_DIR/<name>.so implementing
 * the C node ABI of include/flowd/node.h.
 *
 * The server never loads a plugin: its code would run with the server's
 * privileges, heap and secrets. An attempt execve's flowd-node (dynamic,
 * unlike the static flowd-zygote) with a hidden flag ("flowd-node
 * --flowd-plugin-node <dir>/<name>.so", interpreter profile: read-only
 * filesystem, no network, no fork), which dlopen()s the
 * library in that fresh, confined process, calls run() once and exits.
 * The zygote cannot do it instead: it starts with an empty environment and
 * knows no plugin dir, and its compute-profile children cannot mmap code. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <flowd/node.h>

#include "server/nodes/node-internal.h"

#define PLUGIN_MAX_NAME 64

typedef struct PluginKind {
    NodeKind kind; /* first: the registry hands out &p->kind */
    char name[PLUGIN_MAX_NAME + 16];
    char path[PATH_MAX];
    const char *argv[4];
} PluginKind;

static pthread_mutex_t plugin_lock = PTHREAD_MUTEX_INITIALIZER;
static char plugin_self[PATH_MAX];
static char plugin_dir_path[PATH_MAX];
static PluginKind *plugins[256];
static size_t n_plugins;

const char *node_plugin_dir(void) { return plugin_dir_path[0] ? plugin_dir_path : NULL; }

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > PLUGIN_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static const char *const *plugin_argv(const NodeKind *k) { return ((const PluginKind *)k)->argv; }

/* Called with plugin_lock held. */
static const NodeKind *add_plugin(const char *name, size_t n)
{
    struct stat st;
    PluginKind *p = xcalloc(1, sizeof(*p));

    if (n > PLUGIN_MAX_NAME || strlen(plugin_dir_path) + n + 5 >= sizeof(p->path)) {
        free(p);
        return NULL;
    }
    snprintf(p->name, sizeof(p->name), "plugin:%.*s", (int)n, name);
    strcpy(p->path, plugin_dir_path);
    strcat(p->path, "/");
    strncat(p->path, name, n);
    strcat(p->path, ".so");
    p->kind = (NodeKind){
        .name = p->name,
        .summary = "a plugin node (C ABI, include/flowd/node.h)",
        .profile = SBX_PROFILE_INTERPRETER,
        .argv = plugin_argv,
    };
    p->argv[0] = plugin_self;
    p->argv[1] = "--flowd-plugin-node";
    p->argv[2] = p->path;
    /* Registered fully built: other threads may list it at once. */
    if (stat(p->path, &st) < 0 || !S_ISREG(st.st_mode) || n_plugins == ELEMENTSOF(plugins) ||
        nodes_register(&p->kind) < 0) {
        free(p);
        return NULL;
    }
    plugins[n_plugins++] = p;
    return &p->kind;
}

const NodeKind *node_plugin_find(const char *kind)
{
    const char *name = kind + strlen("plugin:");
    const NodeKind *k = NULL;

    if (strncmp(kind, "plugin:", 7) != 0 || !name_ok(name, strlen(name)))
        return NULL;
    pthread_mutex_lock(&plugin_lock);
    for (size_t i = 0; i < n_plugins && !k; i++)
        if (strcmp(plugins[i]->name, kind) == 0)
            k = &plugins[i]->kind;
    if (!k && plugin_dir_path[0])
        k = add_plugin(name, strlen(name));
    pthread_mutex_unlock(&plugin_lock);
    return k;
}

int node_plugin_configure(const char *self_exe, const char *dir, char *err, size_t err_size)
{
    struct stat st;

    snprintf(plugin_self, sizeof(plugin_self), "%s", self_exe ? self_exe : "");
    plugin_dir_path[0] = '\0';
    if (!dir || !*dir)
        return 0;
    if (dir[0] != '/' || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, err_size, "FLOWD_PLUGIN_DIR=%s: must be the absolute path of a directory (%s)", dir,
                 dir[0] != '/' ? "not absolute"
                 : errno       ? strerror(errno)
                               : "not a directory");
        return -EINVAL;
    }
    snprintf(plugin_dir_path, sizeof(plugin_dir_path), "%s", dir);
    DIR *dp = opendir(dir);
    struct dirent *de;
    while (dp && (de = readdir(dp))) {
        size_t n = strlen(de->d_name);
        if (n > 3 && strcmp(de->d_name + n - 3, ".so") == 0 && name_ok(de->d_name, n - 3)) {
            char kind[PLUGIN_MAX_NAME + 16];
            snprintf(kind, sizeof(kind), "plugin:%.*s", (int)(n - 3), de->d_name);
            node_plugin_find(kind);
        }
    }
    if (dp)
        closedir(dp);
    return 0;
}
