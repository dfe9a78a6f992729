/* eng.h: the engine: run state, the DAG scheduler, retries and timers,
 * events. One engine thread owns every active run; the RPC threads talk to it
 * through a queue and read committed state from the store.
 *
 * Event flow: the engine assigns each event the run's next seq, writes it to
 * the store in the loop turn's transaction, and only after that commit wakes
 * the watchers of the run, which read the events back from the store. So a
 * client never sees an event that a crash could take back. */
#ifndef FLOWD_ENG_H
#define FLOWD_ENG_H

#include <stdbool.h>
#include <stdint.h>

#include "flowd/v1/service.pb-c.h"
#include "sandbox/sbx.h"
#include "server/engine/eng-workflow.h"
#include "server/store/store.h"
#include "server/util/diag.h"

typedef struct Engine Engine;

/* Looks up a secret's value for a node: NULL when absent. The returned
 * string is owned by the source. */
typedef const char *(*EngSecretFn)(const char *tenant, const char *name, void *userdata);

typedef struct EngCaller {
    const char *user;
    const char *tenant;
    /* Ceilings from the tenant's quota; 0 = none. */
    uint32_t max_memory_mb;
    uint32_t max_cpu_millis;
    uint32_t max_pids;
    uint32_t max_timeout_s;
    uint32_t max_concurrent_runs;
    uint32_t max_queued_runs;
    uint32_t max_running_nodes;
} EngCaller;

typedef struct EngConfig {
    Store *store;
    SbxPool *sbx;
    unsigned max_workers;   /* concurrent attempts over all runs */
    EngLimits limits;       /* validation limits and node defaults */
    uint32_t max_output_mb; /* per attempt */
    EngSecretFn secret;
    void *secret_userdata;
    /* Circuit breakers: consecutive failures that open a circuit, and the
     * time it stays open before one trial attempt (half-open). */
    uint32_t circuit_threshold;
    uint32_t circuit_cooldown_ms;
    /* Finished runs older than this are purged in the background; 0: never. */
    uint32_t retention_days;
    /* The quota of a tenant (NULL: no quotas). */
    void (*quota)(const char *tenant, EngCaller *ret, void *userdata);
    void *quota_userdata;
    /* Rewrites text users see (events, outputs, dead letters) to hide
     * secret values; returns a new string or NULL when nothing changed. */
    char *(*scrub)(const char *s);
} EngConfig;

typedef struct EngSubmit {
    const Flowd__V1__Workflow *workflow;
    const char *inputs_json; /* NULL or "" for none */
    const char *idempotency_key;
    const char *labels_json; /* {"k":"v"} or NULL */
    const EngCaller *caller;
    const char *retry_of; /* the dead letter this run re-runs, or NULL */
} EngSubmit;

/* Creates the engine; nothing runs until eng_start. */
int eng_new(const EngConfig *cfg, Engine **ret);
/* Starts the sandbox's event delivery, recovers unfinished runs from the
 * store and starts the engine thread. */
int eng_start(Engine *e);
/* Stops taking submissions (-ESHUTDOWN), waits up to grace_ms for running
 * attempts, then kills them; their runs stay RUNNING in the store and
 * resume at the next start. */
void eng_drain(Engine *e, uint32_t grace_ms);
/* Stops the engine thread; call before stopping the sandbox, whose reader
 * thread may still deliver events until then. */
void eng_stop(Engine *e);
Engine *eng_free(Engine *e);

/* Validates a workflow for a caller; every problem goes to d. Returns 0 or
 * -EINVAL. */
int eng_validate(Engine *e, const Flowd__V1__Workflow *wf, const EngCaller *caller, Diags *d);

/* Validates and submits a run, returning once it is committed. Returns 0;
 * -EINVAL with diagnostics; -EDQUOT over the tenant's queued-runs quota;
 * -ESHUTDOWN while draining; -EIO when the store cannot write. */
int eng_submit(Engine *e, const EngSubmit *s, char **ret_run_id, bool *ret_deduplicated, Diags *d);

/* Cancels a run of the tenant (NULL: any tenant) and waits briefly for it to
 * end. -ENOENT when there is no such active run. */
int eng_cancel(Engine *e, const char *run_id, const char *tenant, const char *reason);

/* Submits a run that re-runs a dead letter's node with its stored inputs. */
int eng_retry_dead_letter(Engine *e, const char *id, const EngCaller *caller, char **ret_run_id, Diags *d);

/* Watchers: fn is called (on the engine thread, so it must only wake
 * something up) whenever new events of run_id are committed. */
typedef void (*EngNotifyFn)(void *ctx);
typedef struct EngWatch EngWatch;
EngWatch *eng_watch_add(Engine *e, const char *run_id, EngNotifyFn fn, void *ctx);
void eng_watch_remove(Engine *e, EngWatch *w);

typedef struct EngStats {
    unsigned active_runs;
    unsigned queued_runs;
    unsigned running_attempts;
    bool draining;
    bool store_ok;
} EngStats;

void eng_stats(Engine *e, EngStats *ret);

/* Names for logs and messages. */
const char *eng_failure_kind_name(int kind);

#endif
