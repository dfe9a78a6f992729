/* The table of active runs (engine thread only) and the run's lifetime. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server/engine/eng-internal.h"

EngRun *eng_run_new(const char *id, EngWorkflow *wf)
{
    EngRun *r = xcalloc(1, sizeof(EngRun));

    r->id = xstrdup(id);
    r->wf = wf;
    r->ns = xcalloc(wf->n_nodes, sizeof(EngNodeState));
    r->ready = xcalloc(wf->n_nodes, sizeof(uint32_t));
    r->dirty_nodes = xcalloc(wf->n_nodes, sizeof(uint32_t));
    r->next_seq = 1;
    r->status = RS_QUEUED;
    for (size_t i = 0; i < wf->n_nodes; i++) {
        r->ns[i].status = NS_PENDING;
        r->ns[i].deps_left = (uint32_t)wf->nodes[i].n_in;
    }
    return r;
}

void eng_run_free(EngRun *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->wf && i < r->wf->n_nodes; i++) {
        json_decref(r->ns[i].output);
        free(r->ns[i].output_text);
        json_decref(r->ns[i].inputs);
        free(r->ns[i].last_log);
        eng_batch_free(r->ns[i].batch);
        eng_failure_clear(&r->ns[i].failure);
    }
    store_events_free(r->events.items, r->events.len);
    eng_failure_clear(&r->failure);
    free(r->outputs_json);
    json_decref(r->inputs);
    eng_workflow_free(r->wf);
    free(r->workflow_pb.data);
    free(r->ns);
    free(r->ready);
    free(r->dirty_nodes);
    free(r->id);
    free(r->tenant);
    free(r->owner);
    free(r->labels_json);
    free(r->idem_key);
    free(r->retry_of);
    free(r);
}

void eng_runs_add(Engine *e, EngRun *r)
{
    if (e->n_free_slots == 0) {
        size_t cap = e->runs_cap ? e->runs_cap * 2 : 64;
        e->runs = xrealloc(e->runs, cap * sizeof(EngRun *));
        memset(e->runs + e->runs_cap, 0, (cap - e->runs_cap) * sizeof(EngRun *));
        e->free_slots = xrealloc(e->free_slots, cap * sizeof(uint32_t));
        for (size_t i = cap; i-- > e->runs_cap;)
            e->free_slots[e->n_free_slots++] = (uint32_t)i;
        e->runs_cap = cap;
    }
    r->slot = e->free_slots[--e->n_free_slots];
    e->runs[r->slot] = r;
    strmap_put(&e->run_index, r->id, r->slot);
    e->n_runs++;
    atomic_store(&e->stat_active, (unsigned)e->n_runs);
}

EngRun *eng_runs_find(Engine *e, const char *id)
{
    uint32_t slot;
    return strmap_get(&e->run_index, id, &slot) ? e->runs[slot] : NULL;
}

void eng_runs_remove(Engine *e, EngRun *r)
{
    strmap_del(&e->run_index, r->id);
    e->runs[r->slot] = NULL;
    e->free_slots[e->n_free_slots++] = r->slot;
    e->n_runs--;
    atomic_store(&e->stat_active, (unsigned)e->n_runs);
}

void eng_failure_clear(EngFailure *f)
{
    free(f->message);
    *f = (EngFailure){0};
}

void eng_failure_set(EngFailure *f, int kind, const char *fmt, ...)
{
    va_list ap;

    eng_failure_clear(f);
    f->kind = kind;
    va_start(ap, fmt);
    if (vasprintf(&f->message, fmt, ap) < 0)
        f->message = NULL;
    va_end(ap);
}

void eng_failure_copy(EngFailure *dst, const EngFailure *src)
{
    eng_failure_clear(dst);
    *dst = *src;
    dst->message = xstrdup(src->message);
}
