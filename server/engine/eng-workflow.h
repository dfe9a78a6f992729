/* eng-workflow.h: the engine's model of a workflow, built from the
 * flowd.v1.Workflow message and validated at once: every problem is reported
 * with its path (DESIGN.md §4). Node ids are looked up through a hash map and
 * the graph is kept as adjacency arrays, so building and ordering are
 * O(nodes + edges). */
#ifndef FLOWD_ENG_WORKFLOW_H
#define FLOWD_ENG_WORKFLOW_H

#include <jansson.h>
#include <stdint.h>

#include "flowd/v1/workflow.pb-c.h"
#include "server/nodes/nodes.h"
#include "server/util/arena.h"
#include "server/util/diag.h"
#include "server/util/strmap.h"

typedef enum OnError {
    ON_ERROR_FAIL,
    ON_ERROR_CONTINUE,
    ON_ERROR_FALLBACK,
    _ON_ERROR_MAX,
} OnError;

typedef struct EngMapping {
    char *src_path; /* dotted path into the source output */
    char *dst_key;  /* input key of the target */
} EngMapping;

typedef struct EngConn {
    uint32_t from;
    uint32_t to;
    uint32_t decl; /* index in the message's connections, for paths */
    char *port;    /* "" for any */
    EngMapping *maps;
    size_t n_maps;
} EngConn;

typedef struct EngRetry {
    uint32_t max_attempts; /* >= 1 */
    uint32_t initial_backoff_ms;
    double multiplier;
    uint32_t max_backoff_ms;
    double jitter;
} EngRetry;

typedef struct EngNode {
    char *id;
    const NodeKind *kind;
    json_t *config;   /* an object, never NULL */
    json_t *fallback; /* NULL unless on_error is fallback */
    OnError on_error;
    uint32_t memory_mb;
    uint32_t cpu_millis;
    uint32_t pids;
    uint32_t timeout_s;
    EngRetry retry;
    char **secrets;
    size_t n_secrets;
    char *circuit;
    uint32_t cache_ttl_s;
    char *batch_input;
    uint32_t batch_size;
    uint32_t *in; /* connection indices, in declaration order */
    size_t n_in;
    uint32_t *out;
    size_t n_out;
} EngNode;

typedef struct EngWorkflow {
    char *name;
    EngNode *nodes;
    size_t n_nodes;
    EngConn *conns;
    size_t n_conns;
    uint32_t timeout_s;
    uint32_t *topo; /* node indices in dependency order */
    StrMap ids;
    Arena arena; /* the nodes' and connections' strings and arrays */
} EngWorkflow;

/* Limits applied at validation. */
typedef struct EngLimits {
    size_t max_nodes;
    size_t max_conns;
    size_t max_json_bytes; /* per config, fallback or inputs document */
    size_t max_json_depth;
    /* Ceilings a node may ask for (the tenant's quota); 0 = no ceiling. */
    uint32_t max_memory_mb;
    uint32_t max_cpu_millis;
    uint32_t max_pids;
    uint32_t max_timeout_s;
    /* Defaults for nodes that ask for nothing. */
    uint32_t default_memory_mb;
    uint32_t default_cpu_millis;
    uint32_t default_pids;
    uint32_t default_timeout_s;
} EngLimits;

void eng_limits_default(EngLimits *l);

/* Builds and validates. Returns 0, or -EINVAL with every problem in d (and
 * *ret untouched). */
int eng_workflow_build(const Flowd__V1__Workflow *pb, const EngLimits *lim, EngWorkflow **ret, Diags *d);
EngWorkflow *eng_workflow_free(EngWorkflow *wf);

/* The node index for an id, or -1. */
int eng_workflow_find(const EngWorkflow *wf, const char *id);

const char *on_error_name(OnError e);

/* Depth of a JSON value (a scalar is 1). */
size_t json_depth(const json_t *v);

#endif
