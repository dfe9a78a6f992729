/* fuzz-submit-request.c: what flowd does with the bytes of a SubmitRun
 * request before anything runs: protobuf-c decoding, building and
 * validating the workflow (eng_workflow_build), parsing the run inputs the
 * way the engine does and checking them (eng_check_run_inputs). The limits
 * are the server's defaults, except for a smaller node count so that one
 * input stays fast; the default limits are used every 16th input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flowd/v1/service.pb-c.h"
#include "server/engine/eng-data.h"
#include "server/engine/eng-workflow.h"

/* The same steps as parse_inputs() in server/engine/eng-engine.c. */
static json_t *parse_inputs(const char *text, const EngLimits *lim, Diags *d)
{
    json_error_t jerr;

    if (!text || !*text)
        return json_object();
    if (strlen(text) > lim->max_json_bytes) {
        diags_add(d, "inputs", "too big");
        return NULL;
    }
    json_t *v = json_loads(text, 0, &jerr);
    if (!v)
        diags_add(d, "inputs", "not JSON: %s", jerr.text);
    else if (json_depth(v) > lim->max_json_depth + 1) {
        diags_add(d, "inputs", "too deep");
        json_decref(v);
        v = NULL;
    }
    return v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    nodes_init(NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Flowd__V1__SubmitRunRequest *req = flowd__v1__submit_run_request__unpack(NULL, size, data);
    if (!req)
        return 0;

    EngLimits lim;
    eng_limits_default(&lim);
    if (size % 16 != 0)
        lim.max_nodes = 5000;
    if (size % 3 == 0) {
        /* A tenant's quota, to reach the ceiling checks. */
        lim.max_memory_mb = 1024;
        lim.max_cpu_millis = 2000;
        lim.max_pids = 128;
        lim.max_timeout_s = 600;
    }

    Diags d = {0};
    EngWorkflow *wf = NULL;
    int r = eng_workflow_build(req->workflow, &lim, &wf, &d);
    json_t *inputs = parse_inputs(req->inputs_json, &lim, &d);
    if (r == 0 && inputs)
        eng_check_run_inputs(wf, inputs, &d);
    free(diags_join(&d, "; "));
    if (r == 0) {
        /* Every node's id must find itself again. */
        for (size_t i = 0; i < wf->n_nodes; i++)
            if (eng_workflow_find(wf, wf->nodes[i].id) != (int)i)
                abort();
        /* topo is a permutation of the nodes. */
        uint8_t *seen = calloc(wf->n_nodes + 1, 1);
        for (size_t i = 0; i < wf->n_nodes; i++) {
            if (wf->topo[i] >= wf->n_nodes || seen[wf->topo[i]]++)
                abort();
        }
        /* Every connection goes forward in that order. */
        uint32_t *pos = calloc(wf->n_nodes + 1, sizeof(uint32_t));
        for (size_t i = 0; i < wf->n_nodes; i++)
            pos[wf->topo[i]] = (uint32_t)i;
        for (size_t i = 0; i < wf->n_conns; i++)
            if (pos[wf->conns[i].from] >= pos[wf->conns[i].to])
                abort();
        free(pos);
        free(seen);
    }
    json_decref(inputs);
    eng_workflow_free(wf);
    diags_free(&d);
    flowd__v1__submit_run_request__free_unpacked(req, NULL);
    return 0;
}
