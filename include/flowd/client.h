/* flowd/client.h: libflowd-client, the C API of the flowd workflow service.
 *
 * A client loads a workflow file (DESIGN.md §4) into an FcWorkflow, connects
 * to a flowd server (FcClient) and calls the WorkflowService RPCs (§5). The
 * header is plain C: no gRPC or protobuf-c types appear here, so programs
 * only need -lflowd-client's dependencies at link time.
 *
 * Conventions (as in the rest of flowd):
 *  - Functions return 0 on success or a negative errno. Where a user needs to
 *    read why, the optional FcError *err (may be NULL) says so in words, and
 *    for RPC failures also carries the gRPC status code.
 *  - ret_* out-parameters come last and are written only on success.
 *  - Objects returned through ret_* belong to the caller and are released
 *    with the matching *_free(), which accepts NULL and returns NULL.
 *  - Events handed to callbacks are borrowed: valid only during the call.
 *  - Strings inside returned structs are never NULL (empty when unset).
 *  - An FcClient may be shared between threads; every call uses its own
 *    completion queue. An FcWorkflow is read-only once loaded.
 */
#ifndef FLOWD_CLIENT_H
#define FLOWD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

/* The gRPC status codes, with their wire values, so that callers need not
 * include gRPC headers to tell UNAUTHENTICATED from UNAVAILABLE. */
typedef enum FcStatus {
    FC_STATUS_OK = 0,
    FC_STATUS_CANCELLED = 1,
    FC_STATUS_UNKNOWN = 2,
    FC_STATUS_INVALID_ARGUMENT = 3,
    FC_STATUS_DEADLINE_EXCEEDED = 4,
    FC_STATUS_NOT_FOUND = 5,
    FC_STATUS_ALREADY_EXISTS = 6,
    FC_STATUS_PERMISSION_DENIED = 7,
    FC_STATUS_RESOURCE_EXHAUSTED = 8,
    FC_STATUS_FAILED_PRECONDITION = 9,
    FC_STATUS_ABORTED = 10,
    FC_STATUS_OUT_OF_RANGE = 11,
    FC_STATUS_UNIMPLEMENTED = 12,
    FC_STATUS_INTERNAL = 13,
    FC_STATUS_UNAVAILABLE = 14,
    FC_STATUS_DATA_LOSS = 15,
    FC_STATUS_UNAUTHENTICATED = 16,
    _FC_STATUS_MAX,
} FcStatus;

typedef struct FcError {
    int errnum;      /* positive errno, the same value the function returned negated */
    FcStatus status; /* gRPC status of a failed RPC; FC_STATUS_OK for local errors */
    char message[1024];
} FcError;

/* "UNAVAILABLE", ...; "?" for values outside the enum. */
const char *fc_status_name(FcStatus status);

/* ---- enums of the API, same numbers as flowd.v1 ---------------------------- */

typedef enum FcEventType {
    FC_EVENT_UNSPECIFIED = 0,
    FC_EVENT_RUN_QUEUED = 1,
    FC_EVENT_RUN_STARTED = 2,
    FC_EVENT_NODE_STARTED = 3,
    FC_EVENT_NODE_PROGRESS = 4,
    FC_EVENT_NODE_LOG = 5,
    FC_EVENT_NODE_RETRYING = 6,
    FC_EVENT_NODE_SUCCEEDED = 7,
    FC_EVENT_NODE_FAILED = 8,
    FC_EVENT_NODE_SKIPPED = 9,
    FC_EVENT_RUN_SUCCEEDED = 10,
    FC_EVENT_RUN_FAILED = 11,
    FC_EVENT_RUN_CANCELLED = 12,
    _FC_EVENT_TYPE_MAX,
} FcEventType;

typedef enum FcRunStatus {
    FC_RUN_UNSPECIFIED = 0,
    FC_RUN_QUEUED = 1,
    FC_RUN_RUNNING = 2,
    FC_RUN_SUCCEEDED = 3,
    FC_RUN_FAILED = 4,
    FC_RUN_CANCELLED = 5,
    _FC_RUN_STATUS_MAX,
} FcRunStatus;

typedef enum FcNodeStatus {
    FC_NODE_UNSPECIFIED = 0,
    FC_NODE_PENDING = 1,
    FC_NODE_RUNNING = 2,
    FC_NODE_SUCCEEDED = 3,
    FC_NODE_FAILED = 4,
    FC_NODE_SKIPPED = 5,
    FC_NODE_CANCELLED = 6,
    _FC_NODE_STATUS_MAX,
} FcNodeStatus;

typedef enum FcFailureKind {
    FC_FAILURE_UNSPECIFIED = 0,
    FC_FAILURE_NONZERO_EXIT = 1,
    FC_FAILURE_SIGNALED = 2,
    FC_FAILURE_OOM_KILLED = 3,
    FC_FAILURE_TIMEOUT = 4,
    FC_FAILURE_SANDBOX_VIOLATION = 5,
    FC_FAILURE_INVALID_OUTPUT = 6,
    FC_FAILURE_INVALID_INPUT = 7,
    FC_FAILURE_CIRCUIT_OPEN = 8,
    FC_FAILURE_CANCELLED = 9,
    FC_FAILURE_INTERNAL = 10,
    _FC_FAILURE_KIND_MAX,
} FcFailureKind;

typedef enum FcHealthStatus {
    FC_HEALTH_UNKNOWN = 0,
    FC_HEALTH_SERVING = 1,
    FC_HEALTH_NOT_SERVING = 2,
    FC_HEALTH_SERVICE_UNKNOWN = 3,
    _FC_HEALTH_STATUS_MAX,
} FcHealthStatus;

/* Names as in the proto ("NODE_SUCCEEDED", "RUNNING", ...); "?" if out of range. */
const char *fc_event_type_name(FcEventType type);
const char *fc_run_status_name(FcRunStatus status);
const char *fc_node_status_name(FcNodeStatus status);
const char *fc_failure_kind_name(FcFailureKind kind);
const char *fc_health_status_name(FcHealthStatus status);

/* Case-insensitive reverse lookups; -EINVAL for an unknown name. */
int fc_run_status_from_name(const char *name, FcRunStatus *ret);
int fc_event_type_from_name(const char *name, FcEventType *ret);

/* True for RUN_SUCCEEDED, RUN_FAILED and RUN_CANCELLED. */
bool fc_event_type_is_terminal(FcEventType type);

/* ---- plain data of the API ------------------------------------------------ */

typedef struct FcFailure {
    FcFailureKind kind;
    const char *message;
    int32_t exit_code;
    int32_t signal;
    const char *syscall;
} FcFailure;

typedef struct FcUsage {
    uint64_t peak_memory_bytes;
    uint64_t cpu_user_us;
    uint64_t cpu_system_us;
    uint64_t wall_us;
} FcUsage;

typedef struct FcEvent {
    const char *run_id;
    uint64_t seq; /* 1, 2, ... without gaps */
    uint64_t time_unix_nano;
    FcEventType type;
    const char *node_id;
    uint32_t attempt;
    double progress; /* 0..1 on NODE_PROGRESS */
    const char *message;
    const char *output_json; /* node output (NODE_SUCCEEDED) or run outputs (RUN_SUCCEEDED) */
    bool has_failure;
    FcFailure failure;
    bool has_usage;
    FcUsage usage;
    FcRunStatus run_status;
} FcEvent;

typedef struct FcLabel {
    const char *key;
    const char *value;
} FcLabel;

typedef struct FcNodeRun {
    const char *node_id;
    FcNodeStatus status;
    uint32_t attempts;
    bool has_failure;
    FcFailure failure;
    bool has_usage;
    FcUsage usage;
    const char *output_json;
} FcNodeRun;

typedef struct FcRun {
    const char *run_id;
    const char *workflow_name;
    const char *tenant;
    const char *owner;
    FcRunStatus status;
    bool degraded;
    uint64_t created_unix_nano;
    uint64_t started_unix_nano;
    uint64_t finished_unix_nano;
    size_t n_nodes;
    FcNodeRun *nodes;
    const char *outputs_json;
    bool has_failure;
    FcFailure failure;
    size_t n_labels;
    FcLabel *labels;
} FcRun;

typedef struct FcRunPage {
    size_t n_runs;
    FcRun *runs;
    const char *next_page_token; /* "" on the last page */
} FcRunPage;

typedef struct FcDeadLetter {
    const char *id;
    const char *run_id;
    const char *node_id;
    const char *workflow_name;
    const char *tenant;
    const char *kind;
    const char *inputs_json;
    bool has_failure;
    FcFailure failure;
    uint32_t attempts;
    uint64_t created_unix_nano;
    const char *retried_run_id;
} FcDeadLetter;

typedef struct FcDeadLetterPage {
    size_t n_dead_letters;
    FcDeadLetter *dead_letters;
    const char *next_page_token;
} FcDeadLetterPage;

typedef struct FcQuota {
    uint32_t max_concurrent_runs;
    uint32_t max_queued_runs;
    uint32_t max_running_nodes;
    uint32_t max_memory_mb;
    uint32_t max_cpu_millis;
    uint32_t max_pids;
    uint32_t max_timeout_seconds;
} FcQuota;

typedef struct FcServerInfo {
    const char *version;
    size_t n_node_kinds;
    const char **node_kinds;
    const char *sandbox_mode; /* "cgroup" or "rlimit" */
    uint32_t cgroup_version;  /* 1, 2, or 0 without cgroups */
    const char *user;
    const char *tenant;
    size_t n_roles;
    const char **roles;
    bool has_quota;
    FcQuota quota;
} FcServerInfo;

/* Release what the client returned; each accepts NULL and returns NULL. The
 * strings inside point into the object and die with it. */
FcRun *fc_run_free(FcRun *run);
FcRunPage *fc_run_page_free(FcRunPage *page);
FcDeadLetterPage *fc_dead_letter_page_free(FcDeadLetterPage *page);
FcServerInfo *fc_server_info_free(FcServerInfo *info);

/* ---- diagnostics ------------------------------------------------------------ */

/* One problem in a workflow or inputs file, or one server validation
 * diagnostic. `path` is where in the document ("nodes[2].retry.max_attempts"),
 * "" for the whole document; `line`/`column` are 1-based positions of JSON
 * syntax errors and 0 otherwise. */
typedef struct FcDiagnostic {
    char *path;
    char *message;
    int line;
    int column;
} FcDiagnostic;

typedef struct FcDiagnostics {
    size_t n;
    FcDiagnostic *items;
} FcDiagnostics;

/* Frees the items and leaves an empty list; the struct itself is the caller's. */
void fc_diagnostics_clear(FcDiagnostics *diags);

/* ---- workflows and inputs -------------------------------------------------- */

typedef struct FcWorkflow FcWorkflow;

/* Loads a workflow file (DESIGN.md §4). Returns -EINVAL when the document is
 * not a valid workflow: every problem found is appended to *diags (syntax
 * errors with line and column, type errors and unknown keys with a path).
 * Other negative errnos (-ENOENT, ...) mean the file could not be read; err
 * says which. `path` "-" reads standard input. */
int fc_workflow_load_file(const char *path, FcDiagnostics *diags, FcWorkflow **ret, FcError *err);
/* The same from a string in memory (`len` bytes, need not be NUL-terminated). */
int fc_workflow_load_string(const char *json, size_t len, FcDiagnostics *diags, FcWorkflow **ret, FcError *err);
FcWorkflow *fc_workflow_free(FcWorkflow *wf);

const char *fc_workflow_name(const FcWorkflow *wf);
size_t fc_workflow_node_count(const FcWorkflow *wf);
/* The id of node i in file order, NULL past the end. */
const char *fc_workflow_node_id(const FcWorkflow *wf, size_t i);
/* True when the workflow has a node with this id. */
bool fc_workflow_has_node(const FcWorkflow *wf, const char *node_id);
/* The node ids in dependency order: a node comes after every node that feeds
 * it, ties keep file order, and nodes on a cycle come last in file order. The
 * strings are borrowed from wf; free only the array. */
int fc_workflow_topo_order(const FcWorkflow *wf, const char ***ret_ids, size_t *ret_n);

/* Loads a run inputs file: a JSON object keyed by node id whose values are
 * JSON objects. With `wf`, keys naming no node are reported too. Returns the
 * document in compact form in *ret_json (free() it); -EINVAL with *diags
 * filled when invalid. "-" reads standard input. */
int fc_inputs_load_file(const char *path, const FcWorkflow *wf, FcDiagnostics *diags, char **ret_json, FcError *err);
int fc_inputs_load_string(const char *json, size_t len, const FcWorkflow *wf, FcDiagnostics *diags, char **ret_json,
                          FcError *err);

/* ---- connecting --------------------------------------------------------------- */

typedef struct FcClient FcClient;

typedef struct FcClientOptions {
    const char *address;         /* "host:port"; NULL: "127.0.0.1:50051" */
    const char *token;           /* bearer token, or NULL */
    const char *ca_file;         /* PEM CA bundle: TLS when set, plaintext otherwise */
    const char *tls_server_name; /* overrides the name checked in the server certificate */
    uint32_t timeout_ms;         /* deadline of unary calls; 0: 30 s. Streams have none. */
} FcClientOptions;

/* Creates the channel; nothing is sent until the first call, so an
 * unreachable server shows up as FC_STATUS_UNAVAILABLE on that call. Reads
 * the CA file here, so a missing file fails now. */
int fc_client_new(const FcClientOptions *opts, FcClient **ret, FcError *err);
FcClient *fc_client_free(FcClient *client);
const char *fc_client_address(const FcClient *client);

/* ---- RPCs ------------------------------------------------------------------ */

/* Every RPC returns 0, or a negative errno with err->status set to the gRPC
 * status (and err->message to the server's message) when the server answered
 * with an error: UNAUTHENTICATED -> -EPERM, PERMISSION_DENIED -> -EACCES,
 * NOT_FOUND -> -ENOENT, INVALID_ARGUMENT -> -EINVAL, UNAVAILABLE ->
 * -ECONNREFUSED, DEADLINE_EXCEEDED -> -ETIMEDOUT, CANCELLED -> -ECANCELED,
 * RESOURCE_EXHAUSTED -> -EDQUOT, others -> -EIO. */

/* ValidateWorkflow. *ret_valid says the verdict; the diagnostics are appended
 * to *diags (may be NULL). */
int fc_validate(FcClient *client, const FcWorkflow *wf, FcDiagnostics *diags, bool *ret_valid, FcError *err);

typedef struct FcSubmitOptions {
    const char *inputs_json; /* from fc_inputs_load_*, or NULL */
    const char *idempotency_key;
    size_t n_labels;
    const FcLabel *labels;
} FcSubmitOptions;

/* SubmitRun: returns once the run is durable. *ret_run_id must be free()d. */
int fc_submit(FcClient *client, const FcWorkflow *wf, const FcSubmitOptions *opts, char **ret_run_id,
              bool *ret_deduplicated, FcError *err);

/* What a streaming call reports to. on_event gets every event in order;
 * on_idle (optional) is called about every tick_ms (0: 100 ms) while no event
 * arrives, so that callers can redraw or notice a Ctrl-C. Either returning
 * non-zero ends the stream early: the call is cancelled and the function
 * returns -ECANCELED (with err->status FC_STATUS_CANCELLED). A negative return
 * is passed through instead, so callbacks can report their own errors. */
typedef struct FcStreamHandlers {
    int (*on_event)(const FcEvent *event, void *userdata);
    int (*on_idle)(void *userdata);
    void *userdata;
    uint32_t tick_ms;
} FcStreamHandlers;

/* ExecuteRun: submits and follows the run to its terminal event. Returns 0
 * when the stream ended normally, whatever the run's outcome (the terminal
 * event says it). */
int fc_execute(FcClient *client, const FcWorkflow *wf, const FcSubmitOptions *opts, const FcStreamHandlers *handlers,
               FcError *err);

/* WatchRun: the events with seq > after_seq, then live ones to the end. */
int fc_watch(FcClient *client, const char *run_id, uint64_t after_seq, const FcStreamHandlers *handlers, FcError *err);

int fc_get_run(FcClient *client, const char *run_id, FcRun **ret, FcError *err);

typedef struct FcListOptions {
    uint32_t page_size;     /* 0: the server's default */
    const char *page_token; /* NULL or "" for the first page */
    FcRunStatus status;     /* FC_RUN_UNSPECIFIED: every status */
} FcListOptions;

int fc_list_runs(FcClient *client, const FcListOptions *opts, FcRunPage **ret, FcError *err);

int fc_cancel_run(FcClient *client, const char *run_id, const char *reason, FcRun **ret, FcError *err);

int fc_list_dead_letters(FcClient *client, uint32_t page_size, const char *page_token, FcDeadLetterPage **ret,
                         FcError *err);

/* RetryDeadLetter: *ret_run_id (free() it) is the new run. */
int fc_retry_dead_letter(FcClient *client, const char *id, char **ret_run_id, FcError *err);

int fc_server_info(FcClient *client, FcServerInfo **ret, FcError *err);

/* grpc.health.v1.Health/Check for `service` (NULL or "" is the whole
 * server). Sends no token: health is unauthenticated, as for the kubelet. */
int fc_health_check(FcClient *client, const char *service, FcHealthStatus *ret, FcError *err);

/* The library's version, e.g. "0.1.0". */
const char *fc_version(void);

#ifdef __cplusplus
}
#endif

#endif /* FLOWD_CLIENT_H */
