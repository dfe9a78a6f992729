/* wf-json.h: builds a flowd.v1.Workflow from a JSON literal for tests, the
 * way flowctl does from a file (config and fallback objects become JSON
 * strings). Free with protobuf_c_message_free_unpacked(&wf->base, NULL). */
#ifndef FLOWD_TEST_WF_JSON_H
#define FLOWD_TEST_WF_JSON_H

#include "flowd/v1/workflow.pb-c.h"

Flowd__V1__Workflow *wf_from_json(const char *json);

#endif
