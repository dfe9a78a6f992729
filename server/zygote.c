/* flowd-zygote: the program flowd's sandbox starts as its fork servers, and
 * re-executes for exec nodes. It links only the sandbox and the node kinds,
 * not gRPC, SQLite or the rest of the server, and statically: every node
 * attempt is a fork of it, and fork and exit cost grows with the mappings
 * and dynamic-linking state a process has (13 mappings here, against 65
 * linked dynamically and 325 for flowd itself). Plugin nodes execve
 * flowd-node instead, which can load shared libraries. It is not meant to
 * be run by hand. */
#include <jansson.h>
#include <stdio.h>

#include "sandbox/sbx.h"
#include "server/nodes/nodes.h"

int main(int argc, char **argv)
{
    size_t n;

    nodes_exec_helper_maybe_run(argc, argv);
    /* As in flowd: jansson must not seed itself from /dev/urandom inside a
     * child whose seccomp filter forbids open. */
    json_object_seed(0);
    nodes_init(NULL);
    const SbxBuiltin *builtins = nodes_builtins(&n);
    sbx_zygote_maybe_run(argc, argv, builtins, n);
    fprintf(stderr, "flowd-zygote: started by flowd's sandbox only; run flowd instead\n");
    return 2;
}
