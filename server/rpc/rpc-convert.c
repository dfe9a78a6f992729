/* Store rows to API messages. Every part of a message built here is on the
 * heap, so protobuf_c_message_free_unpacked() frees the whole tree. */
#include <jansson.h>
#include <string.h>

#include "server/rpc/rpc-convert.h"

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static Flowd__V1__Failure *unpack_failure(const StoreBlob *b)
{
    return b->len ? flowd__v1__failure__unpack(NULL, b->len, b->data) : NULL;
}

static Flowd__V1__ResourceUsage *unpack_usage(const StoreBlob *b)
{
    return b->len ? flowd__v1__resource_usage__unpack(NULL, b->len, b->data) : NULL;
}

static void set_labels(Flowd__V1__Run *run, const char *labels_json)
{
    json_t *obj = labels_json ? json_loads(labels_json, 0, NULL) : NULL;
    const char *key;
    json_t *val;

    if (!json_is_object(obj) || json_object_size(obj) == 0) {
        json_decref(obj);
        return;
    }
    run->labels = calloc(json_object_size(obj), sizeof(*run->labels));
    json_object_foreach (obj, key, val) {
        Flowd__V1__Run__LabelsEntry *e = malloc(sizeof(*e));
        flowd__v1__run__labels_entry__init(e);
        e->key = strdup(key);
        e->value = dup_or_empty(json_is_string(val) ? json_string_value(val) : "");
        run->labels[run->n_labels++] = e;
    }
    json_decref(obj);
}

static Flowd__V1__NodeRun *node_msg(const StoreNode *n)
{
    Flowd__V1__NodeRun *m = malloc(sizeof(*m));

    flowd__v1__node_run__init(m);
    m->node_id = dup_or_empty(n->node_id);
    m->status = n->status;
    m->attempts = n->attempts;
    m->failure = unpack_failure(&n->failure);
    m->usage = unpack_usage(&n->usage);
    m->output_json = dup_or_empty(n->output_json);
    return m;
}

Flowd__V1__Run *rpc_run_msg(const StoreRun *r, const StoreNode *nodes, size_t n)
{
    Flowd__V1__Run *m = malloc(sizeof(*m));

    flowd__v1__run__init(m);
    m->run_id = dup_or_empty(r->run_id);
    m->workflow_name = dup_or_empty(r->workflow_name);
    m->tenant = dup_or_empty(r->tenant);
    m->owner = dup_or_empty(r->owner);
    m->status = r->status;
    m->degraded = r->degraded;
    m->created_unix_nano = r->created_ns;
    m->started_unix_nano = r->started_ns;
    m->finished_unix_nano = r->finished_ns;
    m->outputs_json = dup_or_empty(r->outputs_json);
    m->failure = unpack_failure(&r->failure);
    set_labels(m, r->labels_json);
    if (n) {
        m->nodes = calloc(n, sizeof(*m->nodes));
        for (size_t i = 0; i < n; i++)
            m->nodes[m->n_nodes++] = node_msg(&nodes[i]);
    }
    return m;
}

Flowd__V1__DeadLetter *rpc_dead_letter_msg(const StoreDeadLetter *d)
{
    Flowd__V1__DeadLetter *m = malloc(sizeof(*m));

    flowd__v1__dead_letter__init(m);
    m->id = dup_or_empty(d->id);
    m->run_id = dup_or_empty(d->run_id);
    m->node_id = dup_or_empty(d->node_id);
    m->workflow_name = dup_or_empty(d->workflow_name);
    m->tenant = dup_or_empty(d->tenant);
    m->kind = dup_or_empty(d->kind);
    m->inputs_json = dup_or_empty(d->inputs_json);
    m->failure = unpack_failure(&d->failure);
    m->attempts = d->attempts;
    m->created_unix_nano = d->created_ns;
    m->retried_run_id = dup_or_empty(d->retried_run_id);
    return m;
}
