/* aggregate: groups the records of an input array by fields and computes
 * count, sum, avg, min and max per group. Groups keep the order in which
 * their first record appears. */
#include <string.h>

#include "server/nodes/node-internal.h"

static const char *const ops[] = {"count", "sum", "avg", "min", "max", NULL};
enum { AGG_COUNT, AGG_SUM, AGG_AVG, AGG_MIN, AGG_MAX };

typedef struct Metric {
    int op;
    const char *field; /* NULL: count records */
    char as[NODE_MAX_PATH_LEN + 8];
} Metric;

typedef struct Acc {
    size_t n;        /* values counted (non-null) */
    json_int_t isum; /* exact while every value is an integer and no overflow */
    double sum;
    bool real;
    const json_t *min, *max; /* borrowed from the records */
} Acc;

static void check_metric(const json_t *m, const char *path, Diags *d)
{
    static const char *const keys[] = {"op", "field", "as", NULL};
    char p[512];

    if (!json_is_object(m)) {
        diags_add(d, path, "a metric is an object like {\"op\": \"sum\", \"field\": \"amount\", \"as\": \"total\"}");
        return;
    }
    node_check_keys(m, path, keys, d);
    const json_t *op = json_object_get(m, "op");
    if (!op)
        diags_add(d, node_subpath(p, sizeof(p), path, ".op"), "needs an operation: count, sum, avg, min or max");
    int o = node_check_enum(m, "op", path, ops, AGG_COUNT, d);
    const json_t *field = json_object_get(m, "field");
    if (field)
        node_check_field(field, node_subpath(p, sizeof(p), path, ".field"), d);
    else if (op && o != AGG_COUNT)
        diags_add(d, node_subpath(p, sizeof(p), path, ".field"), "operation \"%s\" needs a field", ops[o]);
    node_check_string(m, "as", path, NULL, d);
}

static void aggregate_check(const json_t *config, const char *path, Diags *d)
{
    static const char *const keys[] = {"input", "output", "group_by", "metrics", NULL};
    const json_t *gb = json_object_get(config, "group_by"), *metrics = json_object_get(config, "metrics");
    char p[512];
    size_t i;
    json_t *v;

    node_check_keys(config, path, keys, d);
    node_check_io(config, path, false, d);
    node_subpath(p, sizeof(p), path, ".group_by");
    if (json_is_string(gb))
        node_check_field(gb, p, d);
    else if (gb && (!json_is_array(gb) || json_array_size(gb) > NODE_MAX_FIELDS))
        diags_add(d, p, "must be a field name or an array of at most %d field names", NODE_MAX_FIELDS);
    else if (gb)
        json_array_foreach ((json_t *)gb, i, v)
            node_check_field(v, node_subpath(p, sizeof(p), path, ".group_by[%zu]", i), d);
    if (!metrics)
        return;
    if (!json_is_array(metrics) || json_array_size(metrics) == 0 || json_array_size(metrics) > NODE_MAX_FIELDS) {
        diags_add(d, node_subpath(p, sizeof(p), path, ".metrics"), "must be an array of 1 to %d metrics",
                  NODE_MAX_FIELDS);
        return;
    }
    json_array_foreach ((json_t *)metrics, i, v)
        check_metric(v, node_subpath(p, sizeof(p), path, ".metrics[%zu]", i), d);
}

static size_t parse_metrics(const json_t *config, Metric *m)
{
    const json_t *list = json_object_get(config, "metrics");
    size_t i;
    json_t *v;

    if (!json_is_array(list)) {
        m[0] = (Metric){.op = AGG_COUNT, .as = "count"};
        return 1;
    }
    json_array_foreach ((json_t *)list, i, v) {
        if (i >= NODE_MAX_FIELDS)
            break;
        m[i] = (Metric){.op = node_check_enum(v, "op", "", ops, AGG_COUNT, NULL),
                        .field = json_string_value(json_object_get(v, "field"))};
        const char *as = json_string_value(json_object_get(v, "as"));
        if (as)
            snprintf(m[i].as, sizeof(m[i].as), "%s", as);
        else if (m[i].field)
            snprintf(m[i].as, sizeof(m[i].as), "%s_%s", ops[m[i].op], m[i].field);
        else
            snprintf(m[i].as, sizeof(m[i].as), "%s", ops[m[i].op]);
    }
    return i < NODE_MAX_FIELDS ? i : NODE_MAX_FIELDS;
}

static void acc_add(Acc *a, const Metric *m, const json_t *rec)
{
    const json_t *v = m->field ? node_get(rec, m->field) : rec;

    if (!v || json_is_null(v))
        return;
    if (m->op == AGG_COUNT) {
        a->n++;
        return;
    }
    if (m->op == AGG_MIN || m->op == AGG_MAX) {
        a->n++;
        if (!a->min || node_compare(v, a->min) < 0)
            a->min = v;
        if (!a->max || node_compare(v, a->max) > 0)
            a->max = v;
        return;
    }
    if (!json_is_number(v))
        return; /* sum and avg skip what is not a number */
    a->n++;
    a->sum += json_number_value(v);
    if (!json_is_integer(v) || __builtin_add_overflow(a->isum, json_integer_value(v), &a->isum))
        a->real = true;
}

static json_t *acc_value(const Acc *a, const Metric *m)
{
    switch (m->op) {
    case AGG_COUNT:
        return json_integer((json_int_t)a->n);
    case AGG_SUM:
        return !a->n ? json_null() : a->real ? json_real(a->sum) : json_integer(a->isum);
    case AGG_AVG:
        return a->n ? json_real(a->sum / (double)a->n) : json_null();
    case AGG_MIN:
        return a->min ? json_incref((json_t *)a->min) : json_null();
    default:
        return a->max ? json_incref((json_t *)a->max) : json_null();
    }
}

static json_t *group_fields(const json_t *config)
{
    const json_t *gb = json_object_get(config, "group_by");
    json_t *list = json_array();

    if (json_is_string(gb))
        json_array_append(list, (json_t *)gb);
    else if (json_is_array(gb))
        json_array_extend(list, (json_t *)gb);
    return list;
}

/* The group a record belongs to: its group_by values as compact JSON. */
static json_t *group_key(const json_t *fields, const json_t *rec, char **ret_text)
{
    json_t *vals = json_array();
    size_t i;
    json_t *f;

    json_array_foreach ((json_t *)fields, i, f) {
        json_t *v = node_get(rec, json_string_value(f));
        json_array_append_new(vals, v ? json_incref(v) : json_null());
    }
    *ret_text = json_dumps(vals, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    return vals;
}

typedef struct Groups {
    json_t *index;  /* key text -> group number */
    json_t *values; /* per group: its group_by values */
    Acc *acc;       /* n_groups * n_metrics */
    size_t n, cap, n_metrics;
} Groups;

static size_t group_of(Groups *g, const json_t *fields, const json_t *rec)
{
    char *text;
    json_t *vals = group_key(fields, rec, &text);
    json_t *known = json_object_get(g->index, text ? text : "");

    if (known) {
        json_decref(vals);
        free(text);
        return (size_t)json_integer_value(known);
    }
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->acc = xrealloc(g->acc, g->cap * g->n_metrics * sizeof(Acc));
    }
    memset(&g->acc[g->n * g->n_metrics], 0, g->n_metrics * sizeof(Acc));
    json_object_set_new(g->index, text ? text : "", json_integer((json_int_t)g->n));
    json_array_append_new(g->values, vals);
    free(text);
    return g->n++;
}

static json_t *groups_output(const Groups *g, const json_t *fields, const Metric *m)
{
    json_t *out = json_array();

    for (size_t k = 0; k < g->n; k++) {
        json_t *row = json_object();
        size_t i;
        json_t *f;
        json_array_foreach ((json_t *)fields, i, f)
            json_object_set(row, json_string_value(f), json_array_get(json_array_get(g->values, k), i));
        for (size_t j = 0; j < g->n_metrics; j++)
            json_object_set_new(row, m[j].as, acc_value(&g->acc[k * g->n_metrics + j], &m[j]));
        json_array_append_new(out, row);
    }
    return out;
}

static int aggregate_run(const NodeCtx *c, json_t **ret, NodeErr *e)
{
    const char *key;
    const json_t *in = node_operand(c, "records", &key, e);
    static Metric m[NODE_MAX_FIELDS];
    size_t i;
    json_t *rec;

    if (!in)
        return -1;
    if (!json_is_array(in))
        return node_err(e, "InvalidInput", "input \"%s\" is %s; aggregate needs an array of records", key,
                        node_type_name(in));
    json_t *fields = group_fields(c->config);
    Groups g = {.index = json_object(), .values = json_array(), .n_metrics = parse_metrics(c->config, m)};
    /* Without group_by there is one group, even over no records. */
    if (json_array_size(fields) == 0)
        group_of(&g, fields, NULL);
    json_array_foreach ((json_t *)in, i, rec) {
        size_t k = group_of(&g, fields, rec);
        for (size_t j = 0; j < g.n_metrics; j++)
            acc_add(&g.acc[k * g.n_metrics + j], &m[j], rec);
    }
    json_t *out = groups_output(&g, fields, m);
    json_decref(g.index);
    json_decref(g.values);
    json_decref(fields);
    free(g.acc);
    const char *okey = json_string_value(json_object_get(c->config, "output"));
    *ret = json_pack("{s:o}", okey ? okey : "groups", out);
    return 0;
}

static int aggregate_main(void) { return node_main(aggregate_run); }

const NodeKind node_kind_aggregate = {
    .name = "aggregate",
    .summary = "groups records by fields and computes count, sum, avg, min, max per group",
    .check = aggregate_check,
    .builtin = aggregate_main,
    .profile = SBX_PROFILE_COMPUTE,
};
