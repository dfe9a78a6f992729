/* eng-internal.h: the engine's private state, shared by its files. Everything
 * here except the inbox and the watcher table is owned by the engine thread. */
#ifndef FLOWD_ENG_INTERNAL_H
#define FLOWD_ENG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "server/engine/eng.h"
#include "server/metrics/met-flowd.h"
#include "server/util/log.h"

/* Values of flowd.v1.NodeRun.Status, Run.Status, RunEvent.Type, Failure.Kind. */
#define NS_PENDING FLOWD__V1__NODE_RUN__STATUS__PENDING
#define NS_RUNNING FLOWD__V1__NODE_RUN__STATUS__RUNNING
#define NS_SUCCEEDED FLOWD__V1__NODE_RUN__STATUS__SUCCEEDED
#define NS_FAILED FLOWD__V1__NODE_RUN__STATUS__FAILED
#define NS_SKIPPED FLOWD__V1__NODE_RUN__STATUS__SKIPPED
#define NS_CANCELLED FLOWD__V1__NODE_RUN__STATUS__CANCELLED

#define RS_QUEUED FLOWD__V1__RUN__STATUS__QUEUED
#define RS_RUNNING FLOWD__V1__RUN__STATUS__RUNNING
#define RS_SUCCEEDED FLOWD__V1__RUN__STATUS__SUCCEEDED
#define RS_FAILED FLOWD__V1__RUN__STATUS__FAILED
#define RS_CANCELLED FLOWD__V1__RUN__STATUS__CANCELLED

#define EV(name) FLOWD__V1__RUN_EVENT__TYPE__##name
#define FK(name) FLOWD__V1__FAILURE__KIND__##name

typedef struct EngFailure {
    int kind; /* 0: none */
    char *message;
    int exit_code;
    int signal;
    char syscall[32];
} EngFailure;

/* A batch node's chunks: each runs as its own attempt; outputs are combined
 * in chunk order when all have succeeded. */
typedef struct EngBatch {
    json_t **inputs;  /* per chunk */
    json_t **outputs; /* per chunk, NULL until done */
    uint32_t n;
    uint32_t next; /* next chunk to start */
    uint32_t running;
    uint32_t done;
    bool failed; /* a chunk failed: start no more, cancel the rest */
    EngFailure failure;
    SbxUsage usage; /* summed over chunks */
    uint64_t *attempt_ids;
} EngBatch;

typedef struct EngNodeState {
    uint8_t status;
    bool queued;   /* in the run's ready queue */
    bool waiting;  /* waiting for a retry timer */
    bool dirty;    /* needs a store write */
    bool fallback; /* output is the fallback */
    uint32_t attempts;
    uint32_t deps_left; /* incoming connections not yet resolved */
    uint32_t live_in;   /* incoming connections resolved live */
    json_t *output;
    char *output_text; /* the output as the node wrote it, shown to users */
    json_t *inputs;    /* of the last attempt, for dead letters */
    char *last_log;    /* the last stderr line, for failure messages */
    EngFailure failure;
    SbxUsage usage;
    uint64_t attempt_id;       /* while running */
    uint64_t first_start_mono; /* the first attempt's start, for metrics */
    EngBatch *batch;           /* while a batch node runs */
    bool circuit_trial;        /* this attempt is a half-open circuit's trial */
    bool cached;               /* the output came from the cache */
} EngNodeState;

typedef struct EngEventBuf {
    StoreEvent *items;
    size_t len;
    size_t cap;
} EngEventBuf;

typedef struct EngTenant EngTenant;

typedef struct EngRun {
    char *id;
    EngTenant *t;
    struct EngRun *queue_next; /* the tenant's runs waiting to start */
    char *tenant;
    char *owner;
    char *labels_json;
    char *idem_key;
    char *retry_of;        /* dead letter id, marked retried with the insert */
    StoreBlob workflow_pb; /* kept until inserted */
    EngWorkflow *wf;
    json_t *inputs; /* object keyed by node id */
    int status;
    bool degraded;
    bool cancelling;
    int final_status; /* while cancelling: RS_FAILED or RS_CANCELLED */
    bool dirty;       /* the run row needs a store write */
    bool touched;     /* in Engine.touched: has writes for the next flush */
    EngFailure failure;
    char *outputs_json; /* set when the run succeeds */
    uint64_t created_ns;
    uint64_t started_ns;
    uint64_t finished_ns;
    uint64_t next_seq;
    uint64_t deadline_mono; /* run timeout, 0: none */
    EngNodeState *ns;
    uint32_t *ready; /* ring of node indices, capacity n_nodes */
    size_t ready_head;
    size_t ready_len;
    size_t n_terminal;
    size_t n_running;
    uint32_t *dirty_nodes;
    size_t n_dirty;
    EngEventBuf events;       /* written at the next flush */
    struct EngRun *ring_next; /* round-robin of runs with ready nodes */
    struct EngRun *ring_prev;
    bool in_ring;
    uint32_t slot; /* index in Engine.runs */
} EngRun;

typedef struct EngWaiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int result;
} EngWaiter;

typedef enum EngMsgType {
    MSG_SUBMIT,
    MSG_SBX,
    MSG_CANCEL,
    MSG_DRAIN,
    _MSG_MAX,
} EngMsgType;

typedef struct EngMsg {
    EngMsgType type;
    struct EngMsg *next;
    EngWaiter *waiter;
    int result_code;
    /* MSG_SUBMIT */
    EngRun *run;
    uint32_t max_queued;
    char *dedup_run_id; /* out */
    /* MSG_SBX */
    SbxEventType sbx_type;
    uint64_t attempt_id;
    char *line;
    SbxResult result; /* output and message are owned copies */
    /* MSG_CANCEL */
    char *run_id;
    char *tenant;
    char *reason;
} EngMsg;

typedef struct EngAttempt {
    EngRun *run;         /* NULL when the slot is free */
    uint64_t spawn_mono; /* when sbx_spawn was called */
    uint32_t node;
    int32_t chunk; /* batch chunk, -1 for a whole node */
    uint32_t gen;
    uint64_t started_mono;
} EngAttempt;

typedef struct EngTimer {
    uint64_t due_mono;
    char *run_id;
    int32_t node; /* -1: the run's timeout */
} EngTimer;

typedef struct EngWatchList EngWatchList;

/* Per-tenant state: quota counters, runs waiting to start, and the
 * round-robin of its runs with ready nodes. Tenants with ready nodes form a
 * ring of their own, so scheduling is fair across tenants first, then
 * across a tenant's runs. */
struct EngTenant {
    char *name;
    EngCaller quota;
    unsigned running_runs;
    unsigned queued_runs;
    unsigned running_nodes;
    EngRun *queue_head;
    EngRun *queue_tail;
    EngRun *ring; /* runs with ready nodes */
    EngTenant *ring_next;
    EngTenant *ring_prev;
    bool in_ring;
};

struct Engine {
    EngConfig cfg;
    pthread_t thread;
    bool started;

    /* The inbox, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    EngMsg *inbox_head;
    EngMsg *inbox_tail;
    bool stop;
    atomic_bool draining;

    /* Watchers, under watch_mu (RPC threads add and remove them). */
    pthread_mutex_t watch_mu;
    StrMap watch_index;
    EngWatchList **watch_lists;
    size_t n_watch_lists;

    /* Engine-thread state. */
    StrMap run_index;
    EngRun **runs;
    size_t runs_cap;
    uint32_t *free_slots;
    size_t n_free_slots;
    size_t n_runs;
    StrMap tenant_index;
    EngTenant **tenants;
    size_t n_tenants;
    EngTenant *tenant_ring; /* tenants with ready nodes */
    EngAttempt *attempts;
    uint32_t n_attempt_slots;
    uint32_t *free_attempts;
    size_t n_free_attempts;
    unsigned running;
    EngTimer *timers;
    size_t n_timers;
    size_t timers_cap;
    EngRun **touched; /* runs with writes for the next flush */
    size_t n_touched;
    size_t touched_cap;
    StoreDeadLetter *dead_letters; /* written at the next flush */
    size_t n_dead_letters;
    size_t dead_letters_cap;
    SbxRequest *spawns; /* started after the flush */
    size_t n_spawns;
    size_t spawns_cap;
    StrBuf *spawn_inputs;
    uint64_t flush_retry_mono;
    uint64_t next_purge_mono;
    uint32_t *stack; /* scratch for skip propagation */
    size_t stack_cap;

    /* Circuit breakers by tenant and key (eng-circuit.c). */
    StrMap circuit_index;
    struct EngCircuit **circuits;
    size_t n_circuits;
    /* Cache writes for the next flush. */
    struct EngCachePut *cache_puts;
    size_t n_cache_puts;
    size_t cache_puts_cap;

    /* Counters for eng_stats. */
    atomic_uint stat_active;
    atomic_uint stat_queued;
    atomic_uint stat_running;
    atomic_bool store_ok;
};

/* eng-engine.c */
void eng_post(Engine *e, EngMsg *m);
void eng_waiter_init(EngWaiter *w);
void eng_waiter_wait(EngWaiter *w);
void eng_waiter_done(EngWaiter *w, int result);
void eng_waiter_destroy(EngWaiter *w);
void eng_limits_for(const Engine *e, const EngCaller *c, EngLimits *ret);

/* eng-runs.c: the table of active runs. */
void eng_runs_add(Engine *e, EngRun *r);
EngRun *eng_runs_find(Engine *e, const char *id);
void eng_runs_remove(Engine *e, EngRun *r);
EngRun *eng_run_new(const char *id, EngWorkflow *wf);
void eng_run_free(EngRun *r);
void eng_failure_set(EngFailure *f, int kind, const char *fmt, ...) _printf_(3, 4);
void eng_failure_clear(EngFailure *f);
void eng_failure_copy(EngFailure *dst, const EngFailure *src);

/* eng-events.c */
typedef struct EngEventArgs {
    int type;
    int node; /* -1: none */
    uint32_t attempt;
    double progress;
    const char *message;
    const char *output_json;
    const EngFailure *failure;
    const SbxUsage *usage;
} EngEventArgs;
void eng_emit(Engine *e, EngRun *r, const EngEventArgs *a);
/* Builds the event without scheduling the run for the next flush (new runs
 * are written by the submit transaction). */
void eng_event_append(Engine *e, EngRun *r, const EngEventArgs *a);
/* Secret values hidden: a new string, or NULL when s needs no change. */
char *eng_scrub(const Engine *e, const char *s);
void eng_node_dirty(Engine *e, EngRun *r, uint32_t ni);
void eng_run_dirty(Engine *e, EngRun *r);
void eng_touch(Engine *e, EngRun *r);
int eng_flush(Engine *e);
void eng_pack_failure(const EngFailure *f, StoreBlob *ret);
void eng_pack_usage(const SbxUsage *u, StoreBlob *ret);
void eng_run_row(const EngRun *r, StoreRun *ret); /* borrowed pointers */

/* eng-tenant.c */
EngTenant *eng_tenant_get(Engine *e, const char *name);
void eng_tenants_free(Engine *e);
/* Admits a committed run: starts it, or queues it behind the tenant's
 * concurrent-runs quota. */
void eng_tenant_admit(Engine *e, EngRun *r);
/* A started run ended: starts the tenant's next queued run. */
void eng_tenant_run_done(Engine *e, EngRun *r);
/* Could the tenant take one more queued run? */
bool eng_tenant_can_queue(Engine *e, const char *tenant);

/* eng-sched.c */
void eng_ready_push(Engine *e, EngRun *r, uint32_t ni);
void eng_tenant_wake(Engine *e, EngTenant *t);
void eng_schedule(Engine *e);
void eng_start_run(Engine *e, EngRun *r);
void eng_spawn_all(Engine *e);

/* eng-node.c: what happens when a node ends. */
/* Takes over output and text (the node's own JSON text; NULL to format
 * output). */
void eng_node_succeeded(Engine *e, EngRun *r, uint32_t ni, json_t *output, char *text, const SbxUsage *usage);
void eng_node_failed(Engine *e, EngRun *r, uint32_t ni, EngFailure *f, const SbxUsage *usage);
void eng_run_cancel(Engine *e, EngRun *r, int kind, const char *message);
void eng_run_maybe_finish(Engine *e, EngRun *r);
/* The delay before retry number `attempt` (1-based), unit_random in [0, 1). */
uint64_t eng_backoff_ms(const EngRetry *p, uint32_t attempt, double unit_random);
/* The output a connection carries, or NULL when it is dead (EngOutputFn). */
const json_t *eng_conn_output(const void *run, uint32_t conn);

/* Metrics for a node that reached a terminal status. */
void eng_node_metric(EngRun *r, uint32_t ni, const char *status);

/* eng-attempt.c */
void eng_sbx_event(const SbxEvent *ev, void *userdata);
void eng_handle_sbx(Engine *e, EngMsg *m);
void eng_attempt_release(Engine *e, uint64_t attempt_id);

/* eng-batch.c */
/* Splits the node's batch input into chunks; -EINVAL with a message when the
 * input is not an array. */
int eng_batch_split(const EngNode *n, const json_t *inputs, EngBatch **ret, char **ret_err);
EngBatch *eng_batch_free(EngBatch *b);
/* Combines chunk outputs in order: arrays concatenated, numbers summed,
 * other values from the first chunk, plus {"batch": {"chunks", "items"}}. */
json_t *eng_batch_combine(const EngBatch *b);

/* eng-circuit.c */
typedef enum EngCircuitState {
    CIRCUIT_CLOSED,
    CIRCUIT_HALF_OPEN,
    CIRCUIT_OPEN,
    _CIRCUIT_STATE_MAX,
} EngCircuitState;
/* May an attempt of this node start? false: fail fast with CIRCUIT_OPEN
 * (message in ret_msg). Sets ns->circuit_trial for a half-open trial. */
bool eng_circuit_admit(Engine *e, EngRun *r, uint32_t ni, char **ret_msg);
void eng_circuit_result(Engine *e, EngRun *r, uint32_t ni, bool success);
void eng_circuits_free(Engine *e);
const char *eng_circuit_state_name(EngCircuitState s);

/* eng-cache.c */
typedef struct EngCachePut {
    char *key;
    char *output;
    uint64_t expires_ns;
} EngCachePut;
/* The cache key of a node's attempt: SHA-256 of kind, config and inputs. */
char *eng_cache_key(const EngNode *n, const json_t *inputs);
/* A cached output for the key, or NULL. */
char *eng_cache_lookup(Engine *e, const char *key);
void eng_cache_store(Engine *e, const char *key, const char *output, uint32_t ttl_s);
int eng_cache_flush(Engine *e, StoreError *err);
void eng_cache_clear(Engine *e);

/* eng-timer.c */
void eng_timer_add(Engine *e, uint64_t due_mono, const char *run_id, int32_t node);
uint64_t eng_timer_next(const Engine *e);
void eng_timers_fire(Engine *e);

/* eng-watch.c */
void eng_watch_notify(Engine *e, const char *run_id);
void eng_watch_init(Engine *e);
void eng_watch_destroy(Engine *e);

/* eng-recover.c */
int eng_recover(Engine *e);

#endif
