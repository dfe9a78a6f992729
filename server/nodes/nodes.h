/* nodes.h: the node kinds flowd runs (DESIGN.md §4). Each kind checks its
 * config at validation time and says how an attempt runs in the sandbox: as
 * a built-in C function in the forked child, or as an interpreter started by
 * execve (python). */
#ifndef FLOWD_NODES_H
#define FLOWD_NODES_H

#include <jansson.h>
#include <stdbool.h>

#include "sandbox/sbx.h"
#include "server/util/diag.h"

typedef struct NodeKind {
    const char *name;
    const char *summary;
    /* Checks the kind's config (a JSON object); diagnostics go under path,
     * e.g. "nodes[2].config". May be NULL when any object is fine. */
    void (*check)(const json_t *config, const char *path, Diags *d);
    SbxBuiltinFn builtin; /* NULL for interpreter kinds */
    SbxProfile profile;
    bool python;
} NodeKind;

typedef struct NodesConfig {
    const char *python; /* FLOWD_PYTHON, default /usr/bin/python3 */
} NodesConfig;

void nodes_init(const NodesConfig *cfg);

/* The kind named name, or NULL. */
const NodeKind *nodes_find(const char *name);
/* The closest known kind name, for "did you mean" messages, or NULL. */
const char *nodes_suggest(const char *name);
/* Every kind, for GetServerInfo. */
const NodeKind *const *nodes_all(size_t *ret_n);

/* The table handed to the sandbox: every built-in function. */
const SbxBuiltin *nodes_builtins(size_t *ret_n);

/* Fills the execution part of a sandbox request for an attempt of kind k:
 * builtin index, profile and argv. The strings are static. */
void nodes_fill_request(const NodeKind *k, SbxRequest *req);

/* Helpers for built-in functions, which run in the sandboxed child: read the
 * envelope {"node", "attempt", "config", "inputs"} from fd 0, write an output
 * object to fd 1. Both return 0 or -errno. */
int node_read_envelope(json_t **ret);
int node_write_output(const json_t *output);
/* Writes {"__flowd_error__": {"type": type, "message": msg}} to fd 1 and
 * returns the exit code a built-in returns for a failed node (1). */
int node_fail(const char *type, const char *fmt, ...) _printf_(2, 3);

/* Python runner source, exposed for tests. */
extern const char node_python_runner[];

#endif
