/* rpc-convert.h: store rows to API messages, allocated so that
 * protobuf_c_message_free_unpacked(&m->base, NULL) frees them. */
#ifndef FLOWD_RPC_CONVERT_H
#define FLOWD_RPC_CONVERT_H

#include "flowd/v1/service.pb-c.h"
#include "server/store/store.h"

Flowd__V1__Run *rpc_run_msg(const StoreRun *r, const StoreNode *nodes, size_t n);
Flowd__V1__DeadLetter *rpc_dead_letter_msg(const StoreDeadLetter *d);

#endif
