/* Tenants: concurrent-run and queued-run quotas. A committed run starts
 * when its tenant runs fewer than max_concurrent_runs; otherwise it waits,
 * QUEUED, first in first out. A submission beyond max_queued_runs is
 * refused before it is committed. */
#include <string.h>

#include "server/engine/eng-internal.h"

EngTenant *eng_tenant_get(Engine *e, const char *name)
{
    uint32_t i;

    if (strmap_get(&e->tenant_index, name, &i))
        return e->tenants[i];
    EngTenant *t = xcalloc(1, sizeof(EngTenant));
    t->name = xstrdup(name);
    if (e->cfg.quota)
        e->cfg.quota(name, &t->quota, e->cfg.quota_userdata);
    e->tenants = xrealloc(e->tenants, (e->n_tenants + 1) * sizeof(EngTenant *));
    e->tenants[e->n_tenants] = t;
    strmap_put(&e->tenant_index, t->name, (uint32_t)e->n_tenants);
    e->n_tenants++;
    return t;
}

void eng_tenants_free(Engine *e)
{
    for (size_t i = 0; i < e->n_tenants; i++) {
        free(e->tenants[i]->name);
        free(e->tenants[i]);
    }
    free(e->tenants);
    strmap_free(&e->tenant_index);
}

static bool can_start(const EngTenant *t)
{
    return !t->quota.max_concurrent_runs || t->running_runs < t->quota.max_concurrent_runs;
}

bool eng_tenant_can_queue(Engine *e, const char *tenant)
{
    EngTenant *t = eng_tenant_get(e, tenant);
    return can_start(t) || !t->quota.max_queued_runs || t->queued_runs < t->quota.max_queued_runs;
}

void eng_tenant_admit(Engine *e, EngRun *r)
{
    EngTenant *t = eng_tenant_get(e, r->tenant);

    r->t = t;
    if (r->status == RS_RUNNING || can_start(t)) {
        t->running_runs++;
        if (r->status == RS_QUEUED)
            eng_start_run(e, r);
        return;
    }
    t->queued_runs++;
    atomic_fetch_add(&e->stat_queued, 1);
    r->queue_next = NULL;
    if (t->queue_tail)
        t->queue_tail->queue_next = r;
    else
        t->queue_head = r;
    t->queue_tail = r;
}

/* Unlinks a queued run (cancelled before it started). */
static void unqueue(Engine *e, EngTenant *t, EngRun *r)
{
    EngRun **p = &t->queue_head, *prev = NULL;
    while (*p && *p != r) {
        prev = *p;
        p = &(*p)->queue_next;
    }
    if (!*p)
        return;
    *p = r->queue_next;
    if (t->queue_tail == r)
        t->queue_tail = prev;
    t->queued_runs--;
    atomic_fetch_sub(&e->stat_queued, 1);
}

void eng_tenant_run_done(Engine *e, EngRun *r)
{
    EngTenant *t = r->t;

    if (!t)
        return;
    if (r->started_ns == 0) {
        unqueue(e, t, r);
        return;
    }
    t->running_runs--;
    while (t->queue_head && can_start(t)) {
        EngRun *next = t->queue_head;
        t->queue_head = next->queue_next;
        if (!t->queue_head)
            t->queue_tail = NULL;
        t->queued_runs--;
        atomic_fetch_sub(&e->stat_queued, 1);
        t->running_runs++;
        eng_start_run(e, next);
    }
}
