/* Events and the write batch. Every change of a turn is buffered in memory
 * and written by eng_flush in one transaction; watchers are woken only after
 * the commit. A failed commit (disk full) keeps the batch and retries it, so
 * the store and what clients saw never diverge. */
#include <errno.h>
#include <string.h>

#include "server/engine/eng-internal.h"

static void pack_blob(const ProtobufCMessage *m, StoreBlob *ret)
{
    ret->len = protobuf_c_message_get_packed_size(m);
    ret->data = xcalloc(1, ret->len);
    protobuf_c_message_pack(m, ret->data);
}

void eng_pack_failure(const EngFailure *f, StoreBlob *ret)
{
    Flowd__V1__Failure pb = FLOWD__V1__FAILURE__INIT;

    *ret = (StoreBlob){0};
    if (!f || !f->kind)
        return;
    pb.kind = f->kind;
    pb.message = f->message ? f->message : "";
    pb.exit_code = f->exit_code;
    pb.signal = f->signal;
    pb.syscall = (char *)f->syscall;
    pack_blob(&pb.base, ret);
}

void eng_pack_usage(const SbxUsage *u, StoreBlob *ret)
{
    Flowd__V1__ResourceUsage pb = FLOWD__V1__RESOURCE_USAGE__INIT;

    *ret = (StoreBlob){0};
    if (!u || (!u->wall_us && !u->peak_memory_bytes))
        return;
    pb.peak_memory_bytes = u->peak_memory_bytes;
    pb.cpu_user_us = u->cpu_user_us;
    pb.cpu_system_us = u->cpu_system_us;
    pb.wall_us = u->wall_us;
    pack_blob(&pb.base, ret);
}

void eng_touch(Engine *e, EngRun *r)
{
    if (r->touched)
        return;
    if (e->n_touched == e->touched_cap) {
        e->touched_cap = e->touched_cap ? e->touched_cap * 2 : 64;
        e->touched = xrealloc(e->touched, e->touched_cap * sizeof(EngRun *));
    }
    e->touched[e->n_touched++] = r;
    r->touched = true;
}

void eng_node_dirty(Engine *e, EngRun *r, uint32_t ni)
{
    if (!r->ns[ni].dirty) {
        r->ns[ni].dirty = true;
        r->dirty_nodes[r->n_dirty++] = ni;
    }
    eng_touch(e, r);
}

void eng_run_dirty(Engine *e, EngRun *r)
{
    r->dirty = true;
    eng_touch(e, r);
}

static void fill_event_failure(Flowd__V1__Failure *pb, const EngFailure *f)
{
    pb->kind = f->kind;
    pb->message = f->message ? f->message : "";
    pb->exit_code = f->exit_code;
    pb->signal = f->signal;
    pb->syscall = (char *)f->syscall;
}

char *eng_scrub(const Engine *e, const char *s) { return e->cfg.scrub && s ? e->cfg.scrub(s) : NULL; }

void eng_event_append(Engine *e, EngRun *r, const EngEventArgs *a)
{
    Flowd__V1__RunEvent ev = FLOWD__V1__RUN_EVENT__INIT;
    Flowd__V1__Failure failure = FLOWD__V1__FAILURE__INIT;
    Flowd__V1__ResourceUsage usage = FLOWD__V1__RESOURCE_USAGE__INIT;
    EngEventBuf *b = &r->events;

    ev.run_id = r->id;
    ev.seq = r->next_seq++;
    ev.time_unix_nano = now_unix_ns();
    ev.type = a->type;
    ev.node_id = a->node >= 0 ? r->wf->nodes[a->node].id : "";
    ev.attempt = a->attempt;
    ev.progress = a->progress;
    _cleanup_free_ char *msg = eng_scrub(e, a->message);
    _cleanup_free_ char *fmsg = a->failure ? eng_scrub(e, a->failure->message) : NULL;
    ev.message = (char *)(msg ? msg : a->message ? a->message : "");
    ev.output_json = (char *)(a->output_json ? a->output_json : "");
    ev.run_status = r->status;
    if (a->failure && a->failure->kind) {
        fill_event_failure(&failure, a->failure);
        if (fmsg)
            failure.message = fmsg;
        ev.failure = &failure;
    }
    if (a->usage) {
        usage.peak_memory_bytes = a->usage->peak_memory_bytes;
        usage.cpu_user_us = a->usage->cpu_user_us;
        usage.cpu_system_us = a->usage->cpu_system_us;
        usage.wall_us = a->usage->wall_us;
        ev.usage = &usage;
    }
    if (b->len == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 8;
        b->items = xrealloc(b->items, b->cap * sizeof(StoreEvent));
    }
    StoreEvent *se = &b->items[b->len++];
    se->seq = ev.seq;
    se->type = a->type;
    pack_blob(&ev.base, &se->event);
}

void eng_emit(Engine *e, EngRun *r, const EngEventArgs *a)
{
    eng_event_append(e, r, a);
    eng_touch(e, r);
}

void eng_run_row(const EngRun *r, StoreRun *ret)
{
    *ret = (StoreRun){
        .run_id = r->id,
        .tenant = r->tenant,
        .owner = r->owner,
        .workflow_name = r->wf->name,
        .status = r->status,
        .degraded = r->degraded,
        .created_ns = r->created_ns,
        .started_ns = r->started_ns,
        .finished_ns = r->finished_ns,
        .workflow = r->workflow_pb,
        .labels_json = r->labels_json,
        .idempotency_key = r->idem_key,
        .last_seq = r->next_seq - 1,
    };
}

static int write_node(Engine *e, EngRun *r, uint32_t ni, StoreError *err)
{
    EngNodeState *ns = &r->ns[ni];
    StoreNode row = {.node_id = r->wf->nodes[ni].id, .status = ns->status, .attempts = ns->attempts};

    eng_pack_failure(&ns->failure, &row.failure);
    eng_pack_usage(&ns->usage, &row.usage);
    row.output_json = ns->status == NS_SUCCEEDED ? ns->output_text : NULL;
    int ret = e->cfg.store->ops->node_put(e->cfg.store, r->id, &row, err);
    free(row.failure.data);
    free(row.usage.data);
    return ret;
}

static int write_run(Engine *e, EngRun *r, StoreError *err)
{
    StoreRun row;
    int ret;

    eng_run_row(r, &row);
    row.outputs_json = r->outputs_json;
    eng_pack_failure(&r->failure, &row.failure);
    ret = e->cfg.store->ops->run_update(e->cfg.store, &row, err);
    free(row.failure.data);
    return ret;
}

static int write_touched(Engine *e, EngRun *r, StoreError *err)
{
    const StoreOps *ops = e->cfg.store->ops;
    int ret;

    for (size_t k = 0; k < r->events.len; k++)
        if ((ret = ops->event_put(e->cfg.store, r->id, &r->events.items[k], err)) < 0)
            return ret;
    for (size_t k = 0; k < r->n_dirty; k++)
        if ((ret = write_node(e, r, r->dirty_nodes[k], err)) < 0)
            return ret;
    if (r->dirty && (ret = write_run(e, r, err)) < 0)
        return ret;
    return 0;
}

static int write_batch(Engine *e, StoreError *err)
{
    Store *s = e->cfg.store;
    int ret;

    if ((ret = s->ops->begin(s, err)) < 0)
        return ret;
    for (size_t i = 0; i < e->n_touched; i++)
        if ((ret = write_touched(e, e->touched[i], err)) < 0)
            goto fail;
    for (size_t i = 0; i < e->n_dead_letters; i++)
        if ((ret = s->ops->dead_letter_put(s, &e->dead_letters[i], err)) < 0)
            goto fail;
    if ((ret = eng_cache_flush(e, err)) < 0)
        goto fail;
    uint64_t t0 = now_mono_ns();
    if ((ret = s->ops->commit(s, err)) < 0)
        return ret;
    met_store_write((double)(now_mono_ns() - t0) / 1e9);
    return 0;
fail:
    s->ops->rollback(s);
    return ret;
}

static void batch_done(Engine *e)
{
    for (size_t i = 0; i < e->n_touched; i++) {
        EngRun *r = e->touched[i];
        bool had_events = r->events.len > 0;
        store_events_free(r->events.items, r->events.len);
        r->events = (EngEventBuf){0};
        for (size_t k = 0; k < r->n_dirty; k++)
            r->ns[r->dirty_nodes[k]].dirty = false;
        r->n_dirty = 0;
        r->dirty = false;
        r->touched = false;
        if (had_events)
            eng_watch_notify(e, r->id);
        if (r->finished_ns && r->n_running == 0) {
            eng_runs_remove(e, r);
            eng_run_free(r);
        }
    }
    e->n_touched = 0;
    for (size_t i = 0; i < e->n_dead_letters; i++)
        store_dead_letter_clear(&e->dead_letters[i]);
    e->n_dead_letters = 0;
    eng_cache_clear(e);
}

int eng_flush(Engine *e)
{
    StoreError err = {0};

    if (e->n_touched == 0 && e->n_dead_letters == 0 && e->n_cache_puts == 0)
        return 0;
    int ret = write_batch(e, &err);
    if (ret < 0) {
        if (atomic_exchange(&e->store_ok, false))
            log_error(NULL, "store write failed, holding %zu runs' changes and retrying: %s", e->n_touched,
                      err.msg[0] ? err.msg : strerror(-ret));
        return ret;
    }
    if (!atomic_exchange(&e->store_ok, true))
        log_info(NULL, "store writes work again");
    batch_done(e);
    return 0;
}
