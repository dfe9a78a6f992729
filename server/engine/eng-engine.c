/* The engine thread and its inbox. Each loop turn takes every message in
 * the inbox, commits new runs (group commit), applies sandbox events and
 * cancels, fires due timers, schedules ready nodes, writes the turn's changes
 * in one transaction, wakes watchers, and only then starts the sandboxes. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "server/engine/eng-data.h"
#include "server/engine/eng-internal.h"

void eng_waiter_init(EngWaiter *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->done = false;
    w->result = 0;
}

void eng_waiter_wait(EngWaiter *w)
{
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

void eng_waiter_done(EngWaiter *w, int result)
{
    pthread_mutex_lock(&w->mu);
    w->result = result;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void eng_waiter_destroy(EngWaiter *w)
{
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

void eng_post(Engine *e, EngMsg *m)
{
    pthread_mutex_lock(&e->mu);
    m->next = NULL;
    if (e->inbox_tail)
        e->inbox_tail->next = m;
    else
        e->inbox_head = m;
    e->inbox_tail = m;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

void eng_limits_for(const Engine *e, const EngCaller *c, EngLimits *ret)
{
    *ret = e->cfg.limits;
    if (!c)
        return;
    if (c->max_memory_mb)
        ret->max_memory_mb = c->max_memory_mb;
    if (c->max_cpu_millis)
        ret->max_cpu_millis = c->max_cpu_millis;
    if (c->max_pids)
        ret->max_pids = c->max_pids;
    if (c->max_timeout_s)
        ret->max_timeout_s = c->max_timeout_s;
}

int eng_new(const EngConfig *cfg, Engine **ret)
{
    Engine *e = xcalloc(1, sizeof(Engine));

    e->cfg = *cfg;
    if (!e->cfg.max_workers)
        e->cfg.max_workers = 4;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    eng_watch_init(e);
    strmap_init(&e->run_index, 64);
    strmap_init(&e->tenant_index, 16);
    strmap_init(&e->circuit_index, 16);
    e->n_attempt_slots = e->cfg.max_workers;
    e->attempts = xcalloc(e->n_attempt_slots, sizeof(EngAttempt));
    e->free_attempts = xcalloc(e->n_attempt_slots, sizeof(uint32_t));
    for (uint32_t i = e->n_attempt_slots; i-- > 0;)
        e->free_attempts[e->n_free_attempts++] = i;
    atomic_store(&e->store_ok, true);
    *ret = e;
    return 0;
}

static EngMsg *take_inbox(Engine *e)
{
    pthread_mutex_lock(&e->mu);
    while (!e->inbox_head && !e->stop) {
        uint64_t due = eng_timer_next(e);
        if (e->flush_retry_mono && (!due || e->flush_retry_mono < due))
            due = e->flush_retry_mono;
        if (e->cfg.retention_days && e->next_purge_mono && (!due || e->next_purge_mono < due))
            due = e->next_purge_mono;
        if (!due) {
            pthread_cond_wait(&e->cv, &e->mu);
            continue;
        }
        uint64_t now = now_mono_ns();
        if (due <= now)
            break;
        /* The condition variable waits on CLOCK_REALTIME; convert the gap. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t abs = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + (due - now);
        ts.tv_sec = (time_t)(abs / 1000000000ull);
        ts.tv_nsec = (long)(abs % 1000000000ull);
        pthread_cond_timedwait(&e->cv, &e->mu, &ts);
        break;
    }
    EngMsg *head = e->inbox_head;
    e->inbox_head = e->inbox_tail = NULL;
    pthread_mutex_unlock(&e->mu);
    return head;
}

/* A dedup within one turn: an earlier submit of this turn with the same
 * tenant and key. */
static EngMsg *same_key(EngMsg *first, EngMsg *m)
{
    for (EngMsg *o = first; o && o != m; o = o->next)
        if (o->type == MSG_SUBMIT && o->run && o->run->idem_key && !o->dedup_run_id &&
            strcmp(o->run->idem_key, m->run->idem_key) == 0 && strcmp(o->run->tenant, m->run->tenant) == 0)
            return o;
    return NULL;
}

static int insert_run(Engine *e, EngMsg *first, EngMsg *m, StoreError *err)
{
    Store *s = e->cfg.store;
    EngRun *r = m->run;
    StoreRun row;
    char *existing = NULL;

    if (r->idem_key && *r->idem_key) {
        EngMsg *o = same_key(first, m);
        if (o || s->ops->idem_lookup(s, r->tenant, r->idem_key, &existing) == 0) {
            m->dedup_run_id = o ? xstrdup(o->run->id) : existing;
            return 0;
        }
    }
    if (!eng_tenant_can_queue(e, r->tenant)) {
        m->result_code = -EDQUOT;
        return 0;
    }
    eng_run_row(r, &row);
    row.last_seq = 0;
    _cleanup_free_ char *inputs = json_dumps(r->inputs, JSON_COMPACT);
    row.inputs_json = inputs;
    eng_event_append(e, r, &(EngEventArgs){.type = EV(RUN_QUEUED), .node = -1, .message = "accepted"});
    int ret = s->ops->run_insert(s, &row, err);
    if (ret == 0)
        ret = s->ops->event_put(s, r->id, &r->events.items[0], err);
    if (ret == 0 && r->retry_of)
        ret = s->ops->dead_letter_mark_retried(s, r->retry_of, r->id, err);
    return ret;
}

/* Commits every submission of the turn in one transaction; a failure fails
 * them all with -EIO and nothing of them is visible. */
static void handle_submits(Engine *e, EngMsg *first)
{
    Store *s = e->cfg.store;
    StoreError err = {0};
    int ret = s->ops->begin(s, &err);

    for (EngMsg *m = first; m && ret == 0; m = m->next)
        if (m->type == MSG_SUBMIT)
            ret = insert_run(e, first, m, &err);
    if (ret == 0)
        ret = s->ops->commit(s, &err);
    else
        s->ops->rollback(s);
    if (ret < 0)
        log_error(NULL, "could not commit new runs: %s", err.msg[0] ? err.msg : strerror(-ret));
    for (EngMsg *m = first; m; m = m->next) {
        if (m->type != MSG_SUBMIT)
            continue;
        EngRun *r = m->run;
        m->run = NULL;
        if (ret < 0 || m->dedup_run_id || m->result_code < 0) {
            eng_run_free(r);
            if (ret < 0)
                m->result_code = -EIO;
            continue;
        }
        store_events_free(r->events.items, r->events.len);
        r->events = (EngEventBuf){0};
        free(r->workflow_pb.data);
        r->workflow_pb = (StoreBlob){0};
        eng_runs_add(e, r);
        eng_watch_notify(e, r->id);
        eng_tenant_admit(e, r);
        m->result_code = 0;
    }
}

static void handle_cancel(Engine *e, EngMsg *m)
{
    EngRun *r = eng_runs_find(e, m->run_id);

    if (!r || r->finished_ns || (m->tenant && strcmp(m->tenant, r->tenant) != 0)) {
        m->result_code = -ENOENT;
        return;
    }
    log_info(&(LogCtx){.run = r->id, .tenant = r->tenant}, "cancelling run: %s", m->reason);
    eng_run_cancel(e, r, FK(CANCELLED), m->reason);
    m->result_code = 0;
}

static void drain_kill_all(Engine *e)
{
    for (uint32_t i = 0; i < e->n_attempt_slots; i++)
        if (e->attempts[i].run)
            sbx_cancel(e->cfg.sbx, ((uint64_t)e->attempts[i].gen << 32) | i);
}

static void handle_messages(Engine *e, EngMsg *first)
{
    for (EngMsg *m = first; m; m = m->next) {
        if (m->type == MSG_SBX)
            eng_handle_sbx(e, m);
        else if (m->type == MSG_CANCEL)
            handle_cancel(e, m);
        else if (m->type == MSG_DRAIN)
            drain_kill_all(e);
    }
}

/* Waiters are released after the flush: a cancel's caller must see the
 * cancellation committed. Messages without waiters are freed here. */
static void finish_messages(EngMsg *first)
{
    while (first) {
        EngMsg *m = first;
        first = m->next;
        if (m->waiter)
            eng_waiter_done(m->waiter, m->result_code);
        else
            free(m);
    }
}

/* Retention: finished runs older than retention_days go, a few hundred per
 * small transaction, a few transactions per minute, so the engine thread is
 * never held long. */
static void purge_old_runs(Engine *e)
{
    uint64_t now = now_mono_ns();
    StoreError err = {0};
    unsigned purged = 0, total = 0;

    if (!e->cfg.retention_days || now < e->next_purge_mono || e->n_touched)
        return;
    e->next_purge_mono = now + 60ull * 1000000000ull;
    uint64_t before = now_unix_ns() - (uint64_t)e->cfg.retention_days * 86400ull * 1000000000ull;
    for (int i = 0; i < 10; i++) {
        if (e->cfg.store->ops->purge(e->cfg.store, before, 200, &purged, &err) < 0) {
            log_warn(NULL, "retention purge failed: %s", err.msg);
            return;
        }
        total += purged;
        if (purged < 200)
            break;
    }
    if (total)
        log_info(NULL, "retention: purged %u runs finished more than %u days ago", total, e->cfg.retention_days);
}

static void turn(Engine *e, EngMsg *msgs)
{
    handle_submits(e, msgs);
    handle_messages(e, msgs);
    eng_timers_fire(e);
    bool store_ok = atomic_load(&e->store_ok);
    if (store_ok && !atomic_load(&e->draining))
        eng_schedule(e);
    if (!e->flush_retry_mono || now_mono_ns() >= e->flush_retry_mono) {
        e->flush_retry_mono = 0;
        if (eng_flush(e) < 0)
            e->flush_retry_mono = now_mono_ns() + 500000000ull;
    }
    eng_spawn_all(e);
    finish_messages(msgs);
    purge_old_runs(e);
}

static void *engine_main(void *arg)
{
    Engine *e = arg;

    /* The first turn schedules what recovery made ready. */
    turn(e, NULL);
    for (;;) {
        EngMsg *msgs = take_inbox(e);
        pthread_mutex_lock(&e->mu);
        bool stop = e->stop && !msgs;
        pthread_mutex_unlock(&e->mu);
        if (stop)
            break;
        turn(e, msgs);
    }
    return NULL;
}

int eng_start(Engine *e)
{
    int r = sbx_pool_start(e->cfg.sbx, eng_sbx_event, e);
    if (r < 0)
        return r;
    r = eng_recover(e);
    if (r < 0)
        return r;
    r = pthread_create(&e->thread, NULL, engine_main, e);
    if (r != 0)
        return -r;
    e->started = true;
    return 0;
}

static void free_run_inputs(json_t *inputs) { json_decref(inputs); }

int eng_validate(Engine *e, const Flowd__V1__Workflow *wf, const EngCaller *caller, Diags *d)
{
    EngLimits lim;
    EngWorkflow *built = NULL;

    eng_limits_for(e, caller, &lim);
    int r = eng_workflow_build(wf, &lim, &built, d);
    eng_workflow_free(built);
    return r;
}

static json_t *parse_inputs(const char *text, const EngLimits *lim, Diags *d)
{
    json_error_t jerr;

    if (!text || !*text)
        return json_object();
    if (strlen(text) > lim->max_json_bytes) {
        diags_add(d, "inputs", "are %zu bytes, more than the limit of %zu", strlen(text), lim->max_json_bytes);
        return NULL;
    }
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!v)
        diags_add(d, "inputs", "are not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
    else if (json_depth(v) > lim->max_json_depth + 1) {
        diags_add(d, "inputs", "are nested deeper than the limit of %zu levels", lim->max_json_depth);
        json_decref(v);
        v = NULL;
    }
    return v;
}

static EngRun *prepare_run(Engine *e, const EngSubmit *s, Diags *d)
{
    EngLimits lim;
    EngWorkflow *wf = NULL;

    eng_limits_for(e, s->caller, &lim);
    size_t before = d->len;
    int ret = eng_workflow_build(s->workflow, &lim, &wf, d);
    json_t *inputs = parse_inputs(s->inputs_json, &lim, d);
    if (ret == 0 && inputs)
        eng_check_run_inputs(wf, inputs, d);
    if (d->len > before || d->dropped) {
        eng_workflow_free(wf);
        free_run_inputs(inputs);
        return NULL;
    }
    _cleanup_free_ char *id = new_id("r-");
    EngRun *r = eng_run_new(id, wf);
    r->inputs = inputs;
    r->tenant = xstrdup(s->caller && s->caller->tenant ? s->caller->tenant : "local");
    r->owner = xstrdup(s->caller && s->caller->user ? s->caller->user : "local");
    r->labels_json = xstrdup(s->labels_json && *s->labels_json ? s->labels_json : "{}");
    r->idem_key = xstrdup(s->idempotency_key && *s->idempotency_key ? s->idempotency_key : NULL);
    r->retry_of = xstrdup(s->retry_of);
    r->created_ns = now_unix_ns();
    r->workflow_pb.len = protobuf_c_message_get_packed_size(&s->workflow->base);
    r->workflow_pb.data = xcalloc(1, r->workflow_pb.len);
    protobuf_c_message_pack(&s->workflow->base, r->workflow_pb.data);
    return r;
}

int eng_submit(Engine *e, const EngSubmit *s, char **ret_run_id, bool *ret_deduplicated, Diags *d)
{
    if (atomic_load(&e->draining))
        return -ESHUTDOWN;
    EngRun *r = prepare_run(e, s, d);
    if (!r)
        return -EINVAL;
    _cleanup_free_ char *id = xstrdup(r->id);
    EngWaiter w;
    EngMsg m = {.type = MSG_SUBMIT, .run = r, .waiter = &w};

    eng_waiter_init(&w);
    eng_post(e, &m);
    eng_waiter_wait(&w);
    eng_waiter_destroy(&w);
    if (w.result < 0)
        return w.result;
    *ret_deduplicated = m.dedup_run_id != NULL;
    *ret_run_id = m.dedup_run_id ? m.dedup_run_id : TAKE_PTR(id);
    return 0;
}

int eng_cancel(Engine *e, const char *run_id, const char *tenant, const char *reason)
{
    EngWaiter w;
    EngMsg m = {.type = MSG_CANCEL,
                .waiter = &w,
                .run_id = (char *)run_id,
                .tenant = (char *)tenant,
                .reason = (char *)(reason && *reason ? reason : "cancelled by request")};

    eng_waiter_init(&w);
    eng_post(e, &m);
    eng_waiter_wait(&w);
    eng_waiter_destroy(&w);
    return w.result;
}

void eng_drain(Engine *e, uint32_t grace_ms)
{
    atomic_store(&e->draining, true);
    uint64_t deadline = now_mono_ns() + (uint64_t)grace_ms * 1000000ull;
    while (atomic_load(&e->stat_running) > 0 && now_mono_ns() < deadline) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&e->stat_running) > 0) {
        log_warn(NULL, "shutdown grace period over: killing %u running attempts; their runs resume at the next start",
                 atomic_load(&e->stat_running));
        EngMsg *m = xcalloc(1, sizeof(EngMsg));
        m->type = MSG_DRAIN;
        eng_post(e, m);
    }
}

void eng_stop(Engine *e)
{
    if (!e->started)
        return;
    pthread_mutex_lock(&e->mu);
    e->stop = true;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL);
    e->started = false;
}

Engine *eng_free(Engine *e)
{
    if (!e)
        return NULL;
    eng_stop(e);
    for (EngMsg *m = e->inbox_head; m;) {
        EngMsg *next = m->next;
        if (!m->waiter) {
            free(m->line);
            free((char *)m->result.output);
            free((char *)m->result.message);
            free(m);
        }
        m = next;
    }
    for (size_t i = 0; i < e->runs_cap; i++)
        if (e->runs && e->runs[i])
            eng_run_free(e->runs[i]);
    for (size_t i = 0; i < e->n_timers; i++)
        free(e->timers[i].run_id);
    for (size_t i = 0; i < e->n_dead_letters; i++)
        store_dead_letter_clear(&e->dead_letters[i]);
    free(e->dead_letters);
    free(e->timers);
    free(e->runs);
    free(e->free_slots);
    free(e->attempts);
    free(e->free_attempts);
    free(e->touched);
    free(e->spawns);
    free(e->stack);
    strmap_free(&e->run_index);
    eng_tenants_free(e);
    eng_circuits_free(e);
    eng_cache_clear(e);
    free(e->cache_puts);
    eng_watch_destroy(e);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
    return NULL;
}

void eng_stats(Engine *e, EngStats *ret)
{
    *ret = (EngStats){
        .active_runs = atomic_load(&e->stat_active),
        .queued_runs = atomic_load(&e->stat_queued),
        .running_attempts = atomic_load(&e->stat_running),
        .draining = atomic_load(&e->draining),
        .store_ok = atomic_load(&e->store_ok),
    };
}

static const char *const failure_kind_names[] = {
    [FK(KIND_UNSPECIFIED)] = "NONE",
    [FK(NONZERO_EXIT)] = "NONZERO_EXIT",
    [FK(SIGNALED)] = "SIGNALED",
    [FK(OOM_KILLED)] = "OOM_KILLED",
    [FK(TIMEOUT)] = "TIMEOUT",
    [FK(SANDBOX_VIOLATION)] = "SANDBOX_VIOLATION",
    [FK(INVALID_OUTPUT)] = "INVALID_OUTPUT",
    [FK(INVALID_INPUT)] = "INVALID_INPUT",
    [FK(CIRCUIT_OPEN)] = "CIRCUIT_OPEN",
    [FK(CANCELLED)] = "CANCELLED",
    [FK(INTERNAL)] = "INTERNAL",
};

const char *eng_failure_kind_name(int kind)
{
    return kind >= 0 && (size_t)kind < ELEMENTSOF(failure_kind_names) && failure_kind_names[kind]
               ? failure_kind_names[kind]
               : "UNKNOWN";
}
