/* node-cond.c: the conditions filter and switch evaluate against a record:
 * {"field": "a.b", "op": ">=", "value": 10}, combined with {"all": [...]},
 * {"any": [...]} and {"not": cond}. */
#include <string.h>

#include "server/nodes/node-internal.h"

typedef enum CondOp {
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_IN,
    OP_CONTAINS,
    OP_EXISTS,
    _OP_MAX,
} CondOp;

static const char *const op_names[_OP_MAX + 1] = {"==", "!=", "<", "<=", ">", ">=", "in", "contains", "exists", NULL};

static int op_of(const json_t *v)
{
    for (int i = 0; json_is_string(v) && i < _OP_MAX; i++)
        if (strcmp(json_string_value(v), op_names[i]) == 0)
            return i;
    return -1;
}

static void check_leaf(const json_t *cond, const char *path, Diags *d)
{
    static const char *const keys[] = {"field", "op", "value", NULL};
    char p[512];
    const json_t *value = json_object_get(cond, "value");
    int op = op_of(json_object_get(cond, "op"));

    node_check_keys(cond, path, keys, d);
    node_check_field(json_object_get(cond, "field"), node_subpath(p, sizeof(p), path, ".field"), d);
    if (op < 0) {
        diags_add(d, node_subpath(p, sizeof(p), path, ".op"),
                  "must be one of \"==\", \"!=\", \"<\", \"<=\", \">\", \">=\", \"in\", \"contains\", \"exists\"");
        return;
    }
    node_subpath(p, sizeof(p), path, ".value");
    if (op == OP_EXISTS) {
        if (value && !json_is_boolean(value))
            diags_add(d, p, "\"exists\" takes true (the default) or false");
    } else if (!value)
        diags_add(d, p, "operator \"%s\" needs a value", op_names[op]);
    else if (op == OP_IN && !json_is_array(value))
        diags_add(d, p, "operator \"in\" needs an array of values");
    else if (op >= OP_LT && op <= OP_GE && !json_is_number(value) && !json_is_string(value))
        diags_add(d, p, "operator \"%s\" compares numbers or strings", op_names[op]);
}

static void check_at(const json_t *cond, const char *path, unsigned depth, Diags *d);

static void check_list(const json_t *list, const char *path, unsigned depth, Diags *d)
{
    char p[512];
    size_t i;
    json_t *c;

    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > NODE_MAX_FIELDS) {
        diags_add(d, path, "must be an array of 1 to %d conditions", NODE_MAX_FIELDS);
        return;
    }
    json_array_foreach ((json_t *)list, i, c)
        check_at(c, node_subpath(p, sizeof(p), path, "[%zu]", i), depth + 1, d);
}

static void check_at(const json_t *cond, const char *path, unsigned depth, Diags *d)
{
    char p[512];

    if (!json_is_object(cond)) {
        diags_add(d, path, "a condition is an object like {\"field\": \"amount\", \"op\": \">\", \"value\": 100}");
        return;
    }
    if (depth > NODE_MAX_COND_DEPTH) {
        diags_add(d, path, "conditions are nested deeper than %d levels", NODE_MAX_COND_DEPTH);
        return;
    }
    const char *group = json_object_get(cond, "all") ? "all" : json_object_get(cond, "any") ? "any" : NULL;
    if (group) {
        if (json_object_size(cond) != 1)
            diags_add(d, path, "a {\"%s\": [...]} condition has no other keys", group);
        check_list(json_object_get(cond, group), node_subpath(p, sizeof(p), path, ".%s", group), depth, d);
    } else if (json_object_get(cond, "not")) {
        if (json_object_size(cond) != 1)
            diags_add(d, path, "a {\"not\": condition} has no other keys");
        check_at(json_object_get(cond, "not"), node_subpath(p, sizeof(p), path, ".not"), depth + 1, d);
    } else
        check_leaf(cond, path, d);
}

void node_cond_check(const json_t *cond, const char *path, Diags *d) { check_at(cond, path, 0, d); }

static bool ordered(const json_t *a, const json_t *b, CondOp op)
{
    if (!((json_is_number(a) && json_is_number(b)) || (json_is_string(a) && json_is_string(b))))
        return false;
    int c = node_compare(a, b);
    switch (op) {
    case OP_LT:
        return c < 0;
    case OP_LE:
        return c <= 0;
    case OP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

static bool contains(const json_t *field, const json_t *value)
{
    size_t i;
    json_t *x;

    if (json_is_string(field) && json_is_string(value))
        return memmem(json_string_value(field), json_string_length(field), json_string_value(value),
                      json_string_length(value)) != NULL;
    if (json_is_array(field)) {
        json_array_foreach ((json_t *)field, i, x)
            if (node_equal(x, value))
                return true;
        return false;
    }
    if (json_is_object(field) && json_is_string(value))
        return json_object_get(field, json_string_value(value)) != NULL;
    return false;
}

static bool leaf_eval(const json_t *cond, const json_t *record)
{
    const json_t *field = node_get(record, json_string_value(json_object_get(cond, "field")));
    const json_t *value = json_object_get(cond, "value");
    int op = op_of(json_object_get(cond, "op"));
    json_t *null = json_null();

    /* An absent field compares like null. */
    switch (op) {
    case OP_EQ:
        return node_equal(field ? field : null, value);
    case OP_NE:
        return !node_equal(field ? field : null, value);
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        return ordered(field, value, (CondOp)op);
    case OP_IN: {
        size_t i;
        json_t *x;
        json_array_foreach ((json_t *)value, i, x)
            if (node_equal(field ? field : null, x))
                return true;
        return false;
    }
    case OP_CONTAINS:
        return contains(field, value);
    case OP_EXISTS:
        return (field != NULL) == (value ? json_is_true(value) : true);
    default:
        return false;
    }
}

bool node_cond_eval(const json_t *cond, const json_t *record)
{
    const json_t *all = json_object_get(cond, "all"), *any = json_object_get(cond, "any");
    size_t i;
    json_t *c;

    if (all) {
        json_array_foreach ((json_t *)all, i, c)
            if (!node_cond_eval(c, record))
                return false;
        return true;
    }
    if (any) {
        json_array_foreach ((json_t *)any, i, c)
            if (node_cond_eval(c, record))
                return true;
        return false;
    }
    if (json_object_get(cond, "not"))
        return !node_cond_eval(json_object_get(cond, "not"), record);
    return leaf_eval(cond, record);
}
