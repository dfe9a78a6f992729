/* A look at a request's wire bytes before decoding it. protobuf-c allocates
 * every element of a repeated field: a 16 MiB request of empty `nodes` would
 * cost over a gigabyte decoded. Counting the elements on the wire costs
 * nothing and lets the server refuse such a request before it decodes it. */
#include <stdint.h>

#include "server/rpc/rpc-internal.h"

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *ret = v;
            return true;
        }
    }
    return false;
}

/* Skips one field's value; false on malformed input. */
static bool skip(const uint8_t **p, const uint8_t *end, unsigned wire, uint64_t *ret_len)
{
    uint64_t v;
    *ret_len = 0;
    switch (wire) {
    case 0:
        return varint(p, end, &v);
    case 1:
        return end - *p >= 8 && (*p += 8, true);
    case 5:
        return end - *p >= 4 && (*p += 4, true);
    case 2:
        if (!varint(p, end, &v) || v > (uint64_t)(end - *p))
            return false;
        *ret_len = v;
        *p += v;
        return true;
    default:
        return false;
    }
}

/* Counts occurrences of fields a and b at the top level of a message. */
static void count_fields(const uint8_t *p, const uint8_t *end, unsigned a, unsigned b, size_t *na, size_t *nb,
                         const uint8_t **ret_first_a, size_t *ret_first_a_len)
{
    uint64_t tag, len;
    while (p < end && varint(&p, end, &tag)) {
        const uint8_t *start = p;
        if (!skip(&p, end, (unsigned)(tag & 7), &len))
            return;
        unsigned field = (unsigned)(tag >> 3);
        if (field == a) {
            (*na)++;
            if (ret_first_a) {
                *ret_first_a = p - len;
                *ret_first_a_len = (size_t)len;
            }
        } else if (field == b && nb)
            (*nb)++;
        (void)start;
    }
}

void rpc_wire_count_workflow(const uint8_t *buf, size_t len, size_t *ret_nodes, size_t *ret_conns)
{
    const uint8_t *wf = NULL;
    size_t wf_len = 0, n_wf = 0;

    *ret_nodes = *ret_conns = 0;
    /* Field 1 of ValidateWorkflowRequest and SubmitRunRequest is the
     * workflow; nodes and connections are its fields 3 and 4. A repeated
     * message field may appear more than once: the last one wins, so count
     * in the last. */
    count_fields(buf, buf + len, 1, 0, &n_wf, NULL, &wf, &wf_len);
    if (wf)
        count_fields(wf, wf + wf_len, 3, 4, ret_nodes, ret_conns, NULL, NULL);
}
