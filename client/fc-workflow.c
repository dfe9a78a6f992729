/* fc-workflow.c: workflow and inputs files (DESIGN.md §4) -> flowd.v1 messages.
 *
 * The loader is strict, because a typo in a key silently dropped would run a
 * workflow the user did not write: unknown keys and wrong types are errors,
 * and every one found is reported (with a path such as
 * "nodes[2].retry.max_attempts"), not only the first. Semantic checks (ids,
 * cycles, kinds, quotas) are the server's ValidateWorkflow; the client only
 * makes sure that what it sends is what the file says.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "fc-internal.h"

struct FcWorkflow {
    Flowd__V1__Workflow msg;
    /* Every allocation of the message tree, freed together. */
    void **allocs;
    size_t n_allocs, cap_allocs;
};

/* The state of one load: where diagnostics go and the sticky -ENOMEM. */
typedef struct Loader {
    FcWorkflow *wf;
    FcDiagnostics *diags;
    size_t n_problems;
    int oom;
} Loader;

#define PATH_MAX_LEN 256

static const char *const workflow_keys[] = {"name", "description", "nodes", "connections", "timeout_seconds"};
static const char *const node_keys[] = {
    "id",       "kind",     "config",  "resources", "timeout_seconds", "retry",
    "on_error", "fallback", "secrets", "circuit",   "cache",           "batch",
};
static const char *const resources_keys[] = {"memory_mb", "cpu_millis", "pids"};
static const char *const retry_keys[] = {"max_attempts", "initial_backoff_ms", "multiplier", "max_backoff_ms",
                                         "jitter"};
static const char *const cache_keys[] = {"ttl_seconds"};
static const char *const batch_keys[] = {"input", "size"};
static const char *const connection_keys[] = {"from", "to", "mapping", "port"};
static const char *const on_error_values[] = {"fail", "continue", "fallback"};

/* ---- arena ------------------------------------------------------------------- */

/* Records p (malloc()ed) in the arena; on failure frees it and returns NULL. */
static void *arena_push(Loader *L, void *p)
{
    FcWorkflow *wf = L->wf;

    if (p && wf->n_allocs == wf->cap_allocs) {
        size_t cap = wf->cap_allocs ? wf->cap_allocs * 2 : 64;
        void **a = realloc(wf->allocs, cap * sizeof(*a));
        if (!a) {
            free(p);
            p = NULL;
        } else {
            wf->allocs = a;
            wf->cap_allocs = cap;
        }
    }
    if (!p) {
        L->oom = 1;
        return NULL;
    }
    wf->allocs[wf->n_allocs++] = p;
    return p;
}

static void *arena_alloc(Loader *L, size_t size) { return arena_push(L, calloc(1, size ? size : 1)); }

static char *arena_strdup(Loader *L, const char *s) { return arena_push(L, strdup(s)); }

FcWorkflow *fc_workflow_free(FcWorkflow *wf)
{
    if (!wf)
        return NULL;
    for (size_t i = 0; i < wf->n_allocs; i++)
        free(wf->allocs[i]);
    free(wf->allocs);
    free(wf);
    return NULL;
}

/* ---- reporting --------------------------------------------------------------- */

static void problem(Loader *L, const char *path, const char *fmt, ...) _printf_(3, 4);
static void problem(Loader *L, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    L->n_problems++;
    if (fc_diag_add(L->diags, 0, 0, path, "%s", msg) < 0)
        L->oom = 1;
}

/* Paths are bounded; a truncated one still points the user at the place. */
static void pathf(char *out, const char *fmt, ...) _printf_(2, 3);
static void pathf(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, PATH_MAX_LEN, fmt, ap);
    va_end(ap);
}

static void join(char *out, const char *base, const char *key)
{
    if (base[0])
        pathf(out, "%s.%.64s", base, key);
    else
        pathf(out, "%.64s", key);
}

static void join_index(char *out, const char *base, const char *key, size_t i)
{
    char k[PATH_MAX_LEN];
    join(k, base, key);
    pathf(out, "%s[%zu]", k, i);
}

static void check_keys(Loader *L, json_t *obj, const char *path, const char *const *known, size_t n)
{
    const char *key;
    json_t *v;

    json_object_foreach (obj, key, v) {
        char p[PATH_MAX_LEN];
        const char *close;
        bool found = false;

        for (size_t i = 0; i < n && !found; i++)
            found = strcmp(key, known[i]) == 0;
        if (found)
            continue;
        join(p, path, key);
        close = fc_closest(key, known, n);
        if (close) {
            problem(L, p, "unknown key \"%.64s\"; did you mean \"%s\"?", key, close);
        } else {
            char list[256] = "";
            for (size_t i = 0; i < n; i++)
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", known[i]);
            problem(L, p, "unknown key \"%.64s\"; known keys here: %s", key, list);
        }
    }
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

/* ---- typed fields ----------------------------------------------------------- */

/* Each getter leaves *out alone when the key is absent or null, and reports a
 * problem (and leaves *out alone) when the value has the wrong type. */

static json_t *field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

static void get_u32(Loader *L, json_t *obj, const char *key, const char *path, uint32_t *out)
{
    json_t *v = field(obj, key);
    char p[PATH_MAX_LEN];

    if (!v)
        return;
    join(p, path, key);
    if (json_is_integer(v) && json_integer_value(v) < 0) {
        problem(L, p, "must be a non-negative integer, not %" JSON_INTEGER_FORMAT, json_integer_value(v));
        return;
    }
    if (!json_is_integer(v)) {
        problem(L, p, "must be a non-negative integer, not %s", json_type_name(v));
        return;
    }
    if (json_integer_value(v) > (json_int_t)UINT32_MAX) {
        problem(L, p, "must be at most %u", UINT32_MAX);
        return;
    }
    *out = (uint32_t)json_integer_value(v);
}

static void get_double(Loader *L, json_t *obj, const char *key, const char *path, double lo, double hi, double *out)
{
    json_t *v = field(obj, key);
    char p[PATH_MAX_LEN];

    if (!v)
        return;
    join(p, path, key);
    if (!json_is_number(v)) {
        problem(L, p, "must be a number, not %s", json_type_name(v));
        return;
    }
    if (json_number_value(v) < lo || json_number_value(v) > hi) {
        problem(L, p, "must be between %g and %g", lo, hi);
        return;
    }
    *out = json_number_value(v);
}

static void get_string(Loader *L, json_t *obj, const char *key, const char *path, char **out)
{
    json_t *v = field(obj, key);
    char p[PATH_MAX_LEN];

    if (!v)
        return;
    if (!json_is_string(v)) {
        join(p, path, key);
        problem(L, p, "must be a string, not %s", json_type_name(v));
        return;
    }
    *out = arena_strdup(L, json_string_value(v));
}

/* An object field that travels as JSON text (config, fallback). */
static void get_json_object(Loader *L, json_t *obj, const char *key, const char *path, char **out)
{
    json_t *v = field(obj, key);
    char p[PATH_MAX_LEN];

    if (!v)
        return;
    if (!json_is_object(v)) {
        join(p, path, key);
        problem(L, p, "must be a JSON object, not %s", json_type_name(v));
        return;
    }
    *out = arena_push(L, json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER));
}

/* Returns the sub-object at key, after checking its type and keys; NULL if
 * absent or wrong (reported). */
static json_t *get_object(Loader *L, json_t *obj, const char *key, const char *path, const char *const *known, size_t n,
                          char *subpath)
{
    json_t *v = field(obj, key);

    join(subpath, path, key);
    if (!v)
        return NULL;
    if (!json_is_object(v)) {
        problem(L, subpath, "must be an object, not %s", json_type_name(v));
        return NULL;
    }
    check_keys(L, v, subpath, known, n);
    return v;
}

static json_t *get_array(Loader *L, json_t *obj, const char *key, const char *path)
{
    json_t *v = field(obj, key);
    char p[PATH_MAX_LEN];

    if (!v)
        return NULL;
    if (!json_is_array(v)) {
        join(p, path, key);
        problem(L, p, "must be an array, not %s", json_type_name(v));
        return NULL;
    }
    return v;
}

static void get_string_array(Loader *L, json_t *obj, const char *key, const char *path, size_t *ret_n, char ***ret)
{
    json_t *arr = get_array(L, obj, key, path), *v;
    size_t i, n = 0;
    char **items;

    if (!arr)
        return;
    items = arena_alloc(L, json_array_size(arr) * sizeof(char *));
    if (!items)
        return;
    json_array_foreach (arr, i, v) {
        char p[PATH_MAX_LEN];
        if (!json_is_string(v)) {
            join_index(p, path, key, i);
            problem(L, p, "must be a string, not %s", json_type_name(v));
            continue;
        }
        items[n++] = arena_strdup(L, json_string_value(v));
    }
    *ret = items;
    *ret_n = n;
}

/* ---- the message tree --------------------------------------------------------- */

static Flowd__V1__Resources *load_resources(Loader *L, json_t *node, const char *path)
{
    char p[PATH_MAX_LEN];
    json_t *o = get_object(L, node, "resources", path, resources_keys, ELEMENTSOF(resources_keys), p);
    Flowd__V1__Resources *m;

    if (!o || !(m = arena_alloc(L, sizeof(*m))))
        return NULL;
    *m = (Flowd__V1__Resources)FLOWD__V1__RESOURCES__INIT;
    get_u32(L, o, "memory_mb", p, &m->memory_mb);
    get_u32(L, o, "cpu_millis", p, &m->cpu_millis);
    get_u32(L, o, "pids", p, &m->pids);
    return m;
}

static Flowd__V1__RetryPolicy *load_retry(Loader *L, json_t *node, const char *path)
{
    char p[PATH_MAX_LEN];
    json_t *o = get_object(L, node, "retry", path, retry_keys, ELEMENTSOF(retry_keys), p);
    Flowd__V1__RetryPolicy *m;

    if (!o || !(m = arena_alloc(L, sizeof(*m))))
        return NULL;
    *m = (Flowd__V1__RetryPolicy)FLOWD__V1__RETRY_POLICY__INIT;
    get_u32(L, o, "max_attempts", p, &m->max_attempts);
    get_u32(L, o, "initial_backoff_ms", p, &m->initial_backoff_ms);
    get_double(L, o, "multiplier", p, 0, 1000, &m->multiplier);
    get_u32(L, o, "max_backoff_ms", p, &m->max_backoff_ms);
    get_double(L, o, "jitter", p, 0, 1, &m->jitter);
    return m;
}

static Flowd__V1__CachePolicy *load_cache(Loader *L, json_t *node, const char *path)
{
    char p[PATH_MAX_LEN];
    json_t *o = get_object(L, node, "cache", path, cache_keys, ELEMENTSOF(cache_keys), p);
    Flowd__V1__CachePolicy *m;

    if (!o || !(m = arena_alloc(L, sizeof(*m))))
        return NULL;
    *m = (Flowd__V1__CachePolicy)FLOWD__V1__CACHE_POLICY__INIT;
    get_u32(L, o, "ttl_seconds", p, &m->ttl_seconds);
    return m;
}

static Flowd__V1__BatchPolicy *load_batch(Loader *L, json_t *node, const char *path)
{
    char p[PATH_MAX_LEN];
    json_t *o = get_object(L, node, "batch", path, batch_keys, ELEMENTSOF(batch_keys), p);
    Flowd__V1__BatchPolicy *m;

    if (!o || !(m = arena_alloc(L, sizeof(*m))))
        return NULL;
    *m = (Flowd__V1__BatchPolicy)FLOWD__V1__BATCH_POLICY__INIT;
    get_string(L, o, "input", p, &m->input);
    get_u32(L, o, "size", p, &m->size);
    return m;
}

static void check_on_error(Loader *L, const char *value, const char *path)
{
    char p[PATH_MAX_LEN];

    for (size_t i = 0; i < ELEMENTSOF(on_error_values); i++)
        if (strcmp(value, on_error_values[i]) == 0)
            return;
    join(p, path, "on_error");
    problem(L, p, "must be \"fail\", \"continue\" or \"fallback\", not \"%.64s\"", value);
}

static Flowd__V1__Node *load_node(Loader *L, json_t *o, const char *path)
{
    Flowd__V1__Node *m = arena_alloc(L, sizeof(*m));

    if (!m)
        return NULL;
    *m = (Flowd__V1__Node)FLOWD__V1__NODE__INIT;
    check_keys(L, o, path, node_keys, ELEMENTSOF(node_keys));
    get_string(L, o, "id", path, &m->id);
    get_string(L, o, "kind", path, &m->kind);
    get_json_object(L, o, "config", path, &m->config_json);
    m->resources = load_resources(L, o, path);
    get_u32(L, o, "timeout_seconds", path, &m->timeout_seconds);
    m->retry = load_retry(L, o, path);
    get_string(L, o, "on_error", path, &m->on_error);
    if (m->on_error && m->on_error[0])
        check_on_error(L, m->on_error, path);
    get_json_object(L, o, "fallback", path, &m->fallback_json);
    get_string_array(L, o, "secrets", path, &m->n_secrets, &m->secrets);
    get_string(L, o, "circuit", path, &m->circuit);
    m->cache = load_cache(L, o, path);
    m->batch = load_batch(L, o, path);
    return m;
}

static void load_mapping(Loader *L, json_t *conn, const char *path, Flowd__V1__Connection *m)
{
    char p[PATH_MAX_LEN];
    json_t *o = field(conn, "mapping"), *v;
    const char *key;

    join(p, path, "mapping");
    if (!o)
        return;
    if (!json_is_object(o)) {
        problem(L, p, "must be an object mapping source output paths to input keys, not %s", json_type_name(o));
        return;
    }
    m->mapping = arena_alloc(L, json_object_size(o) * sizeof(*m->mapping));
    if (!m->mapping)
        return;
    json_object_foreach (o, key, v) {
        Flowd__V1__Connection__MappingEntry *e;
        char kp[PATH_MAX_LEN];

        if (!json_is_string(v)) {
            join(kp, p, key);
            problem(L, kp, "must be a string (the target input key), not %s", json_type_name(v));
            continue;
        }
        e = arena_alloc(L, sizeof(*e));
        if (!e)
            return;
        *e = (Flowd__V1__Connection__MappingEntry)FLOWD__V1__CONNECTION__MAPPING_ENTRY__INIT;
        e->key = arena_strdup(L, key);
        e->value = arena_strdup(L, json_string_value(v));
        m->mapping[m->n_mapping++] = e;
    }
}

static Flowd__V1__Connection *load_connection(Loader *L, json_t *o, const char *path)
{
    Flowd__V1__Connection *m = arena_alloc(L, sizeof(*m));

    if (!m)
        return NULL;
    *m = (Flowd__V1__Connection)FLOWD__V1__CONNECTION__INIT;
    check_keys(L, o, path, connection_keys, ELEMENTSOF(connection_keys));
    get_string(L, o, "from", path, &m->from);
    get_string(L, o, "to", path, &m->to);
    load_mapping(L, o, path, m);
    get_string(L, o, "port", path, &m->port);
    return m;
}

/* Loads each object element of root[key] with fn; returns the array. */
static void **load_list(Loader *L, json_t *root, const char *key, size_t *ret_n,
                        void *(*fn)(Loader *, json_t *, const char *))
{
    json_t *arr = get_array(L, root, key, ""), *v;
    void **items;
    size_t i, n = 0;

    *ret_n = 0;
    if (!arr)
        return NULL;
    items = arena_alloc(L, json_array_size(arr) * sizeof(void *));
    if (!items)
        return NULL;
    json_array_foreach (arr, i, v) {
        char p[PATH_MAX_LEN];
        join_index(p, "", key, i);
        if (!json_is_object(v)) {
            problem(L, p, "must be an object, not %s", json_type_name(v));
            continue;
        }
        items[n] = fn(L, v, p);
        if (items[n])
            n++;
    }
    *ret_n = n;
    return items;
}

static void *load_node_cb(Loader *L, json_t *o, const char *path) { return load_node(L, o, path); }

static void *load_connection_cb(Loader *L, json_t *o, const char *path) { return load_connection(L, o, path); }

static void load_workflow(Loader *L, json_t *root)
{
    Flowd__V1__Workflow *m = &L->wf->msg;

    *m = (Flowd__V1__Workflow)FLOWD__V1__WORKFLOW__INIT;
    check_keys(L, root, "", workflow_keys, ELEMENTSOF(workflow_keys));
    get_string(L, root, "name", "", &m->name);
    get_string(L, root, "description", "", &m->description);
    m->nodes = (Flowd__V1__Node **)load_list(L, root, "nodes", &m->n_nodes, load_node_cb);
    m->connections = (Flowd__V1__Connection **)load_list(L, root, "connections", &m->n_connections, load_connection_cb);
    get_u32(L, root, "timeout_seconds", "", &m->timeout_seconds);
}

/* ---- parsing ------------------------------------------------------------------- */

/* Parses JSON text; a syntax error becomes one diagnostic with line/column. */
static int parse_json(const char *text, size_t len, FcDiagnostics *diags, json_t **ret)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

    if (!root) {
        if (fc_diag_add(diags, jerr.line > 0 ? jerr.line : 0, jerr.column > 0 ? jerr.column : 0, "",
                        "JSON syntax error: %s", jerr.text) < 0)
            return -ENOMEM;
        return -EINVAL;
    }
    *ret = root;
    return 0;
}

int fc_workflow_load_string(const char *json, size_t len, FcDiagnostics *diags, FcWorkflow **ret, FcError *err)
{
    json_t *root = NULL;
    Loader L = {.diags = diags};
    int r;

    r = parse_json(json, len, diags, &root);
    if (r == -ENOMEM)
        return fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory");
    if (r < 0)
        return fc_error_set(err, EINVAL, FC_STATUS_OK, "not valid JSON");
    L.wf = calloc(1, sizeof(FcWorkflow));
    if (!L.wf) {
        json_decref(root);
        return fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory");
    }
    if (!json_is_object(root))
        problem(&L, "", "a workflow must be a JSON object, not %s", json_type_name(root));
    else
        load_workflow(&L, root);
    json_decref(root);
    if (L.oom || L.n_problems > 0) {
        fc_workflow_free(L.wf);
        if (L.oom)
            return fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory");
        return fc_error_set(err, EINVAL, FC_STATUS_OK, "%zu problem%s in the workflow", L.n_problems,
                            L.n_problems == 1 ? "" : "s");
    }
    *ret = L.wf;
    return 0;
}

int fc_workflow_load_file(const char *path, FcDiagnostics *diags, FcWorkflow **ret, FcError *err)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r;

    r = fc_read_file(path, &text, &len, err);
    if (r < 0)
        return r;
    r = fc_workflow_load_string(text, len, diags, ret, err);
    if (r < 0)
        return fc_error_wrap(err, "%s", path);
    return 0;
}

/* ---- accessors ------------------------------------------------------------------- */

const Flowd__V1__Workflow *fc_workflow_proto(const FcWorkflow *wf) { return &wf->msg; }

const char *fc_workflow_name(const FcWorkflow *wf) { return fc_str(wf->msg.name); }

size_t fc_workflow_node_count(const FcWorkflow *wf) { return wf->msg.n_nodes; }

const char *fc_workflow_node_id(const FcWorkflow *wf, size_t i)
{
    return i < wf->msg.n_nodes ? fc_str(wf->msg.nodes[i]->id) : NULL;
}

static ssize_t node_index(const FcWorkflow *wf, const char *id)
{
    for (size_t i = 0; i < wf->msg.n_nodes; i++)
        if (strcmp(fc_str(wf->msg.nodes[i]->id), fc_str(id)) == 0)
            return (ssize_t)i;
    return -1;
}

bool fc_workflow_has_node(const FcWorkflow *wf, const char *node_id) { return node_index(wf, node_id) >= 0; }

/* Kahn's algorithm, always taking the first ready node in file order so that
 * the result is stable and looks like the file. O(n^2 + n*e): n is bounded by
 * the server's node limit and this runs once per view. */
int fc_workflow_topo_order(const FcWorkflow *wf, const char ***ret_ids, size_t *ret_n)
{
    size_t n = wf->msg.n_nodes, done = 0;
    _cleanup_free_ const char **ids = calloc(n + 1, sizeof(char *));
    _cleanup_free_ size_t *indeg = calloc(n + 1, sizeof(size_t));
    _cleanup_free_ bool *placed = calloc(n + 1, sizeof(bool));

    if (!ids || !indeg || !placed)
        return -ENOMEM;
    for (size_t c = 0; c < wf->msg.n_connections; c++) {
        ssize_t t = node_index(wf, wf->msg.connections[c]->to);
        if (t >= 0 && node_index(wf, wf->msg.connections[c]->from) >= 0)
            indeg[t]++;
    }
    while (done < n) {
        size_t i;
        for (i = 0; i < n && (placed[i] || indeg[i] > 0); i++)
            ;
        if (i == n) /* a cycle: the rest in file order */
            break;
        placed[i] = true;
        ids[done++] = fc_str(wf->msg.nodes[i]->id);
        for (size_t c = 0; c < wf->msg.n_connections; c++) {
            ssize_t t = node_index(wf, wf->msg.connections[c]->to);
            if (t >= 0 && strcmp(fc_str(wf->msg.connections[c]->from), ids[done - 1]) == 0)
                indeg[t]--;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!placed[i])
            ids[done++] = fc_str(wf->msg.nodes[i]->id);
    *ret_ids = TAKE_PTR(ids);
    *ret_n = n;
    return 0;
}

/* ---- inputs --------------------------------------------------------------------- */

static void check_inputs(Loader *L, json_t *root, const FcWorkflow *wf)
{
    const char *key;
    json_t *v;

    if (!json_is_object(root)) {
        problem(L, "", "inputs must be a JSON object keyed by node id, not %s", json_type_name(root));
        return;
    }
    json_object_foreach (root, key, v) {
        if (!json_is_object(v))
            problem(L, key, "must be a JSON object (the inputs of node \"%.64s\"), not %s", key, json_type_name(v));
        if (wf && !fc_workflow_has_node(wf, key)) {
            _cleanup_free_ const char **ids = NULL;
            size_t n = 0;
            const char *close = NULL;
            if (fc_workflow_topo_order(wf, &ids, &n) >= 0)
                close = fc_closest(key, ids, n);
            if (close)
                problem(L, key, "the workflow has no node \"%.64s\"; did you mean \"%s\"?", key, close);
            else
                problem(L, key, "the workflow has no node \"%.64s\"", key);
        }
    }
}

int fc_inputs_load_string(const char *json, size_t len, const FcWorkflow *wf, FcDiagnostics *diags, char **ret_json,
                          FcError *err)
{
    json_t *root = NULL;
    Loader L = {.diags = diags};
    char *out;
    int r;

    r = parse_json(json, len, diags, &root);
    if (r == -ENOMEM)
        return fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory");
    if (r < 0)
        return fc_error_set(err, EINVAL, FC_STATUS_OK, "not valid JSON");
    check_inputs(&L, root, wf);
    out = L.n_problems == 0 ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (L.oom || (L.n_problems == 0 && !out))
        return fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory");
    if (L.n_problems > 0)
        return fc_error_set(err, EINVAL, FC_STATUS_OK, "%zu problem%s in the inputs", L.n_problems,
                            L.n_problems == 1 ? "" : "s");
    *ret_json = out;
    return 0;
}

int fc_inputs_load_file(const char *path, const FcWorkflow *wf, FcDiagnostics *diags, char **ret_json, FcError *err)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r;

    r = fc_read_file(path, &text, &len, err);
    if (r < 0)
        return r;
    r = fc_inputs_load_string(text, len, wf, diags, ret_json, err);
    if (r < 0)
        return fc_error_wrap(err, "%s", path);
    return 0;
}
