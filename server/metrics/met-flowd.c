/* flowd's metric families, in one table: names carry their unit, labels
 * are declared with their allowed values or a cap. Operators' alert rules
 * and dashboards (k8s/monitoring/) use exactly these names; a test checks
 * that they use no other. */
#include "server/metrics/met-flowd.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "server/util/util.h"

typedef struct MetFlowd {
    MetRegistry *reg;
    MetFamily *runs;
    MetFamily *nodes;
    MetFamily *node_duration;
    MetFamily *node_retries;
    MetFamily *spawn;
    MetFamily *oom_kills;
    MetFamily *violations;
    MetFamily *dead_letters;
    MetFamily *circuit;
    MetFamily *queue_depth;
    MetFamily *active_runs;
    MetFamily *running;
    MetFamily *grpc_requests;
    MetFamily *grpc_duration;
    MetFamily *store_write;
    MetFamily *ready;
    MetFamily *build_info;
    MetFamily *overflows;
    MetFamily *rss;
    MetFamily *open_fds;
    MetFamily *max_fds;
    MetFamily *start_time;
    pthread_mutex_t gauges_lock;
    MetFlowdGaugesFn gauges_fn;
    void *gauges_userdata;
} MetFlowd;

static _Atomic(MetFlowd *) current;

static const char *const run_statuses[] = {"succeeded", "failed", "cancelled", NULL};
static const char *const node_statuses[] = {"succeeded", "failed", "skipped", "cancelled", NULL};
static const char *const grpc_methods[] = {
    "ValidateWorkflow",
    "SubmitRun",
    "ExecuteRun",
    "WatchRun",
    "GetRun",
    "ListRuns",
    "CancelRun",
    "ListDeadLetters",
    "RetryDeadLetter",
    "GetServerInfo",
    "Check",
    "Watch", /* grpc.health.v1.Health */
    NULL,
};
static const char *const grpc_codes[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
    NULL,
};

/* Node runs last from milliseconds to an hour. */
static const double node_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,    2.5,
                                      5,     10,   30,    60,   120, 300,  600, 1800, 3600};
/* A pooled spawn takes about 0.2 ms; a cgroup attach after idle about 7 ms. */
static const double spawn_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
/* Unary calls take milliseconds; ExecuteRun and WatchRun stream for the
 * length of a run. */
static const double grpc_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                      0.5,   1,      2.5,   5,    10,    30,   60,  300};
/* A SQLite commit takes tens of microseconds (NORMAL) to milliseconds (FULL). */
static const double store_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};

#define B(a) .buckets = a, .n_buckets = ELEMENTSOF(a)
#define FREE(n)                                                                                                        \
    {                                                                                                                  \
        .name = n                                                                                                      \
    }
#define ENUM(n, v)                                                                                                     \
    {                                                                                                                  \
        .name = n, .values = v                                                                                         \
    }

typedef struct FamilyDef {
    MetDesc desc;
    size_t offset; /* of the MetFamily pointer in MetFlowd */
} FamilyDef;

#define F(field) offsetof(MetFlowd, field)

/* Each entry starts with .name and .type on one line: tests/k8s parses it. */
static const FamilyDef families[] = {
    {{.name = "flowd_runs_total",
      .type = MET_COUNTER,
      .help = "Runs that reached a terminal status, by tenant and status.",
      .labels = {FREE("tenant"), ENUM("status", run_statuses)},
      .max_series = 192},
     F(runs)},
    {{.name = "flowd_nodes_total",
      .type = MET_COUNTER,
      .help = "Nodes that reached a terminal status, by node kind and status.",
      .labels = {FREE("kind"), ENUM("status", node_statuses)},
      .max_series = 160},
     F(nodes)},
    {{.name = "flowd_node_duration_seconds",
      .type = MET_HISTOGRAM,
      .help = "Wall time of finished nodes over all their attempts, by node kind.",
      .labels = {FREE("kind")},
      .max_series = 40,
      B(node_buckets)},
     F(node_duration)},
    {{.name = "flowd_node_retries_total",
      .type = MET_COUNTER,
      .help = "Node attempts that failed and were retried, by node kind.",
      .labels = {FREE("kind")},
      .max_series = 40},
     F(node_retries)},
    {{.name = "flowd_sandbox_spawn_seconds",
      .type = MET_HISTOGRAM,
      .help = "Time to start a sandboxed node attempt.",
      B(spawn_buckets)},
     F(spawn)},
    {{.name = "flowd_oom_kills_total",
      .type = MET_COUNTER,
      .help = "Node attempts killed for exceeding their memory limit."},
     F(oom_kills)},
    {{.name = "flowd_sandbox_violations_total",
      .type = MET_COUNTER,
      .help = "Node attempts killed by the seccomp filter."},
     F(violations)},
    {{.name = "flowd_dead_letters_total",
      .type = MET_COUNTER,
      .help = "Nodes written to the dead-letter queue after their last attempt."},
     F(dead_letters)},
    {{.name = "flowd_circuit_state",
      .type = MET_GAUGE,
      .help = "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
      .labels = {FREE("circuit")},
      .max_series = 64},
     F(circuit)},
    {{.name = "flowd_queue_depth", .type = MET_GAUGE, .help = "Runs queued and waiting to start."}, F(queue_depth)},
    {{.name = "flowd_active_runs", .type = MET_GAUGE, .help = "Runs started and not yet finished."}, F(active_runs)},
    {{.name = "flowd_running_sandboxes", .type = MET_GAUGE, .help = "Node attempts running in sandboxes."}, F(running)},
    {{.name = "flowd_grpc_requests_total",
      .type = MET_COUNTER,
      .help = "gRPC calls that ended, by method and status code.",
      .labels = {ENUM("method", grpc_methods), ENUM("code", grpc_codes)},
      .max_series = 256},
     F(grpc_requests)},
    {{.name = "flowd_grpc_request_duration_seconds",
      .type = MET_HISTOGRAM,
      .help = "Duration of gRPC calls, streams included, by method.",
      .labels = {ENUM("method", grpc_methods)},
      .max_series = 16,
      B(grpc_buckets)},
     F(grpc_duration)},
    {{.name = "flowd_store_write_seconds",
      .type = MET_HISTOGRAM,
      .help = "Duration of store write transactions.",
      B(store_buckets)},
     F(store_write)},
    {{.name = "flowd_ready", .type = MET_GAUGE, .help = "1 when /readyz answers 200, else 0."}, F(ready)},
    {{.name = "flowd_build_info",
      .type = MET_GAUGE,
      .help = "Always 1; the version is in the label.",
      .labels = {FREE("version")},
      .max_series = 1},
     F(build_info)},
    {{.name = "flowd_metrics_label_overflow_total",
      .type = MET_COUNTER,
      .help = "Label combinations folded into \"other\" because a family reached its series cap.",
      .labels = {FREE("family")},
      .max_series = 64},
     F(overflows)},
    {{.name = "process_resident_memory_bytes", .type = MET_GAUGE, .help = "Resident memory size in bytes."}, F(rss)},
    {{.name = "process_open_fds", .type = MET_GAUGE, .help = "Number of open file descriptors."}, F(open_fds)},
    {{.name = "process_max_fds", .type = MET_GAUGE, .help = "Maximum number of open file descriptors."}, F(max_fds)},
    {{.name = "process_start_time_seconds",
      .type = MET_GAUGE,
      .help = "Start time of the process since the epoch in seconds."},
     F(start_time)},
};

static MetFamily **family_slot(MetFlowd *m, const FamilyDef *d) { return (MetFamily **)((char *)m + d->offset); }

static void set_overflows(MetFlowd *m)
{
    for (size_t i = 0; i < ELEMENTSOF(families); i++) {
        MetFamily *f = *family_slot(m, &families[i]);
        uint64_t n = met_family_overflows(f);
        if (n)
            met_set(met_series(m->overflows, (const char *[]){met_family_name(f)}), (double)n);
    }
}

static void collect(MetRegistry *r, void *userdata)
{
    MetFlowd *m = userdata;
    MetProcess p;
    (void)r;

    pthread_mutex_lock(&m->gauges_lock);
    if (m->gauges_fn) {
        MetFlowdGauges g = {0};
        m->gauges_fn(&g, m->gauges_userdata);
        met_set(met_series0(m->queue_depth), g.queue_depth);
        met_set(met_series0(m->active_runs), g.active_runs);
        met_set(met_series0(m->running), g.running_sandboxes);
        met_set(met_series0(m->ready), g.ready ? 1 : 0);
    }
    pthread_mutex_unlock(&m->gauges_lock);
    if (met_process_read(&p) == 0) {
        met_set(met_series0(m->rss), (double)p.resident_bytes);
        met_set(met_series0(m->open_fds), (double)p.open_fds);
        met_set(met_series0(m->max_fds), (double)p.max_fds);
        met_set(met_series0(m->start_time), p.start_time_seconds);
    }
    set_overflows(m);
}

static MetFlowd *metflowd_free(MetFlowd *m)
{
    if (!m)
        return NULL;
    met_registry_free(m->reg);
    pthread_mutex_destroy(&m->gauges_lock);
    free(m);
    return NULL;
}

static int metflowd_new(const char *version, MetFlowd **ret)
{
    MetFlowd *m = xcalloc(1, sizeof(*m));
    pthread_mutex_init(&m->gauges_lock, NULL);
    int r = met_registry_new(&m->reg);
    for (size_t i = 0; r == 0 && i < ELEMENTSOF(families); i++)
        r = met_register(m->reg, &families[i].desc, family_slot(m, &families[i]));
    if (r == 0)
        r = met_add_collector(m->reg, collect, m);
    if (r < 0) {
        metflowd_free(m);
        return r;
    }
    met_set(met_series(m->build_info, (const char *[]){version ? version : "unknown"}), 1);
    *ret = m;
    return 0;
}

int met_flowd_init(const char *version)
{
    MetFlowd *m = NULL, *expected = NULL;
    int r = metflowd_new(version, &m);
    if (r < 0)
        return r;
    if (!atomic_compare_exchange_strong(&current, &expected, m)) {
        metflowd_free(m);
        return -EALREADY;
    }
    return 0;
}

void met_flowd_free(void) { metflowd_free(atomic_exchange(&current, NULL)); }

static MetFlowd *get(void) { return atomic_load_explicit(&current, memory_order_acquire); }

MetRegistry *met_flowd_registry(void)
{
    MetFlowd *m = get();
    return m ? m->reg : NULL;
}

void met_flowd_set_gauges_fn(MetFlowdGaugesFn fn, void *userdata)
{
    MetFlowd *m = get();
    if (!m)
        return;
    pthread_mutex_lock(&m->gauges_lock);
    m->gauges_fn = fn;
    m->gauges_userdata = userdata;
    pthread_mutex_unlock(&m->gauges_lock);
}

/* Statuses arrive as enum names ("SUCCEEDED") or in lower case; anything
 * longer than a status is not one. */
static const char *lower(char *buf, size_t size, const char *s)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < size; i++)
        buf[i] = (char)tolower((unsigned char)s[i]);
    buf[i] = '\0';
    return s && s[i] ? MET_OTHER : buf;
}

void met_run_finished(const char *tenant, const char *status)
{
    char st[16];
    MetFlowd *m = get();
    if (m)
        met_inc(met_series(m->runs, (const char *[]){tenant, lower(st, sizeof(st), status)}));
}

void met_node_finished(const char *kind, const char *status, double seconds)
{
    char st[16];
    MetFlowd *m = get();
    if (!m)
        return;
    met_inc(met_series(m->nodes, (const char *[]){kind, lower(st, sizeof(st), status)}));
    if (seconds >= 0)
        met_observe(met_series(m->node_duration, (const char *[]){kind}), seconds);
}

void met_node_retry(const char *kind)
{
    MetFlowd *m = get();
    if (m)
        met_inc(met_series(m->node_retries, (const char *[]){kind}));
}

#define COUNTER0(fn, field)                                                                                            \
    void fn(void)                                                                                                      \
    {                                                                                                                  \
        MetFlowd *m = get();                                                                                           \
        if (m)                                                                                                         \
            met_inc(met_series0(m->field));                                                                            \
    }

COUNTER0(met_oom_kill, oom_kills)
COUNTER0(met_sandbox_violation, violations)
COUNTER0(met_dead_letter, dead_letters)

#define OBSERVE0(fn, field)                                                                                            \
    void fn(double seconds)                                                                                            \
    {                                                                                                                  \
        MetFlowd *m = get();                                                                                           \
        if (m)                                                                                                         \
            met_observe(met_series0(m->field), seconds);                                                               \
    }

OBSERVE0(met_sandbox_spawn, spawn)
OBSERVE0(met_store_write, store_write)

void met_circuit_state(const char *circuit, MetCircuitState state)
{
    MetFlowd *m = get();
    if (m && state >= 0 && state < _MET_CIRCUIT_STATE_MAX)
        met_set(met_series(m->circuit, (const char *[]){circuit}), (double)state);
}

const char *met_grpc_code_name(int code)
{
    return code >= 0 && code < (int)ELEMENTSOF(grpc_codes) - 1 ? grpc_codes[code] : "UNKNOWN";
}

void met_grpc_request(const char *method, int code, double seconds)
{
    MetFlowd *m = get();
    if (!m)
        return;
    const char *slash = method ? strrchr(method, '/') : NULL;
    const char *short_name = slash ? slash + 1 : method;
    met_inc(met_series(m->grpc_requests, (const char *[]){short_name, met_grpc_code_name(code)}));
    met_observe(met_series(m->grpc_duration, (const char *[]){short_name}), seconds);
}

#define GAUGE0(fn, type, field, expr)                                                                                  \
    void fn(type v)                                                                                                    \
    {                                                                                                                  \
        MetFlowd *m = get();                                                                                           \
        if (m)                                                                                                         \
            met_set(met_series0(m->field), expr);                                                                      \
    }

GAUGE0(met_set_queue_depth, unsigned, queue_depth, (double)v)
GAUGE0(met_set_running_sandboxes, unsigned, running, (double)v)
GAUGE0(met_set_ready, bool, ready, v ? 1.0 : 0.0)
