/* Counting a request's workflow nodes on the wire, before decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "server/rpc/rpc-internal.h"

static uint8_t *pack_request(size_t nodes, size_t conns, size_t *ret_len)
{
    Flowd__V1__Workflow wf = FLOWD__V1__WORKFLOW__INIT;
    Flowd__V1__SubmitRunRequest req = FLOWD__V1__SUBMIT_RUN_REQUEST__INIT;
    Flowd__V1__Node *n = calloc(nodes + 1, sizeof(*n));
    Flowd__V1__Node **np = calloc(nodes + 1, sizeof(*np));
    Flowd__V1__Connection *c = calloc(conns + 1, sizeof(*c));
    Flowd__V1__Connection **cp = calloc(conns + 1, sizeof(*cp));
    for (size_t i = 0; i < nodes; i++) {
        flowd__v1__node__init(&n[i]);
        n[i].id = "x";
        np[i] = &n[i];
    }
    for (size_t i = 0; i < conns; i++) {
        flowd__v1__connection__init(&c[i]);
        cp[i] = &c[i];
    }
    wf.name = "w";
    wf.n_nodes = nodes;
    wf.nodes = np;
    wf.n_connections = conns;
    wf.connections = cp;
    req.workflow = &wf;
    req.inputs_json = "{}";
    *ret_len = flowd__v1__submit_run_request__get_packed_size(&req);
    uint8_t *buf = malloc(*ret_len + 1);
    flowd__v1__submit_run_request__pack(&req, buf);
    free(n);
    free(np);
    free(c);
    free(cp);
    return buf;
}

static void test_rpc_wire_count_workflow_counts(void **state)
{
    (void)state;
    size_t len, nodes, conns;
    uint8_t *buf = pack_request(1234, 567, &len);
    rpc_wire_count_workflow(buf, len, &nodes, &conns);
    assert_int_equal(nodes, 1234);
    assert_int_equal(conns, 567);
    free(buf);
}

static void test_rpc_wire_count_workflow_garbage(void **state)
{
    (void)state;
    size_t nodes = 9, conns = 9;
    const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x1a, 0x00};
    rpc_wire_count_workflow(junk, sizeof(junk), &nodes, &conns);
    assert_int_equal(nodes, 0);
    assert_int_equal(conns, 0);
    rpc_wire_count_workflow(junk, 0, &nodes, &conns);
    assert_int_equal(nodes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rpc_wire_count_workflow_counts),
        cmocka_unit_test(test_rpc_wire_count_workflow_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
