/* nodes.h: the node kinds flowd runs (DESIGN.md §4, docs/nodes.md). Each
 * kind checks its config at validation time and says how an attempt runs in
 * the sandbox: as a built-in C function in the forked child (compute
 * profile), or as a program started by execve (python, exec, plugin:<name>).
 * A few kinds also have server-side hooks around the attempt (csv.read
 * reads its file before, csv.write writes its file after), because their
 * sandboxed child cannot open files. */
#ifndef FLOWD_NODES_H
#define FLOWD_NODES_H

#include <jansson.h>
#include <stdbool.h>

#include "sandbox/sbx.h"
#include "server/util/diag.h"

typedef struct NodeKind NodeKind;

struct NodeKind {
    const char *name;
    const char *summary;
    /* Checks the kind's config (a JSON object); diagnostics go under path,
     * e.g. "nodes[2].config". May be NULL when any object is fine. */
    void (*check)(const json_t *config, const char *path, Diags *d);
    SbxBuiltinFn builtin; /* NULL for kinds that execve */
    SbxProfile profile;
    bool python;
    /* For execve kinds other than python: the argv of an attempt (static,
     * valid for the life of the process). NULL for built-ins and python. */
    const char *const *(*argv)(const NodeKind *k);
    /* Server-side hooks, NULL when the kind has none; see nodes_prepare()
     * and nodes_finish(). Both return 0 or -errno with *ret_msg (malloc'd). */
    int (*prepare)(const json_t *config, const json_t *inputs, json_t **ret_prepared, char **ret_msg);
    int (*finish)(const json_t *config, const json_t *output, json_t **ret_output, char **ret_msg);
};

typedef struct NodesConfig {
    const char *python;     /* FLOWD_PYTHON, default /usr/bin/python3 */
    const char *data_dir;   /* FLOWD_DATA_DIR: csv.read/csv.write use <data_dir>/files */
    const char *exec_allow; /* FLOWD_EXEC_ALLOW: colon-separated absolute paths; NULL: exec disabled */
    const char *plugin_dir; /* FLOWD_PLUGIN_DIR; NULL: plugins disabled */
    /* The program exec attempts execve (it must be executable by the
     * sandbox uid); NULL: readlink("/proc/self/exe"). */
    const char *self_exe;
    /* The same for plugin attempts, which must be a dynamically linked
     * program (flowd-node); NULL: self_exe. */
    const char *plugin_exe;
    uint64_t csv_max_bytes; /* ceiling for csv.read "max_bytes"; 0: 64 MiB */
} NodesConfig;

/* Sets up the kind table and the built-in table. Cheap, no I/O: main()
 * calls it before sbx_zygote_maybe_run() (the zygote has an empty
 * environment, so the built-in table must not depend on configuration).
 * May be called again. */
void nodes_init(const NodesConfig *cfg);

/* Server-only setup, after the configuration is loaded and before the
 * sandbox starts: records cfg (strings are copied), checks FLOWD_EXEC_ALLOW
 * (absolute paths of executable regular files), FLOWD_PLUGIN_DIR (a
 * directory) and registers a "plugin:<name>" kind for every <name>.so in it,
 * creates <data_dir>/files. Returns 0, or -errno with a one-line message
 * naming the variable in err. */
int nodes_setup(const NodesConfig *cfg, char *err, size_t err_size);

/* Read-only paths exec and plugin attempts need besides the system ones
 * (the plugin dir), NULL-terminated, for SbxConfig.ro_paths. Static. */
const char *const *nodes_ro_paths(void);

/* The kind named name, or NULL. "plugin:<name>" finds a plugin added to
 * FLOWD_PLUGIN_DIR after start too. Thread-safe. */
const NodeKind *nodes_find(const char *name);
/* The closest known kind name, for "did you mean" messages, or NULL. */
const char *nodes_suggest(const char *name);
/* Every kind, for GetServerInfo. The array only grows (plugins). */
const NodeKind *const *nodes_all(size_t *ret_n);

/* The table handed to the sandbox: every built-in function. */
const SbxBuiltin *nodes_builtins(size_t *ret_n);

/* Fills the execution part of a sandbox request for an attempt of kind k:
 * builtin index, profile and argv. The strings are static. */
void nodes_fill_request(const NodeKind *k, SbxRequest *req);

/* Server side, before an attempt of k starts: when k has a prepare hook
 * (csv.read), runs it on the node's config and assembled inputs and sets
 * *ret_prepared to an object the caller puts in the envelope as
 * "prepared" (ownership passes to the caller); NULL when k has no hook.
 * Blocking file I/O, bounded by the kind's size limit (csv.read: 8 MiB by
 * default). Returns 0, or -errno with *ret_msg (malloc'd, for the user;
 * the caller frees it): the attempt should then fail with INVALID_INPUT
 * without starting. */
int nodes_prepare(const NodeKind *k, const json_t *config, const json_t *inputs, json_t **ret_prepared, char **ret_msg);

/* Server side, after an attempt of k ended SBX_OK with an output object:
 * when k has a finish hook (csv.write), performs the side effect (writes
 * the file) and replaces *io_output (owned: the old value is released) with
 * the final output. Returns 0 (also when k has no hook) or -errno with
 * *ret_msg (malloc'd): -EINVAL means the child's output was not what the
 * kind produces (INVALID_OUTPUT); anything else is the server failing to
 * do the side effect (e.g. -ENOSPC), *io_output untouched. */
int nodes_finish(const NodeKind *k, const json_t *config, json_t **io_output, char **ret_msg);

/* The ports a switch node's config routes to: its cases' ports in order,
 * then its default port, without duplicates. Writes at most max borrowed
 * pointers (valid while config lives) and returns how many ports there
 * are. For a config that fails the switch check, returns the valid ones. */
size_t nodes_switch_ports(const json_t *config, const char **ret, size_t max);
/* True if a connection from a switch with this config may carry port. */
bool nodes_switch_has_port(const json_t *config, const char *port);

/* If argv says this process is an exec or plugin attempt (the hidden flags
 * "--flowd-exec-node" and "--flowd-plugin-node" that nodes_fill_request()
 * puts in their argv), runs it and never returns; otherwise returns at
 * once. Call it first thing in main(), before nodes_init(). */
void nodes_helper_maybe_run(int argc, char **argv);
/* The same for exec attempts only: for flowd-zygote, which is static and
 * never loads plugins (so it does not link dlopen). */
void nodes_exec_helper_maybe_run(int argc, char **argv);

/* Helpers for built-in functions, which run in the sandboxed child: read the
 * envelope {"node", "attempt", "config", "inputs"} from fd 0, write an output
 * object to fd 1. Both return 0 or -errno. */
int node_read_envelope(json_t **ret);
int node_write_output(const json_t *output);
/* Writes {"__flowd_error__": {"type": type, "message": msg}} to fd 1 and
 * returns the exit code a built-in returns for a failed node (1). */
int node_fail(const char *type, const char *fmt, ...) _printf_(2, 3);
/* Writes a progress line {"progress": fraction, "message": msg} to fd 3;
 * does nothing when fd 3 is not open. */
void node_progress(double fraction, const char *msg);

/* Python runner source, exposed for tests. */
extern const char node_python_runner[];

#endif
