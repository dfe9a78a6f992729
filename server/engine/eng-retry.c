/* RetryDeadLetter: a new run of the failed node alone, with the inputs it
 * had on its last attempt. The node definition comes from the original run's
 * workflow in the store. */
#include <errno.h>
#include <string.h>

#include "server/engine/eng-internal.h"

static Flowd__V1__Node *find_node(Flowd__V1__Workflow *wf, const char *id)
{
    for (size_t i = 0; i < wf->n_nodes; i++)
        if (strcmp(wf->nodes[i]->id, id) == 0)
            return wf->nodes[i];
    return NULL;
}

int eng_retry_dead_letter(Engine *e, const char *id, const EngCaller *caller, char **ret_run_id, Diags *d)
{
    Store *s = e->cfg.store;
    StoreDeadLetter *dl = NULL;
    StoreRun *row = NULL;
    StoreNode *nodes = NULL;
    size_t n = 0;
    int ret;

    if ((ret = s->ops->dead_letter_get(s, id, &dl)) < 0)
        return ret;
    if (caller && caller->tenant && strcmp(caller->tenant, dl->tenant) != 0) {
        store_dead_letters_free(dl, 1);
        return -ENOENT;
    }
    if ((ret = s->ops->run_get(s, dl->run_id, &row, &nodes, &n)) < 0) {
        diags_add(d, "id", "the run %s of this dead letter is gone (purged by retention)", dl->run_id);
        store_dead_letters_free(dl, 1);
        return -EINVAL;
    }
    Flowd__V1__Workflow *wf = flowd__v1__workflow__unpack(NULL, row->workflow.len, row->workflow.data);
    Flowd__V1__Node *node = wf ? find_node(wf, dl->node_id) : NULL;
    ret = -EINVAL;
    if (node) {
        Flowd__V1__Workflow one = FLOWD__V1__WORKFLOW__INIT;
        Flowd__V1__Node *nodes_one[1] = {node};
        _cleanup_free_ char *name = xasprintf("%s (retry of %s)", wf->name, dl->id);
        _cleanup_free_ char *inputs = xasprintf("{\"%s\": %s}", dl->node_id, dl->inputs_json);
        _cleanup_free_ char *labels = xasprintf("{\"flowd.retry_of\": \"%s\"}", dl->id);
        one.name = name;
        one.n_nodes = 1;
        one.nodes = nodes_one;
        bool dedup = false;
        EngSubmit sub = {
            .workflow = &one, .inputs_json = inputs, .labels_json = labels, .caller = caller, .retry_of = dl->id};
        ret = eng_submit(e, &sub, ret_run_id, &dedup, d);
    } else
        diags_add(d, "id", "the workflow of run %s has no node %s", dl->run_id, dl->node_id);
    if (ret == 0)
        log_info(&(LogCtx){.run = *ret_run_id, .node = dl->node_id, .tenant = dl->tenant},
                 "dead letter %s re-run as run %s", dl->id, *ret_run_id);
    if (wf)
        flowd__v1__workflow__free_unpacked(wf, NULL);
    store_runs_free(row, 1);
    store_nodes_free(nodes, n);
    store_dead_letters_free(dl, 1);
    return ret;
}
