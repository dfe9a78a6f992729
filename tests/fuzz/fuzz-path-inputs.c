/* fuzz-path-inputs.c: the mapping path resolver (eng_path_get) and input
 * assembly (eng_assemble_inputs), DESIGN.md §4.
 *
 * Input, line by line:
 *   1. mappings "src.path>dst_key|src.path>dst_key|..." (">key" optional)
 *   2. config.params of the target node (JSON, may be empty)
 *   3. the run inputs of the target node (JSON, may be empty)
 *   4+ the upstream output (JSON)
 * The workflow is a -> t with the mappings, and b -> t with none (every key
 * passes through); both a and b produced the upstream output. Every path is
 * also resolved directly, valid or not. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flowd/v1/workflow.pb-c.h"
#include "server/engine/eng-data.h"
#include "server/engine/eng-workflow.h"

#define MAX_MAPS 16

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    nodes_init(NULL);
    return 0;
}

/* Splits off the next line of [*p, end) into a NUL-terminated copy. */
static char *next_line(const char **p, const char *end)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *s = strndup(*p, n);
    *p = nl ? nl + 1 : end;
    return s;
}

static const json_t *output_of(const void *ctx, uint32_t conn)
{
    (void)conn;
    return ctx;
}

static void resolve_all(const json_t *out, char **src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *v = eng_path_get(out, src[i]);
        /* A borrowed reference into out: reading it must be safe. */
        if (v && json_is_string(v))
            (void)strlen(json_string_value(v));
    }
}

static void assemble(Flowd__V1__Connection__MappingEntry **maps, size_t n_maps, const char *params, const json_t *out,
                     const json_t *run)
{
    Flowd__V1__Node na = FLOWD__V1__NODE__INIT, nb = FLOWD__V1__NODE__INIT, nt = FLOWD__V1__NODE__INIT;
    na.id = "a", na.kind = "noop";
    nb.id = "b", nb.kind = "noop";
    nt.id = "t", nt.kind = "noop";
    char *config = NULL;
    if (*params && asprintf(&config, "{\"params\": %s}", params) > 0)
        nt.config_json = config;
    Flowd__V1__Node *nodes[] = {&na, &nb, &nt};
    Flowd__V1__Connection ca = FLOWD__V1__CONNECTION__INIT, cb = FLOWD__V1__CONNECTION__INIT;
    ca.from = "a", ca.to = "t", ca.mapping = maps, ca.n_mapping = n_maps;
    cb.from = "b", cb.to = "t";
    Flowd__V1__Connection *conns[] = {&ca, &cb};
    Flowd__V1__Workflow pb = FLOWD__V1__WORKFLOW__INIT;
    pb.name = "fuzz", pb.nodes = nodes, pb.n_nodes = 3, pb.connections = conns, pb.n_connections = 2;

    EngLimits lim;
    eng_limits_default(&lim);
    Diags d = {0};
    EngWorkflow *wf = NULL;
    if (eng_workflow_build(&pb, &lim, &wf, &d) == 0) {
        char *err = NULL;
        json_t *in = eng_assemble_inputs(wf, (uint32_t)eng_workflow_find(wf, "t"), output_of, out, run, &err);
        if (!in && !err)
            abort(); /* a failure always says why */
        char *dump = in ? json_dumps(in, JSON_COMPACT) : NULL;
        free(dump);
        json_decref(in);
        free(err);
        eng_workflow_free(wf);
    }
    diags_free(&d);
    free(config);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    char *maps_line = next_line(&p, end), *params = next_line(&p, end), *run_text = next_line(&p, end);
    json_t *out = json_loadb(p, (size_t)(end - p), JSON_DECODE_ANY, NULL);
    json_t *run = *run_text ? json_loads(run_text, JSON_DECODE_ANY, NULL) : NULL;

    char *src[MAX_MAPS], *dst[MAX_MAPS];
    Flowd__V1__Connection__MappingEntry pairs[MAX_MAPS], *maps[MAX_MAPS];
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(maps_line, "|", &save); tok && n < MAX_MAPS;
         tok = strtok_r(NULL, "|", &save)) {
        char *gt = strchr(tok, '>');
        if (gt)
            *gt = '\0';
        src[n] = tok;
        dst[n] = gt ? gt + 1 : tok;
        pairs[n] = (Flowd__V1__Connection__MappingEntry)FLOWD__V1__CONNECTION__MAPPING_ENTRY__INIT;
        pairs[n].key = src[n];
        pairs[n].value = dst[n];
        maps[n] = &pairs[n];
        n++;
    }
    if (out) {
        resolve_all(out, src, n);
        assemble(maps, n, params, out, run);
    }
    json_decref(out);
    json_decref(run);
    free(maps_line);
    free(params);
    free(run_text);
    return 0;
}
