/* Circuit breakers, shared by the nodes of a tenant that name the same
 * circuit key. Closed: attempts run; after `threshold` consecutive failures
 * the circuit opens. Open: attempts fail at once with CIRCUIT_OPEN (a
 * fallback applies); after the cool-down one trial attempt runs (half-open):
 * its success closes the circuit, its failure opens it again. */
#include <string.h>

#include "server/engine/eng-internal.h"

typedef struct EngCircuit {
    char *key; /* tenant "/" circuit */
    EngCircuitState state;
    uint32_t failures;
    uint64_t opened_mono;
    bool trial_running;
} EngCircuit;

static const char *const state_names[_CIRCUIT_STATE_MAX] = {
    [CIRCUIT_CLOSED] = "closed",
    [CIRCUIT_HALF_OPEN] = "half-open",
    [CIRCUIT_OPEN] = "open",
};

const char *eng_circuit_state_name(EngCircuitState s)
{
    return s >= 0 && s < _CIRCUIT_STATE_MAX ? state_names[s] : "?";
}

static EngCircuit *circuit_of(Engine *e, const EngRun *r, const EngNode *n)
{
    char key[512];
    uint32_t i;

    if (!n->circuit)
        return NULL;
    snprintf(key, sizeof(key), "%s/%s", r->tenant, n->circuit);
    if (strmap_get(&e->circuit_index, key, &i))
        return e->circuits[i];
    EngCircuit *c = xcalloc(1, sizeof(EngCircuit));
    c->key = xstrdup(key);
    e->circuits = xrealloc(e->circuits, (e->n_circuits + 1) * sizeof(EngCircuit *));
    e->circuits[e->n_circuits] = c;
    strmap_put(&e->circuit_index, c->key, (uint32_t)e->n_circuits++);
    return c;
}

static uint32_t threshold(const Engine *e) { return e->cfg.circuit_threshold ? e->cfg.circuit_threshold : 5; }

static uint64_t cooldown_ns(const Engine *e)
{
    return (uint64_t)(e->cfg.circuit_cooldown_ms ? e->cfg.circuit_cooldown_ms : 30000) * 1000000ull;
}

bool eng_circuit_admit(Engine *e, EngRun *r, uint32_t ni, char **ret_msg)
{
    const EngNode *n = &r->wf->nodes[ni];
    EngCircuit *c = circuit_of(e, r, n);

    r->ns[ni].circuit_trial = false;
    if (!c || c->state == CIRCUIT_CLOSED)
        return true;
    uint64_t now = now_mono_ns();
    if (c->state == CIRCUIT_OPEN && now - c->opened_mono >= cooldown_ns(e) && !c->trial_running) {
        c->state = CIRCUIT_HALF_OPEN;
        met_circuit_state(c->key, MET_CIRCUIT_HALF_OPEN);
        log_info(&(LogCtx){.run = r->id, .node = n->id, .tenant = r->tenant}, "circuit %s half-open: one trial attempt",
                 n->circuit);
    }
    if (c->state == CIRCUIT_HALF_OPEN && !c->trial_running) {
        c->trial_running = true;
        r->ns[ni].circuit_trial = true;
        return true;
    }
    uint64_t left = c->state == CIRCUIT_OPEN ? (cooldown_ns(e) - (now - c->opened_mono)) / 1000000ull : 0;
    *ret_msg = xasprintf("circuit \"%s\" is open after %u consecutive failures; failing fast (next trial in %llu ms)",
                         n->circuit, c->failures, (unsigned long long)left);
    return false;
}

void eng_circuit_result(Engine *e, EngRun *r, uint32_t ni, bool success)
{
    const EngNode *n = &r->wf->nodes[ni];
    EngCircuit *c = circuit_of(e, r, n);
    LogCtx ctx = {.run = r->id, .node = n->id, .tenant = r->tenant};

    if (!c)
        return;
    if (r->ns[ni].circuit_trial)
        c->trial_running = false;
    r->ns[ni].circuit_trial = false;
    if (success) {
        if (c->state != CIRCUIT_CLOSED)
            log_info(&ctx, "circuit %s closed: the trial attempt succeeded", n->circuit);
        c->state = CIRCUIT_CLOSED;
        c->failures = 0;
        met_circuit_state(c->key, MET_CIRCUIT_CLOSED);
        return;
    }
    c->failures++;
    if (c->state == CIRCUIT_HALF_OPEN || (c->state == CIRCUIT_CLOSED && c->failures >= threshold(e))) {
        log_warn(&ctx, "circuit %s open after %u consecutive failures", n->circuit, c->failures);
        c->state = CIRCUIT_OPEN;
        c->opened_mono = now_mono_ns();
        met_circuit_state(c->key, MET_CIRCUIT_OPEN);
    }
}

void eng_circuits_free(Engine *e)
{
    for (size_t i = 0; i < e->n_circuits; i++) {
        free(e->circuits[i]->key);
        free(e->circuits[i]);
    }
    free(e->circuits);
    strmap_free(&e->circuit_index);
}
