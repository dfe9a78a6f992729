/* Sandbox events for attempts: the reader thread's callback copies each event
 * into the engine's inbox; the engine thread turns them into run events and
 * classifies how each attempt ended. */
#include <errno.h>
#include <string.h>

#include "server/engine/eng-internal.h"

void eng_sbx_event(const SbxEvent *ev, void *userdata)
{
    Engine *e = userdata;
    EngMsg *m;

    m = xcalloc(1, sizeof(EngMsg));
    m->type = MSG_SBX;
    m->sbx_type = ev->type;
    m->attempt_id = ev->id;
    if (ev->line)
        m->line = strndup(ev->line, ev->line_len);
    if (ev->type == SBX_EV_DONE && ev->result) {
        m->result = *ev->result;
        m->result.output = NULL;
        if (ev->result->output) {
            char *out = xcalloc(1, ev->result->output_len + 1);
            memcpy(out, ev->result->output, ev->result->output_len);
            m->result.output = out;
        }
        m->result.message = xstrdup(ev->result->message);
    }
    eng_post(e, m);
}

static EngAttempt *attempt_get(Engine *e, uint64_t id)
{
    uint32_t slot = (uint32_t)id, gen = (uint32_t)(id >> 32);
    if (slot >= e->n_attempt_slots)
        return NULL;
    EngAttempt *a = &e->attempts[slot];
    return a->run && a->gen == gen ? a : NULL;
}

void eng_attempt_release(Engine *e, uint64_t id)
{
    EngAttempt *a = attempt_get(e, id);
    if (!a)
        return;
    EngRun *r = a->run;
    a->run = NULL;
    e->free_attempts[e->n_free_attempts++] = (uint32_t)id;
    r->n_running--;
    r->t->running_nodes--;
    eng_tenant_wake(e, r->t);
    e->running--;
    atomic_store(&e->stat_running, e->running);
    /* A finished run waits for its last cancelled attempt before it is freed. */
    if (r->finished_ns)
        eng_touch(e, r);
}

static void on_progress(Engine *e, EngRun *r, uint32_t ni, const char *line)
{
    json_error_t jerr;
    json_t *v = json_loads(line, 0, &jerr);
    const json_t *p = json_object_get(v, "progress"), *msg = json_object_get(v, "message");

    if (json_is_number(p)) {
        double f = json_number_value(p);
        f = f < 0 ? 0 : f > 1 ? 1 : f;
        eng_emit(e, r,
                 &(EngEventArgs){.type = EV(NODE_PROGRESS),
                                 .node = (int)ni,
                                 .attempt = r->ns[ni].attempts,
                                 .progress = f,
                                 .message = json_is_string(msg) ? json_string_value(msg) : NULL});
    }
    json_decref(v);
}

static void on_log(Engine *e, EngRun *r, uint32_t ni, char *line)
{
    EngNodeState *ns = &r->ns[ni];
    eng_emit(e, r, &(EngEventArgs){.type = EV(NODE_LOG), .node = (int)ni, .attempt = ns->attempts, .message = line});
    free(ns->last_log);
    ns->last_log = xstrdup(line);
}

static const int outcome_kind[_SBX_OUTCOME_MAX] = {
    [SBX_OK] = 0,
    [SBX_NONZERO_EXIT] = FK(NONZERO_EXIT),
    [SBX_SIGNALED] = FK(SIGNALED),
    [SBX_OOM_KILLED] = FK(OOM_KILLED),
    [SBX_TIMEOUT] = FK(TIMEOUT),
    [SBX_SANDBOX_VIOLATION] = FK(SANDBOX_VIOLATION),
    [SBX_INVALID_OUTPUT] = FK(INVALID_OUTPUT),
    [SBX_CANCELLED] = FK(CANCELLED),
    [SBX_INTERNAL] = FK(INTERNAL),
};

/* A node's code reports its own failure as {"__flowd_error__": {type,
 * message, line}} on fd 1 with a non-zero exit. */
static bool node_error(const char *output, EngFailure *f)
{
    json_t *v = output ? json_loads(output, 0, NULL) : NULL;
    const json_t *err = json_object_get(v, "__flowd_error__");
    const char *type = json_string_value(json_object_get(err, "type"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    json_int_t line = json_integer_value(json_object_get(err, "line"));

    if (!type) {
        json_decref(v);
        return false;
    }
    int kind = strcmp(type, "InvalidOutput") == 0  ? FK(INVALID_OUTPUT)
               : strcmp(type, "InvalidInput") == 0 ? FK(INVALID_INPUT)
                                                   : FK(NONZERO_EXIT);
    if (line > 0)
        eng_failure_set(f, kind, "%s: %s (line %lld of the node code)", type, msg ? msg : "", (long long)line);
    else
        eng_failure_set(f, kind, "%s: %s", type, msg ? msg : "");
    json_decref(v);
    return true;
}

static void classify(const EngNodeState *ns, const SbxResult *res, EngFailure *f)
{
    if (res->outcome == SBX_NONZERO_EXIT && node_error(res->output, f)) {
        f->exit_code = res->exit_code;
        return;
    }
    int kind = res->outcome < _SBX_OUTCOME_MAX ? outcome_kind[res->outcome] : FK(INTERNAL);
    if (res->outcome == SBX_NONZERO_EXIT && ns->last_log)
        eng_failure_set(f, kind, "%s; last log line: %s", res->message ? res->message : "exited", ns->last_log);
    else
        eng_failure_set(f, kind, "%s", res->message && *res->message ? res->message : sbx_outcome_name(res->outcome));
    f->exit_code = res->exit_code;
    f->signal = res->signal;
    snprintf(f->syscall, sizeof(f->syscall), "%s", res->syscall);
}

/* Parses a successful attempt's output; anything but a JSON object is
 * INVALID_OUTPUT. */
static json_t *parse_output(const SbxResult *res, EngFailure *f)
{
    json_error_t jerr;
    json_t *v = json_loadb(res->output ? res->output : "", res->output ? res->output_len : 0, 0, &jerr);

    if (!v)
        eng_failure_set(f, FK(INVALID_OUTPUT), "the output is not valid JSON: %s (at byte %d)", jerr.text,
                        jerr.position);
    else if (!json_is_object(v)) {
        eng_failure_set(f, FK(INVALID_OUTPUT), "the output must be a JSON object, not %s",
                        json_is_array(v) ? "an array" : "a scalar");
        json_decref(v);
        v = NULL;
    }
    return v;
}

static void remember(Engine *e, EngRun *r, uint32_t ni, const char *text)
{
    const EngNode *n = &r->wf->nodes[ni];
    if (!n->cache_ttl_s || !r->ns[ni].inputs)
        return;
    _cleanup_free_ char *key = eng_cache_key(n, r->ns[ni].inputs);
    eng_cache_store(e, key, text, n->cache_ttl_s);
}

static void succeed(Engine *e, EngRun *r, uint32_t ni, json_t *out, char *text, const SbxUsage *usage)
{
    eng_circuit_result(e, r, ni, true);
    if (!text)
        text = json_dumps(out, JSON_COMPACT);
    remember(e, r, ni, text);
    eng_node_succeeded(e, r, ni, out, text, usage);
}

static void add_usage(SbxUsage *acc, const SbxUsage *u)
{
    acc->peak_memory_bytes =
        u->peak_memory_bytes > acc->peak_memory_bytes ? u->peak_memory_bytes : acc->peak_memory_bytes;
    acc->cpu_user_us += u->cpu_user_us;
    acc->cpu_system_us += u->cpu_system_us;
    acc->wall_us += u->wall_us;
}

/* One chunk of a batch node ended. The node ends when every chunk has: it
 * succeeds with the combined output, or fails with the first failure. */
static void on_chunk_done(Engine *e, EngRun *r, uint32_t ni, uint32_t c, json_t *out, EngFailure *f,
                          const SbxUsage *usage)
{
    EngNodeState *ns = &r->ns[ni];
    EngBatch *b = ns->batch;

    b->running--;
    add_usage(&b->usage, usage);
    if (out && !b->failed) {
        b->outputs[c] = out;
        b->done++;
        char msg[64];
        snprintf(msg, sizeof(msg), "chunk %u of %u done", c + 1, b->n);
        eng_emit(e, r,
                 &(EngEventArgs){.type = EV(NODE_PROGRESS),
                                 .node = (int)ni,
                                 .attempt = ns->attempts,
                                 .progress = (double)b->done / b->n,
                                 .message = msg});
    } else {
        json_decref(out);
        if (!b->failed && f->kind) {
            b->failed = true;
            eng_failure_set(&b->failure, f->kind, "chunk %u of %u: %s", c + 1, b->n, f->message ? f->message : "");
            b->failure.exit_code = f->exit_code;
            b->failure.signal = f->signal;
            memcpy(b->failure.syscall, f->syscall, sizeof(f->syscall));
            for (uint32_t k = 0; k < b->next; k++)
                if (k != c && !b->outputs[k])
                    sbx_cancel(e->cfg.sbx, b->attempt_ids[k]);
        }
        eng_failure_clear(f);
    }
    if (b->running > 0 || (!b->failed && b->done < b->n))
        return;
    SbxUsage total = b->usage;
    if (!b->failed) {
        json_t *combined = eng_batch_combine(b);
        ns->batch = eng_batch_free(b);
        succeed(e, r, ni, combined, NULL, &total);
        return;
    }
    EngFailure first = b->failure;
    b->failure = (EngFailure){0};
    ns->batch = eng_batch_free(b);
    eng_circuit_result(e, r, ni, false);
    eng_node_failed(e, r, ni, &first, &total);
}

static void on_done(Engine *e, EngRun *r, uint32_t ni, int32_t chunk, EngMsg *m)
{
    EngFailure f = {0};
    SbxResult *res = &m->result;
    json_t *out = NULL;

    if (res->outcome == SBX_OOM_KILLED)
        met_oom_kill();
    else if (res->outcome == SBX_SANDBOX_VIOLATION)
        met_sandbox_violation();
    eng_attempt_release(e, m->attempt_id);
    /* Killed by a shutdown past its grace period: the node stays RUNNING in
     * the store and runs again when the server restarts. */
    if (atomic_load(&e->draining) && res->outcome == SBX_CANCELLED && !r->cancelling)
        return;
    if (res->outcome == SBX_OK) {
        out = parse_output(res, &f);
        if (out && r->cancelling) {
            json_decref(out);
            out = NULL;
            eng_failure_set(&f, FK(CANCELLED), "the run was cancelled");
        }
    } else
        classify(&r->ns[ni], res, &f);
    if (chunk >= 0 && r->ns[ni].batch) {
        on_chunk_done(e, r, ni, (uint32_t)chunk, out, &f, &res->usage);
        return;
    }
    const EngNode *node = &r->wf->nodes[ni];
    if (out && node->kind->finish) {
        char *msg = NULL;
        int fr = nodes_finish(node->kind, node->config, &out, &msg);
        if (fr < 0) {
            eng_failure_set(&f, fr == -EINVAL ? FK(INVALID_OUTPUT) : FK(INTERNAL), "%s", msg ? msg : "");
            json_decref(out);
            out = NULL;
        } else {
            succeed(e, r, ni, out, json_dumps(out, JSON_COMPACT), &res->usage);
            free(msg);
            return;
        }
        free(msg);
    }
    if (out) {
        char *text = xcalloc(1, res->output_len + 1);
        memcpy(text, res->output, res->output_len);
        succeed(e, r, ni, out, text, &res->usage);
        return;
    }
    if (f.kind != FK(CANCELLED))
        eng_circuit_result(e, r, ni, false);
    eng_node_failed(e, r, ni, &f, &res->usage);
}

void eng_handle_sbx(Engine *e, EngMsg *m)
{
    EngAttempt *a = attempt_get(e, m->attempt_id);

    if (a) {
        EngRun *r = a->run;
        uint32_t ni = a->node;
        int32_t chunk = a->chunk;
        if (m->sbx_type == SBX_EV_STARTED && a->spawn_mono)
            met_sandbox_spawn((double)(now_mono_ns() - a->spawn_mono) / 1e9);
        else if (m->sbx_type == SBX_EV_PROGRESS && m->line)
            on_progress(e, r, ni, m->line);
        else if (m->sbx_type == SBX_EV_LOG && m->line)
            on_log(e, r, ni, m->line);
        else if (m->sbx_type == SBX_EV_DONE)
            on_done(e, r, ni, chunk, m);
    }
    free(m->line);
    free((char *)m->result.output);
    free((char *)m->result.message);
}
