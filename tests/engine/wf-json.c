#include "tests/engine/wf-json.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static char *str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_object(v) || json_is_array(v))
        return json_dumps(v, JSON_COMPACT);
    return strdup("");
}

static unsigned u(const json_t *obj, const char *key)
{
    return (unsigned)json_integer_value(json_object_get(obj, key));
}

static Flowd__V1__Node *node(const json_t *j)
{
    Flowd__V1__Node *n = calloc(1, sizeof(*n));
    flowd__v1__node__init(n);
    n->id = str(j, "id");
    n->kind = str(j, "kind");
    n->config_json = str(j, "config");
    n->on_error = str(j, "on_error");
    n->fallback_json = str(j, "fallback");
    n->circuit = str(j, "circuit");
    n->timeout_seconds = u(j, "timeout_seconds");
    const json_t *r = json_object_get(j, "retry");
    if (r) {
        n->retry = calloc(1, sizeof(*n->retry));
        flowd__v1__retry_policy__init(n->retry);
        n->retry->max_attempts = u(r, "max_attempts");
        n->retry->initial_backoff_ms = u(r, "initial_backoff_ms");
        n->retry->max_backoff_ms = u(r, "max_backoff_ms");
        n->retry->multiplier = json_number_value(json_object_get(r, "multiplier"));
        n->retry->jitter = json_number_value(json_object_get(r, "jitter"));
    }
    const json_t *res = json_object_get(j, "resources");
    if (res) {
        n->resources = calloc(1, sizeof(*n->resources));
        flowd__v1__resources__init(n->resources);
        n->resources->memory_mb = u(res, "memory_mb");
        n->resources->cpu_millis = u(res, "cpu_millis");
        n->resources->pids = u(res, "pids");
    }
    const json_t *b = json_object_get(j, "batch");
    if (b) {
        n->batch = calloc(1, sizeof(*n->batch));
        flowd__v1__batch_policy__init(n->batch);
        n->batch->input = str(b, "input");
        n->batch->size = u(b, "size");
    }
    return n;
}

static Flowd__V1__Connection *conn(const json_t *j)
{
    Flowd__V1__Connection *c = calloc(1, sizeof(*c));
    const json_t *map = json_object_get(j, "mapping");
    const char *key;
    json_t *val;

    flowd__v1__connection__init(c);
    c->from = str(j, "from");
    c->to = str(j, "to");
    c->port = str(j, "port");
    c->mapping = calloc(json_object_size(map) + 1, sizeof(*c->mapping));
    json_object_foreach ((json_t *)map, key, val) {
        Flowd__V1__Connection__MappingEntry *e = calloc(1, sizeof(*e));
        flowd__v1__connection__mapping_entry__init(e);
        e->key = strdup(key);
        e->value = strdup(json_string_value(val));
        c->mapping[c->n_mapping++] = e;
    }
    return c;
}

Flowd__V1__Workflow *wf_from_json(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j)
        abort();
    Flowd__V1__Workflow *wf = calloc(1, sizeof(*wf));
    flowd__v1__workflow__init(wf);
    wf->name = str(j, "name");
    wf->description = strdup("");
    const json_t *nodes = json_object_get(j, "nodes"), *conns = json_object_get(j, "connections");
    wf->nodes = calloc(json_array_size(nodes) + 1, sizeof(*wf->nodes));
    for (size_t i = 0; i < json_array_size(nodes); i++)
        wf->nodes[wf->n_nodes++] = node(json_array_get(nodes, i));
    wf->connections = calloc(json_array_size(conns) + 1, sizeof(*wf->connections));
    for (size_t i = 0; i < json_array_size(conns); i++)
        wf->connections[wf->n_connections++] = conn(json_array_get(conns, i));
    json_decref(j);
    return wf;
}
