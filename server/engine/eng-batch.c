/* Batch nodes: an array input split into chunks of batch.size items, each
 * chunk run as its own sandboxed attempt (in parallel, as workers allow),
 * outputs combined in chunk order. */
#include <errno.h>
#include <string.h>

#include "server/engine/eng-internal.h"

int eng_batch_split(const EngNode *n, const json_t *inputs, EngBatch **ret, char **ret_err)
{
    const json_t *items = json_object_get(inputs, n->batch_input);

    if (!json_is_array(items)) {
        *ret_err =
            xasprintf("batch.input names \"%s\", but the node's inputs have no array under that key", n->batch_input);
        return -EINVAL;
    }
    size_t total = json_array_size(items), size = n->batch_size;
    EngBatch *b = xcalloc(1, sizeof(EngBatch));
    b->n = (uint32_t)(total == 0 ? 1 : (total + size - 1) / size);
    b->inputs = xcalloc(b->n, sizeof(json_t *));
    b->outputs = xcalloc(b->n, sizeof(json_t *));
    b->attempt_ids = xcalloc(b->n, sizeof(uint64_t));
    for (uint32_t c = 0; c < b->n; c++) {
        json_t *chunk = json_array();
        for (size_t k = (size_t)c * size; k < total && k < (size_t)(c + 1) * size; k++)
            json_array_append(chunk, json_array_get(items, k));
        b->inputs[c] = json_copy((json_t *)inputs);
        json_object_set_new(b->inputs[c], n->batch_input, chunk);
    }
    *ret = b;
    return 0;
}

EngBatch *eng_batch_free(EngBatch *b)
{
    if (!b)
        return NULL;
    for (uint32_t c = 0; c < b->n; c++) {
        json_decref(b->inputs[c]);
        json_decref(b->outputs[c]);
    }
    free(b->inputs);
    free(b->outputs);
    free(b->attempt_ids);
    eng_failure_clear(&b->failure);
    free(b);
    return NULL;
}

static void combine_value(json_t *acc, const char *key, json_t *v)
{
    json_t *have = json_object_get(acc, key);

    if (!have)
        json_object_set_new(acc, key, json_is_array(v) ? json_copy(v) : json_incref(v));
    else if (json_is_array(have) && json_is_array(v))
        json_array_extend(have, v);
    else if (json_is_integer(have) && json_is_integer(v))
        json_object_set_new(acc, key, json_integer(json_integer_value(have) + json_integer_value(v)));
    else if (json_is_number(have) && json_is_number(v))
        json_object_set_new(acc, key, json_real(json_number_value(have) + json_number_value(v)));
}

json_t *eng_batch_combine(const EngBatch *b)
{
    json_t *acc = json_object();
    size_t items = 0;

    for (uint32_t c = 0; c < b->n; c++) {
        const char *key;
        json_t *v;
        json_object_foreach (b->outputs[c], key, v)
            combine_value(acc, key, v);
    }
    for (uint32_t c = 0; c < b->n; c++) {
        const char *key;
        json_t *v;
        json_object_foreach (b->inputs[c], key, v)
            if (json_is_array(v))
                items += json_array_size(v);
    }
    json_object_set_new(acc, "batch", json_pack("{s:i,s:I}", "chunks", (int)b->n, "items", (json_int_t)items));
    return acc;
}
