/* store.h: the durable store behind a table of functions (DESIGN.md §8).
 *
 * SQLite is the embedded default (store-sqlite.c); PostgreSQL comes later
 * behind the same table. The store knows rows, not workflows: packed
 * protobuf messages (workflow, events, failures, usage) are opaque blobs.
 *
 * Threads: the writer functions (marked W) are called by one thread only, the
 * engine thread, inside begin/commit; the engine batches the changes of one
 * loop turn into one transaction (group commit) and only makes them visible to
 * clients after commit returns. Reader functions (marked R) may be called from
 * any thread at any time; each sees committed data only.
 *
 * Errors: 0 or -errno. -ENOENT: no such row. -EEXIST: duplicate key.
 * -ENOSPC / -EIO: the write failed (disk full, I/O error): the transaction is
 * rolled back and nothing half-written is visible. -EPROTO: the file's schema
 * is newer than this binary. Details in StoreError where given.
 *
 * Ownership: rows returned through ret_* are allocated by the store and freed
 * with store_run_free(), store_node_free() and friends, or the *_array_free()
 * helpers; strings in rows passed in are copied.
 */
#ifndef FLOWD_STORE_H
#define FLOWD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct StoreError {
    int err; /* positive errno */
    char msg[512];
} StoreError;

typedef struct StoreBlob {
    void *data;
    size_t len;
} StoreBlob;

/* Status values are those of flowd.v1.Run.Status and flowd.v1.NodeRun.Status. */
typedef struct StoreRun {
    char *run_id;
    char *tenant;
    char *owner;
    char *workflow_name;
    int status;
    bool degraded;
    uint64_t created_ns;
    uint64_t started_ns;   /* 0 until started */
    uint64_t finished_ns;  /* 0 until finished */
    StoreBlob workflow;    /* packed flowd.v1.Workflow */
    char *inputs_json;     /* the run inputs, a JSON object keyed by node id */
    char *labels_json;     /* {"k": "v"} */
    char *outputs_json;    /* NULL until finished */
    StoreBlob failure;     /* packed flowd.v1.Failure, or empty */
    char *idempotency_key; /* NULL or "" when none */
    uint64_t last_seq;     /* read only: highest event seq written for the run (event_put moves it) */
} StoreRun;

typedef struct StoreNode {
    char *node_id;
    int status;
    uint32_t attempts;
    StoreBlob failure; /* packed flowd.v1.Failure, or empty */
    StoreBlob usage;   /* packed flowd.v1.ResourceUsage, or empty */
    char *output_json; /* NULL unless succeeded (or fallback applied) */
} StoreNode;

typedef struct StoreEvent {
    uint64_t seq;
    int type;        /* flowd.v1.RunEvent.Type */
    StoreBlob event; /* the packed flowd.v1.RunEvent, sent to clients as is */
} StoreEvent;

typedef struct StoreDeadLetter {
    char *id;
    char *run_id;
    char *node_id;
    char *tenant;
    char *workflow_name;
    char *kind;
    char *inputs_json;
    StoreBlob failure; /* packed flowd.v1.Failure */
    uint32_t attempts;
    uint64_t created_ns;
    char *retried_run_id; /* NULL until retried */
    StoreBlob node;       /* packed flowd.v1.Node, to re-run it */
} StoreDeadLetter;

typedef struct StoreOptions {
    /* true: fsync on every commit (survives power loss); false: WAL with
     * synchronous=NORMAL (survives a process crash, may lose the last commits
     * on power loss). See docs/durability.md. */
    bool sync_full;
    unsigned readers; /* reader connections; 0 = 4 */
} StoreOptions;

typedef struct Store Store;

typedef struct StoreOps {
    const char *scheme; /* "sqlite" */

    /* Opens (creating if needed) and migrates the schema. */
    int (*open)(const char *location, const StoreOptions *o, Store **ret, StoreError *e);
    void (*close)(Store *s);

    /* W: transactions. begin is cheap; commit makes everything durable per
     * StoreOptions. On failure commit rolls back and returns -errno. */
    int (*begin)(Store *s, StoreError *e);
    int (*commit)(Store *s, StoreError *e);
    int (*rollback)(Store *s);

    /* W: runs. insert fails -EEXIST on a duplicate run_id. update writes
     * status, degraded, started/finished, outputs, failure. */
    int (*run_insert)(Store *s, const StoreRun *r, StoreError *e);
    int (*run_update)(Store *s, const StoreRun *r, StoreError *e);
    /* W: the (tenant, key) -> run_id map for SubmitRun idempotency; lookups
     * return -ENOENT when unseen. */
    int (*idem_lookup)(Store *s, const char *tenant, const char *key, char **ret_run_id);
    /* W: node state, insert or replace by (run_id, node_id). */
    int (*node_put)(Store *s, const char *run_id, const StoreNode *n, StoreError *e);
    /* W: one event; seq must be last_seq + 1 of the run (-EEXIST otherwise). */
    int (*event_put)(Store *s, const char *run_id, const StoreEvent *ev, StoreError *e);
    /* W: dead letters. */
    int (*dead_letter_put)(Store *s, const StoreDeadLetter *d, StoreError *e);
    int (*dead_letter_mark_retried)(Store *s, const char *id, const char *run_id, StoreError *e);
    /* W: the node cache; lookups return -ENOENT when absent or expired. */
    int (*cache_get)(Store *s, const char *key, uint64_t now_ns, char **ret_output_json);
    int (*cache_put)(Store *s, const char *key, const char *output_json, uint64_t expires_ns, StoreError *e);
    /* W: deletes at most max finished runs (with their nodes and events)
     * finished before before_ns, in one small transaction of its own (must be
     * called outside begin/commit), and expired cache entries. */
    int (*purge)(Store *s, uint64_t before_ns, unsigned max, unsigned *ret_purged, StoreError *e);

    /* R: a run with its nodes (ordered by node_id). */
    int (*run_get)(Store *s, const char *run_id, StoreRun **ret_run, StoreNode **ret_nodes, size_t *ret_n);
    /* R: runs of a tenant (NULL: every tenant) newest first, optionally one
     * status (0: any), after the cursor run_id (NULL: from the newest). */
    int (*runs_list)(Store *s, const char *tenant, int status, const char *after_run_id, unsigned limit,
                     StoreRun **ret_runs, size_t *ret_n);
    /* R: run ids with status QUEUED or RUNNING, oldest first (recovery). */
    int (*runs_unfinished)(Store *s, char ***ret_ids, size_t *ret_n);
    /* R: events with seq > after_seq, ascending, at most max. */
    int (*events_read)(Store *s, const char *run_id, uint64_t after_seq, unsigned max, StoreEvent **ret_events,
                       size_t *ret_n);
    /* R: dead letters of a tenant (NULL: every tenant), newest first, after the cursor id. */
    int (*dead_letters_list)(Store *s, const char *tenant, const char *after_id, unsigned limit, StoreDeadLetter **ret,
                             size_t *ret_n);
    int (*dead_letter_get)(Store *s, const char *id, StoreDeadLetter **ret);
    /* R: is the store writable right now (for /readyz and health)? */
    bool (*healthy)(Store *s);

    /* Added after the first version of this table. */

    /* W: deletes one dead letter (an admin purge; purge() never deletes
     * them). -ENOENT when there is no such id. */
    int (*dead_letter_delete)(Store *s, const char *id, StoreError *e);
} StoreOps;

/* The open store: every implementation's handle starts with this. */
struct Store {
    const StoreOps *ops;
};

extern const StoreOps store_sqlite_ops;

/* Opens the store named by a FLOWD_STORE value ("sqlite:PATH") or, when
 * location is NULL or empty, FLOWD_DATA_DIR/flowd.db. */
int store_open(const char *location, const char *data_dir, const StoreOptions *o, Store **ret, StoreError *e);
void store_close(Store *s);

/* Destructors accept NULL. The array forms free every element and the array. */
void store_run_clear(StoreRun *r);
void store_node_clear(StoreNode *n);
void store_event_clear(StoreEvent *ev);
void store_dead_letter_clear(StoreDeadLetter *d);
void store_runs_free(StoreRun *runs, size_t n);
void store_nodes_free(StoreNode *nodes, size_t n);
void store_events_free(StoreEvent *events, size_t n);
void store_dead_letters_free(StoreDeadLetter *d, size_t n);
void store_ids_free(char **ids, size_t n);

/* The newest schema version this binary knows. */
#define STORE_SCHEMA_VERSION 2

#endif
