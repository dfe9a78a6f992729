/* noop: outputs its inputs unchanged. The cheapest attempt there is; the
 * sandbox and throughput benchmarks run it. */
#include "server/nodes/nodes.h"

static int noop_run(void)
{
    json_t *env = NULL;

    if (node_read_envelope(&env) < 0)
        return node_fail("InvalidInput", "the input envelope is not a JSON object");
    json_t *inputs = json_object_get(env, "inputs");
    int r = node_write_output(json_is_object(inputs) ? inputs : json_object());
    json_decref(env);
    return r < 0 ? 1 : 0;
}

const NodeKind node_kind_noop = {
    .name = "noop",
    .summary = "outputs its inputs unchanged",
    .builtin = noop_run,
    .profile = SBX_PROFILE_COMPUTE,
};
