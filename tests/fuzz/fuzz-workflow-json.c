/* fuzz-workflow-json.c: flowctl's workflow file loader (client/fc-workflow.c).
 * The input is a workflow document, optionally followed by a NUL byte and a
 * run inputs document that is checked against the workflow when it loaded.
 * A loaded workflow is also ordered (the live view's topological order). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flowd/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    size_t wf_len = nul ? (size_t)(nul - text) : size;
    FcDiagnostics diags = {0};
    FcWorkflow *wf = NULL;
    FcError err;

    if (fc_workflow_load_string(text, wf_len, &diags, &wf, &err) == 0) {
        const char **ids = NULL;
        size_t n = 0;
        if (fc_workflow_topo_order(wf, &ids, &n) == 0)
            free(ids);
        for (size_t i = 0; i < fc_workflow_node_count(wf); i++)
            (void)fc_workflow_has_node(wf, fc_workflow_node_id(wf, i));
        (void)fc_workflow_name(wf);
    }
    if (nul) {
        char *json = NULL;
        if (fc_inputs_load_string(nul + 1, size - wf_len - 1, wf, &diags, &json, &err) == 0)
            free(json);
    }
    fc_workflow_free(wf);
    fc_diagnostics_clear(&diags);
    return 0;
}
