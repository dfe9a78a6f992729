/* flowd-node: what plugin attempts execve ("flowd-node --flowd-plugin-node
 * <dir>/<name>.so", server/nodes/node-plugin.c). It is flowd-zygote's
 * dynamically linked twin: a plugin is a shared library linked against
 * Debian's libc and jansson, which a static program cannot load safely
 * (it would get a second libc beside its own). Not meant to be run by hand. */
#include <stdio.h>

#include "server/nodes/nodes.h"

int main(int argc, char **argv)
{
    nodes_helper_maybe_run(argc, argv);
    fprintf(stderr, "flowd-node: started by flowd's sandbox only; run flowd instead\n");
    return 2;
}
