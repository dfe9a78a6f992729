/* fake-server.h: an in-process stand-in for flowd's WorkflowService and
 * Health, with scripted answers, so that the client's RPC layer and
 * flowctl's commands can be tested without the real server.
 *
 * Scripted behaviour:
 *  - ExecuteRun streams, for each node in order: NODE_STARTED, NODE_PROGRESS
 *    0.5, NODE_LOG "hello from ID", NODE_SUCCEEDED (usage: 1 MiB, 2 ms) and
 *    RUN_SUCCEEDED with outputs {"ID": {"ok": true}, ...}. A node of kind
 *    "fail" gets NODE_FAILED (TIMEOUT) and the run RUN_FAILED. A node of kind
 *    "bogus" makes the workflow invalid (INVALID_ARGUMENT; ValidateWorkflow
 *    lists "nodes[i].kind: unknown kind \"bogus\"").
 *  - With hang set, ExecuteRun/WatchRun stop after RUN_STARTED and wait for
 *    the client to cancel.
 *  - Run "run-1" exists (nodes a, b); other ids are NOT_FOUND. ListRuns has
 *    three runs, paged by page_size. Dead letter "dl-1" retries as "run-2".
 *  - With a token set, calls without "authorization: Bearer TOKEN" get
 *    UNAUTHENTICATED (health excepted).
 * Calls are served one at a time on one thread.
 */
#ifndef FLOWD_TESTS_FAKE_SERVER_H
#define FLOWD_TESTS_FAKE_SERVER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct FakeServer FakeServer;

typedef struct FakeServerOptions {
    const char *token;              /* required bearer token, or NULL */
    bool hang;                      /* streams wait for a client cancel after RUN_STARTED */
    const char *tls_cert, *tls_key; /* PEM files: serve TLS instead of plaintext */
} FakeServerOptions;

/* Listens on 127.0.0.1 with a free port; *ret_addr is "127.0.0.1:PORT". */
FakeServer *fake_server_start(const FakeServerOptions *opts, char *ret_addr, size_t len);
void fake_server_stop(FakeServer *s);

typedef struct FakeServerRecord {
    int n_calls;
    char last_method[128];
    char last_authorization[256];
    char last_inputs_json[1024];
    char last_idempotency_key[128];
    int n_labels;
    char first_label[128];       /* "key=value" */
    char last_config_json[1024]; /* of node 0 */
    bool stream_cancelled;       /* a stream ended by the client */
} FakeServerRecord;

/* A copy of what the server saw so far. */
void fake_server_record(FakeServer *s, FakeServerRecord *ret);

#endif
