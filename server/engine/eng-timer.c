/* Timers for retry backoff and run timeouts: a binary min-heap on the due
 * time. A timer names its run by id, so a timer of a run that has ended
 * finds nothing and does nothing. */
#include <string.h>

#include "server/engine/eng-internal.h"

static void swap(EngTimer *a, EngTimer *b)
{
    EngTimer t = *a;
    *a = *b;
    *b = t;
}

void eng_timer_add(Engine *e, uint64_t due_mono, const char *run_id, int32_t node)
{
    if (e->n_timers == e->timers_cap) {
        e->timers_cap = e->timers_cap ? e->timers_cap * 2 : 32;
        e->timers = xrealloc(e->timers, e->timers_cap * sizeof(EngTimer));
    }
    size_t i = e->n_timers++;
    e->timers[i] = (EngTimer){.due_mono = due_mono, .run_id = xstrdup(run_id), .node = node};
    while (i > 0 && e->timers[(i - 1) / 2].due_mono > e->timers[i].due_mono) {
        swap(&e->timers[(i - 1) / 2], &e->timers[i]);
        i = (i - 1) / 2;
    }
}

uint64_t eng_timer_next(const Engine *e) { return e->n_timers ? e->timers[0].due_mono : 0; }

static EngTimer pop(Engine *e)
{
    EngTimer top = e->timers[0];
    e->timers[0] = e->timers[--e->n_timers];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < e->n_timers && e->timers[l].due_mono < e->timers[m].due_mono)
            m = l;
        if (r < e->n_timers && e->timers[r].due_mono < e->timers[m].due_mono)
            m = r;
        if (m == i)
            break;
        swap(&e->timers[i], &e->timers[m]);
        i = m;
    }
    return top;
}

static void fire(Engine *e, const EngTimer *t)
{
    EngRun *r = eng_runs_find(e, t->run_id);

    if (!r || r->finished_ns)
        return;
    if (t->node < 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "the run exceeded its timeout of %u s", r->wf->timeout_s);
        eng_run_cancel(e, r, FK(TIMEOUT), msg);
        return;
    }
    EngNodeState *ns = &r->ns[t->node];
    if (ns->waiting && ns->status == NS_PENDING) {
        ns->waiting = false;
        eng_ready_push(e, r, (uint32_t)t->node);
    }
}

void eng_timers_fire(Engine *e)
{
    uint64_t now = now_mono_ns();
    while (e->n_timers && e->timers[0].due_mono <= now) {
        EngTimer t = pop(e);
        fire(e, &t);
        free(t.run_id);
    }
}
