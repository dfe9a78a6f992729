/* echo-client.c: one unary echo call, shaped like libflowd-client's unary
 * calls (fc-conn.c): its own pluck queue, one batch of six ops. */
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <string.h>

#include "bench/grpc/echo.h"

static int same_bytes(grpc_byte_buffer *bb, const void *buf, size_t len)
{
    grpc_byte_buffer_reader r;
    int same;

    if (!bb || !grpc_byte_buffer_reader_init(&r, bb))
        return 0;
    grpc_slice s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    same = GRPC_SLICE_LENGTH(s) == len && memcmp(GRPC_SLICE_START_PTR(s), buf, len) == 0;
    grpc_slice_unref(s);
    return same;
}

int echo_call(grpc_channel *ch, const void *buf, size_t len)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(30000, GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               grpc_slice_from_static_string(ECHO_METHOD), NULL, deadline, NULL);
    grpc_slice s = grpc_slice_from_copied_buffer(buf, len);
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&s, 1), *recv = NULL;
    grpc_metadata_array initial_md, trailing_md;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    const char *error_string = NULL;
    grpc_op ops[6] = {{.op = GRPC_OP_SEND_INITIAL_METADATA},  {.op = GRPC_OP_SEND_MESSAGE},
                      {.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT}, {.op = GRPC_OP_RECV_INITIAL_METADATA},
                      {.op = GRPC_OP_RECV_MESSAGE},           {.op = GRPC_OP_RECV_STATUS_ON_CLIENT}};
    int ok = 0;

    grpc_slice_unref(s);
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    ops[1].data.send_message.send_message = send;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.error_string = &error_string;
    if (call && grpc_call_start_batch(call, ops, 6, &ops, NULL) == GRPC_CALL_OK) {
        grpc_event ev = grpc_completion_queue_pluck(cq, &ops, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        ok = ev.type == GRPC_OP_COMPLETE && ev.success && status == GRPC_STATUS_OK && same_bytes(recv, buf, len);
    }
    if (recv)
        grpc_byte_buffer_destroy(recv);
    grpc_byte_buffer_destroy(send);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_slice_unref(details);
    if (error_string)
        gpr_free((void *)error_string);
    if (call)
        grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    return ok ? 0 : -1;
}
