/* met-flowd.h: flowd's metric families, declared in one place
 * (met-flowd.c), and the calls the engine, the RPC layer and the store make.
 *
 * The families live in one process-wide registry made by met_flowd_init.
 * Every call below is safe from any thread and does nothing before
 * met_flowd_init (or after met_flowd_free), so modules and their unit tests
 * work without metrics. Label values are bounded: statuses, kinds of
 * failure, gRPC methods and codes are declared lists (anything else is
 * "other"); tenants, node kinds and circuit names are capped per family (see
 * met-flowd.c) and fold into "other" past the cap. Never pass a run id,
 * node id or user name. */
#ifndef FLOWD_MET_FLOWD_H
#define FLOWD_MET_FLOWD_H

#include <stdbool.h>
#include <stdint.h>

#include "server/metrics/met.h"

typedef enum MetCircuitState {
    MET_CIRCUIT_CLOSED = 0,
    MET_CIRCUIT_HALF_OPEN = 1,
    MET_CIRCUIT_OPEN = 2,
    _MET_CIRCUIT_STATE_MAX,
} MetCircuitState;

/* Gauges read at scrape time from the server's state. */
typedef struct MetFlowdGauges {
    unsigned queue_depth;       /* runs waiting to start (EngStats.queued_runs) */
    unsigned active_runs;       /* runs started and not finished */
    unsigned running_sandboxes; /* node attempts running (EngStats.running_attempts) */
    bool ready;                 /* what /readyz says */
} MetFlowdGauges;

/* Fills the gauges; called on the scraping thread, so it must be cheap and
 * thread-safe. */
typedef void (*MetFlowdGaugesFn)(MetFlowdGauges *ret, void *userdata);

/* Creates the registry and every family, and sets flowd_build_info.
 * Returns 0, or -EALREADY when it was already called. */
int met_flowd_init(const char *version);
/* Frees the registry. Call only once nothing else calls into metrics (after
 * the HTTP server, the RPC layer and the engine stopped). */
void met_flowd_free(void);
/* The registry, for the HTTP server's /metrics; NULL before init. */
MetRegistry *met_flowd_registry(void);
/* Sets the scrape-time gauge callback (NULL to remove). */
void met_flowd_set_gauges_fn(MetFlowdGaugesFn fn, void *userdata);

/* A run reached a terminal status: "succeeded", "failed" or "cancelled"
 * (any case). tenant: the run's tenant. */
void met_run_finished(const char *tenant, const char *status);
/* A node reached a terminal status: "succeeded", "failed", "skipped" or
 * "cancelled" (any case). kind: "python", "exec", "filter", "plugin:NAME",
 * ... seconds: wall time of the node over all its attempts, or a negative
 * value for none (skipped nodes are counted but not timed). */
void met_node_finished(const char *kind, const char *status, double seconds);
/* A node attempt failed and will be retried. */
void met_node_retry(const char *kind);
/* The sandbox reported SBX_OOM_KILLED for an attempt. */
void met_oom_kill(void);
/* The sandbox reported SBX_SANDBOX_VIOLATION for an attempt. */
void met_sandbox_violation(void);
/* Time from sbx_spawn to the SBX_EV_STARTED event (or sbx_spawn's own
 * duration where that is what is measured). */
void met_sandbox_spawn(double seconds);
/* A node was written to the dead-letter queue. */
void met_dead_letter(void);
/* A circuit breaker changed state. */
void met_circuit_state(const char *circuit, MetCircuitState state);
/* One gRPC call ended. method: "SubmitRun" or the full path
 * "/flowd.v1.WorkflowService/SubmitRun"; code: the grpc_status_code (0 OK
 * ... 16 UNAUTHENTICATED); seconds: from the call's arrival to its status
 * (streams included). */
void met_grpc_request(const char *method, int code, double seconds);
/* One store transaction committed (or failed): its duration. */
void met_store_write(double seconds);

/* Direct gauge setters, for code that prefers pushing to the callback. */
void met_set_queue_depth(unsigned n);
void met_set_running_sandboxes(unsigned n);
void met_set_ready(bool ready);

/* The canonical name of a gRPC status code ("OK", "NOT_FOUND", ...), or
 * "UNKNOWN" outside 0..16. */
const char *met_grpc_code_name(int code);

/* Process gauges, read from /proc/self at scrape time. */
typedef struct MetProcess {
    uint64_t resident_bytes;
    uint64_t open_fds;
    uint64_t max_fds;
    double start_time_seconds; /* since the epoch */
} MetProcess;

/* Reads /proc/self; -errno when /proc is not mounted. */
int met_process_read(MetProcess *ret);

#endif
