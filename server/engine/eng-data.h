/* eng-data.h: how data flows between nodes (DESIGN.md §4). A node's inputs
 * are config.params < values mapped from upstream outputs < the run inputs
 * for that node (the caller wins). */
#ifndef FLOWD_ENG_DATA_H
#define FLOWD_ENG_DATA_H

#include <jansson.h>

#include "server/engine/eng-workflow.h"

/* Resolves a dotted path ("result.items", "rows.0.id") in v. Returns a
 * borrowed reference or NULL when a segment is missing. */
json_t *eng_path_get(const json_t *v, const char *path);

/* Returns the source output carried by connection conn, or NULL when the
 * connection is dead (its source was skipped or failed, or it leaves a
 * switch by a port that was not taken). */
typedef const json_t *(*EngOutputFn)(const void *ctx, uint32_t conn);

/* Assembles the inputs of node ni; output_of is asked for the source output
 * of each incoming connection. run_inputs is the caller's object for this
 * node or NULL. Returns a new object, or NULL with *ret_err set to a message
 * naming the connection that failed. */
json_t *eng_assemble_inputs(const EngWorkflow *wf, uint32_t ni, EngOutputFn output_of, const void *ctx,
                            const json_t *run_inputs, char **ret_err);

/* Checks run inputs against the workflow: an object keyed by node id, each
 * value an object. Problems go to d with paths "inputs.<id>". */
void eng_check_run_inputs(const EngWorkflow *wf, const json_t *inputs, Diags *d);

#endif
