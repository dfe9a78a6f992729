/* Recovery at start: runs the store holds as QUEUED or RUNNING resume.
 * Finished nodes keep their outputs; an attempt that was running when the
 * server stopped runs again, and an event says why. The run's seq continues
 * from the last committed event. */
#include <errno.h>
#include <string.h>

#include "server/engine/eng-internal.h"

static int node_index(const EngRun *r, const char *id) { return eng_workflow_find(r->wf, id); }

static bool terminal(int status)
{
    return status == NS_SUCCEEDED || status == NS_FAILED || status == NS_SKIPPED || status == NS_CANCELLED;
}

static void load_node(Engine *e, EngRun *r, const StoreNode *sn)
{
    int i = node_index(r, sn->node_id);
    if (i < 0)
        return;
    EngNodeState *ns = &r->ns[i];
    ns->attempts = sn->attempts;
    ns->status = (uint8_t)sn->status;
    if (sn->output_json) {
        ns->output = json_loads(sn->output_json, 0, NULL);
        ns->output_text = xstrdup(sn->output_json);
    }
    if (terminal(sn->status)) {
        r->n_terminal++;
        return;
    }
    ns->status = NS_PENDING;
    if (sn->status == NS_RUNNING) {
        char msg[160];
        snprintf(msg, sizeof(msg), "attempt %u was interrupted by a server restart; running it again", sn->attempts);
        eng_emit(e, r, &(EngEventArgs){.type = EV(NODE_RETRYING), .node = i, .attempt = sn->attempts, .message = msg});
        /* Written as PENDING with the event, so that a second crash before
         * the next attempt starts does not say it again. The next attempt
         * gets the next number: the history shows each start once. */
        eng_node_dirty(e, r, (uint32_t)i);
    }
}

/* Recomputes what resolve_out would have counted for every finished node. */
static void recount_deps(EngRun *r)
{
    for (size_t c = 0; c < r->wf->n_conns; c++) {
        const EngConn *conn = &r->wf->conns[c];
        if (!terminal(r->ns[conn->from].status))
            continue;
        r->ns[conn->to].deps_left--;
        r->ns[conn->to].live_in += eng_conn_output(r, (uint32_t)c) != NULL;
    }
}

static EngRun *load_run(Engine *e, const StoreRun *row, const StoreNode *nodes, size_t n)
{
    Flowd__V1__Workflow *pb = flowd__v1__workflow__unpack(NULL, row->workflow.len, row->workflow.data);
    EngWorkflow *wf = NULL;
    Diags d = {0};

    if (!pb || eng_workflow_build(pb, &e->cfg.limits, &wf, &d) < 0) {
        _cleanup_free_ char *why = diags_join(&d, "; ");
        log_error(&(LogCtx){.run = row->run_id}, "cannot resume run: its workflow no longer validates: %s",
                  pb ? why : "undecodable");
        diags_free(&d);
        if (pb)
            flowd__v1__workflow__free_unpacked(pb, NULL);
        return NULL;
    }
    flowd__v1__workflow__free_unpacked(pb, NULL);
    EngRun *r = eng_run_new(row->run_id, wf);
    r->tenant = xstrdup(row->tenant);
    r->owner = xstrdup(row->owner);
    r->labels_json = xstrdup(row->labels_json);
    r->idem_key = xstrdup(row->idempotency_key);
    r->inputs = row->inputs_json ? json_loads(row->inputs_json, 0, NULL) : NULL;
    if (!r->inputs)
        r->inputs = json_object();
    r->created_ns = row->created_ns;
    r->started_ns = row->started_ns;
    r->next_seq = row->last_seq + 1;
    r->status = row->status;
    for (size_t i = 0; i < n; i++)
        load_node(e, r, &nodes[i]);
    recount_deps(r);
    return r;
}

/* Pushes every node that is pending with all its inputs resolved: nodes that
 * were ready, or whose attempt was interrupted. */
static void requeue(Engine *e, EngRun *r)
{
    for (size_t i = 0; i < r->wf->n_nodes; i++) {
        EngNodeState *ns = &r->ns[i];
        if (ns->status == NS_PENDING && ns->deps_left == 0)
            eng_ready_push(e, r, (uint32_t)i);
    }
    eng_run_maybe_finish(e, r);
}

/* The run's timeout counts from when it started, not from the restart. */
static void restore_deadline(Engine *e, EngRun *r)
{
    uint64_t limit = (uint64_t)r->wf->timeout_s * 1000000000ull, now = now_unix_ns();
    if (!limit || !r->started_ns)
        return;
    uint64_t spent = now > r->started_ns ? now - r->started_ns : 0;
    r->deadline_mono = now_mono_ns() + (spent < limit ? limit - spent : 0);
    eng_timer_add(e, r->deadline_mono, r->id, -1);
}

static void resume_one(Engine *e, const char *id)
{
    Store *s = e->cfg.store;
    StoreRun *row = NULL;
    StoreNode *nodes = NULL;
    size_t n = 0;

    if (s->ops->run_get(s, id, &row, &nodes, &n) < 0)
        return;
    EngRun *r = load_run(e, row, nodes, n);
    store_runs_free(row, 1);
    store_nodes_free(nodes, n);
    if (!r)
        return;
    eng_runs_add(e, r);
    eng_tenant_admit(e, r);
    if (r->status == RS_RUNNING) {
        restore_deadline(e, r);
        requeue(e, r);
    }
    log_info(&(LogCtx){.run = r->id, .tenant = r->tenant}, "resuming run after restart (%zu of %zu nodes done)",
             r->n_terminal, r->wf->n_nodes);
}

int eng_recover(Engine *e)
{
    Store *s = e->cfg.store;
    char **ids = NULL;
    size_t n = 0;

    int r = s->ops->runs_unfinished(s, &ids, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        resume_one(e, ids[i]);
    store_ids_free(ids, n);
    return eng_flush(e);
}
