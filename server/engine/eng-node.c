/* What happens when a node ends: its dependents become ready or are skipped,
 * failures are retried with backoff or handled by on_error, dead letters are
 * written, and the run ends when every node has. A node runs when every
 * connection into it is live; a merge node runs when at least one is. A
 * connection is dead when its source failed (on_error "continue") or was
 * skipped, or when it leaves a switch by a port that was not taken. */
#include <math.h>
#include <string.h>
#include <sys/random.h>

#include "server/engine/eng-internal.h"

static bool conn_live(const EngRun *r, const EngConn *c)
{
    const EngNodeState *src = &r->ns[c->from];
    if (src->status != NS_SUCCEEDED || !src->output)
        return false;
    if (!*c->port)
        return true;
    const json_t *port = json_object_get(src->output, "port");
    return json_is_string(port) && strcmp(json_string_value(port), c->port) == 0;
}

const json_t *eng_conn_output(const void *run, uint32_t conn)
{
    const EngRun *r = run;
    const EngConn *c = &r->wf->conns[conn];
    return conn_live(r, c) ? r->ns[c->from].output : NULL;
}

static void push(Engine *e, size_t *len, uint32_t ni)
{
    if (*len == e->stack_cap) {
        e->stack_cap = e->stack_cap ? e->stack_cap * 2 : 64;
        e->stack = xrealloc(e->stack, e->stack_cap * sizeof(uint32_t));
    }
    e->stack[(*len)++] = ni;
}

void eng_node_metric(EngRun *r, uint32_t ni, const char *status)
{
    const EngNodeState *ns = &r->ns[ni];
    double sec = ns->first_start_mono ? (double)(now_mono_ns() - ns->first_start_mono) / 1e9 : -1;
    met_node_finished(r->wf->nodes[ni].kind->name, status, sec);
}

static void skip_node(Engine *e, EngRun *r, uint32_t ni)
{
    EngNodeState *ns = &r->ns[ni];
    ns->status = NS_SKIPPED;
    eng_node_metric(r, ni, "skipped");
    r->n_terminal++;
    eng_node_dirty(e, r, ni);
    eng_emit(
        e, r,
        &(EngEventArgs){.type = EV(NODE_SKIPPED),
                        .node = (int)ni,
                        .message = "skipped: an upstream node failed, was skipped, or a switch took another port"});
}

/* Resolves the connections out of a terminal node; skips cascade through an
 * explicit stack, since a chain can be 100,000 nodes long. */
static void resolve_out(Engine *e, EngRun *r, uint32_t first)
{
    size_t len = 0;

    push(e, &len, first);
    while (len > 0) {
        const EngNode *n = &r->wf->nodes[e->stack[--len]];
        for (size_t k = 0; k < n->n_out; k++) {
            const EngConn *c = &r->wf->conns[n->out[k]];
            EngNodeState *t = &r->ns[c->to];
            t->live_in += conn_live(r, c);
            if (--t->deps_left > 0 || t->status != NS_PENDING)
                continue;
            bool is_merge = strcmp(r->wf->nodes[c->to].kind->name, "merge") == 0;
            bool runs = is_merge ? t->live_in > 0 : t->live_in == r->wf->nodes[c->to].n_in;
            if (runs && !r->cancelling)
                eng_ready_push(e, r, c->to);
            else if (!r->cancelling) {
                skip_node(e, r, c->to);
                push(e, &len, c->to);
            }
        }
    }
}

void eng_node_succeeded(Engine *e, EngRun *r, uint32_t ni, json_t *output, char *text, const SbxUsage *usage)
{
    EngNodeState *ns = &r->ns[ni];

    ns->status = NS_SUCCEEDED;
    eng_node_metric(r, ni, "succeeded");
    ns->output = output;
    free(ns->output_text);
    ns->output_text = text ? text : json_dumps(output, JSON_COMPACT);
    char *clean = eng_scrub(e, ns->output_text);
    if (clean) {
        free(ns->output_text);
        ns->output_text = clean;
    }
    if (usage)
        ns->usage = *usage;
    r->n_terminal++;
    eng_node_dirty(e, r, ni);
    eng_emit(e, r,
             &(EngEventArgs){.type = EV(NODE_SUCCEEDED),
                             .node = (int)ni,
                             .attempt = ns->attempts,
                             .output_json = ns->output_text,
                             .usage = usage,
                             .message = ns->fallback ? "fallback applied"
                                        : ns->cached ? "cached"
                                                     : NULL,
                             .failure = ns->fallback ? &ns->failure : NULL});
    resolve_out(e, r, ni);
    eng_run_maybe_finish(e, r);
}

static bool retryable(int kind)
{
    return kind == FK(NONZERO_EXIT) || kind == FK(SIGNALED) || kind == FK(OOM_KILLED) || kind == FK(TIMEOUT) ||
           kind == FK(INTERNAL);
}

/* initial * multiplier^(attempt-1), capped, then spread by +-jitter. */
uint64_t eng_backoff_ms(const EngRetry *p, uint32_t attempt, double unit_random)
{
    double d = (double)p->initial_backoff_ms * pow(p->multiplier, (double)(attempt ? attempt - 1 : 0));
    if (d > (double)p->max_backoff_ms)
        d = (double)p->max_backoff_ms;
    d += d * p->jitter * (2.0 * unit_random - 1.0);
    return d < 0 ? 0 : (uint64_t)d;
}

static double unit_random(void)
{
    uint32_t x = 0;
    if (getrandom(&x, sizeof(x), 0) != sizeof(x))
        x = (uint32_t)now_mono_ns();
    return (double)x / 4294967296.0;
}

static void schedule_retry(Engine *e, EngRun *r, uint32_t ni, const EngFailure *f, const SbxUsage *usage)
{
    EngNodeState *ns = &r->ns[ni];
    const EngNode *n = &r->wf->nodes[ni];
    uint64_t delay = eng_backoff_ms(&n->retry, ns->attempts, unit_random());
    _cleanup_free_ char *msg =
        xasprintf("attempt %u of %u failed (%s: %s); retrying in %llu ms", ns->attempts, n->retry.max_attempts,
                  eng_failure_kind_name(f->kind), f->message ? f->message : "", (unsigned long long)delay);

    ns->status = NS_PENDING;
    ns->waiting = true;
    met_node_retry(n->kind->name);
    eng_node_dirty(e, r, ni);
    eng_emit(e, r,
             &(EngEventArgs){.type = EV(NODE_RETRYING),
                             .node = (int)ni,
                             .attempt = ns->attempts,
                             .message = msg,
                             .failure = f,
                             .usage = usage});
    eng_timer_add(e, now_mono_ns() + delay * 1000000ull, r->id, (int32_t)ni);
}

static void write_dead_letter(Engine *e, EngRun *r, uint32_t ni)
{
    EngNodeState *ns = &r->ns[ni];

    if (e->n_dead_letters == e->dead_letters_cap) {
        e->dead_letters_cap = e->dead_letters_cap ? e->dead_letters_cap * 2 : 8;
        e->dead_letters = xrealloc(e->dead_letters, e->dead_letters_cap * sizeof(StoreDeadLetter));
    }
    StoreDeadLetter *d = &e->dead_letters[e->n_dead_letters++];
    *d = (StoreDeadLetter){
        .id = new_id("dl-"),
        .run_id = xstrdup(r->id),
        .node_id = xstrdup(r->wf->nodes[ni].id),
        .tenant = xstrdup(r->tenant),
        .workflow_name = xstrdup(r->wf->name),
        .kind = xstrdup(r->wf->nodes[ni].kind->name),
        .inputs_json = ns->inputs ? json_dumps(ns->inputs, JSON_COMPACT) : xstrdup("{}"),
        .attempts = ns->attempts,
        .created_ns = now_unix_ns(),
    };
    char *clean = eng_scrub(e, d->inputs_json);
    if (clean) {
        free(d->inputs_json);
        d->inputs_json = clean;
    }
    eng_pack_failure(&ns->failure, &d->failure);
    met_dead_letter();
    log_warn(&(LogCtx){.run = r->id, .node = r->wf->nodes[ni].id, .tenant = r->tenant},
             "node failed after %u attempts, dead letter %s: %s", ns->attempts, d->id,
             ns->failure.message ? ns->failure.message : "");
}

static void apply_fallback(Engine *e, EngRun *r, uint32_t ni, const SbxUsage *usage)
{
    const EngNode *n = &r->wf->nodes[ni];
    json_t *out = json_deep_copy(n->fallback);

    json_object_set_new(out, "fallback_applied", json_true());
    r->ns[ni].fallback = true;
    r->degraded = true;
    eng_run_dirty(e, r);
    eng_node_succeeded(e, r, ni, out, NULL, usage);
}

static void fail_final(Engine *e, EngRun *r, uint32_t ni, const SbxUsage *usage)
{
    EngNodeState *ns = &r->ns[ni];
    const EngNode *n = &r->wf->nodes[ni];

    ns->status = NS_FAILED;
    eng_node_metric(r, ni, "failed");
    r->n_terminal++;
    eng_node_dirty(e, r, ni);
    eng_emit(e, r,
             &(EngEventArgs){.type = EV(NODE_FAILED),
                             .node = (int)ni,
                             .attempt = ns->attempts,
                             .message = ns->failure.message,
                             .failure = &ns->failure,
                             .usage = usage});
    if (n->on_error == ON_ERROR_CONTINUE) {
        r->degraded = true;
        eng_run_dirty(e, r);
        resolve_out(e, r, ni);
    } else {
        _cleanup_free_ char *msg = xasprintf("node \"%s\" failed: %s", n->id, ns->failure.message);
        eng_run_cancel(e, r, ns->failure.kind, msg);
    }
    eng_run_maybe_finish(e, r);
}

/* Takes over f's message. */
void eng_node_failed(Engine *e, EngRun *r, uint32_t ni, EngFailure *f, const SbxUsage *usage)
{
    EngNodeState *ns = &r->ns[ni];
    const EngNode *n = &r->wf->nodes[ni];
    char *clean = eng_scrub(e, f->message);

    if (clean) {
        free(f->message);
        f->message = clean;
    }
    if (usage)
        ns->usage = *usage;
    if (r->cancelling || f->kind == FK(CANCELLED)) {
        ns->status = NS_CANCELLED;
        eng_node_metric(r, ni, "cancelled");
        eng_failure_clear(&ns->failure);
        ns->failure = *f;
        r->n_terminal++;
        eng_node_dirty(e, r, ni);
        eng_run_maybe_finish(e, r);
        return;
    }
    if (retryable(f->kind) && ns->attempts < n->retry.max_attempts) {
        schedule_retry(e, r, ni, f, usage);
        eng_failure_clear(f);
        return;
    }
    eng_failure_clear(&ns->failure);
    ns->failure = *f;
    write_dead_letter(e, r, ni);
    if (n->on_error == ON_ERROR_FALLBACK)
        apply_fallback(e, r, ni, usage);
    else
        fail_final(e, r, ni, usage);
}

void eng_run_cancel(Engine *e, EngRun *r, int kind, const char *message)
{
    if (r->cancelling || r->finished_ns)
        return;
    r->cancelling = true;
    r->final_status = kind == FK(CANCELLED) ? RS_CANCELLED : RS_FAILED;
    eng_failure_set(&r->failure, kind, "%s", message);
    eng_run_dirty(e, r);
    for (size_t i = 0; i < r->wf->n_nodes; i++) {
        EngNodeState *ns = &r->ns[i];
        if (ns->status == NS_RUNNING && ns->batch) {
            ns->batch->failed = true;
            for (uint32_t k = 0; k < ns->batch->next; k++)
                if (!ns->batch->outputs[k])
                    sbx_cancel(e->cfg.sbx, ns->batch->attempt_ids[k]);
        } else if (ns->status == NS_RUNNING)
            sbx_cancel(e->cfg.sbx, ns->attempt_id);
        else if (ns->status == NS_PENDING) {
            ns->status = NS_CANCELLED;
            r->n_terminal++;
            eng_node_dirty(e, r, (uint32_t)i);
        }
    }
    eng_run_maybe_finish(e, r);
}

/* {node_id: output} from the nodes' own texts, so numbers read exactly as
 * the nodes wrote them; null for nodes without output. Node ids need no
 * escaping: validation allows [A-Za-z0-9_-] only. */
static char *run_outputs(const EngRun *r)
{
    StrBuf b = {0};

    sb_puts(&b, "{");
    for (size_t i = 0; i < r->wf->n_nodes; i++) {
        const EngNodeState *ns = &r->ns[i];
        sb_printf(&b, "%s\"%s\":", i ? "," : "", r->wf->nodes[i].id);
        sb_puts(&b, ns->status == NS_SUCCEEDED && ns->output_text ? ns->output_text : "null");
    }
    sb_puts(&b, "}");
    return sb_take(&b);
}

void eng_run_maybe_finish(Engine *e, EngRun *r)
{
    if (r->finished_ns || r->n_terminal < r->wf->n_nodes || r->n_running > 0)
        return;
    r->status = r->cancelling ? r->final_status : RS_SUCCEEDED;
    r->finished_ns = now_unix_ns();
    eng_tenant_run_done(e, r);
    eng_run_dirty(e, r);
    EngEventArgs a = {.node = -1, .failure = r->cancelling ? &r->failure : NULL};
    if (r->status == RS_SUCCEEDED) {
        r->outputs_json = run_outputs(r);
        a.type = EV(RUN_SUCCEEDED);
        a.output_json = r->outputs_json;
        a.message = r->degraded ? "succeeded, degraded: some nodes failed or used their fallback" : "succeeded";
    } else {
        a.type = r->status == RS_CANCELLED ? EV(RUN_CANCELLED) : EV(RUN_FAILED);
        a.message = r->failure.message;
    }
    eng_emit(e, r, &a);
    met_run_finished(r->tenant, r->status == RS_SUCCEEDED   ? "succeeded"
                                : r->status == RS_CANCELLED ? "cancelled"
                                                            : "failed");
    log_info(&(LogCtx){.run = r->id, .tenant = r->tenant}, "run %s: %s",
             r->status == RS_SUCCEEDED   ? "succeeded"
             : r->status == RS_CANCELLED ? "cancelled"
                                         : "failed",
             a.message ? a.message : "");
}
