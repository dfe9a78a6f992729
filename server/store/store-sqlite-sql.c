/* store-sqlite-sql.c: the text of every statement the store prepares.
 *
 * Kept in one table so that each connection can prepare a statement on first
 * use and keep it for its lifetime (store_conn_stmt). Times are nanoseconds
 * since the epoch in signed 64-bit INTEGER columns (good until 2262).
 */
#include "store-sqlite.h"

#define RUN_COLS                                                                                                       \
    "run_id, tenant, owner, workflow_name, status, degraded, created_ns, started_ns, finished_ns, "                    \
    "workflow, inputs_json, labels_json, outputs_json, failure, idempotency_key"
/* A run's last event seq: the last entry of its events in the primary key
 * (run_id, seq), 0 before its first event. */
#define LAST_SEQ(run) "(SELECT COALESCE(MAX(seq), 0) FROM events WHERE events.run_id = " run ")"
#define RUN_READ_COLS RUN_COLS ", " LAST_SEQ("runs.run_id")

#define DL_COLS                                                                                                        \
    "id, run_id, node_id, tenant, workflow_name, kind, inputs_json, failure, attempts, created_ns, "                   \
    "retried_run_id, node"

/* Newest first; (created_ns, run_id) is unique, so the cursor is exact even
 * when two runs share a timestamp. The indexes runs_created,
 * runs_tenant_created, runs_status_created and runs_tenant_status_created
 * serve the four filters (scanned backwards). */
#define RUNS_LIST(where)                                                                                               \
    "SELECT " RUN_READ_COLS " FROM runs WHERE 1" where " ORDER BY created_ns DESC, run_id DESC LIMIT ?5"
#define RL_TENANT " AND tenant = ?1"
#define RL_STATUS " AND status = ?2"
#define RL_CURSOR " AND (created_ns, run_id) < (?3, ?4)"

#define DL_LIST(where)                                                                                                 \
    "SELECT " DL_COLS " FROM dead_letters WHERE 1" where " ORDER BY created_ns DESC, id DESC LIMIT ?4"
#define DL_TENANT " AND tenant = ?1"
#define DL_CURSOR " AND (created_ns, id) < (?2, ?3)"

const char *const store_sql_text[_STORE_STMT_MAX] = {
    /* IMMEDIATE takes the write lock at once: there is one writer, and a
     * deferred transaction could only fail later, in the middle of a turn. */
    [STORE_STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STORE_STMT_COMMIT] = "COMMIT",
    [STORE_STMT_ROLLBACK] = "ROLLBACK",
    /* Readers must never take the write lock: a plain BEGIN is deferred. */
    [STORE_STMT_BEGIN_READ] = "BEGIN",

    [STORE_STMT_RUN_INSERT] = "INSERT INTO runs (" RUN_COLS ") "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    [STORE_STMT_RUN_UPDATE] = "UPDATE runs SET status = ?2, degraded = ?3, started_ns = ?4, finished_ns = ?5, "
                              "outputs_json = ?6, failure = ?7 WHERE run_id = ?1",
    [STORE_STMT_RUN_GET] = "SELECT " RUN_READ_COLS " FROM runs WHERE run_id = ?1",
    [STORE_STMT_RUN_EXISTS] = "SELECT " LAST_SEQ("?1") " FROM runs WHERE run_id = ?1",
    [STORE_STMT_RUN_CURSOR] = "SELECT created_ns FROM runs WHERE run_id = ?1",
    [STORE_STMT_IDEM_LOOKUP] = "SELECT run_id FROM runs WHERE tenant = ?1 AND idempotency_key = ?2",

    [STORE_STMT_NODE_PUT] = "INSERT INTO nodes (run_id, node_id, status, attempts, failure, usage, output_json) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (run_id, node_id) DO UPDATE SET "
                            "status = excluded.status, attempts = excluded.attempts, failure = excluded.failure, "
                            "usage = excluded.usage, output_json = excluded.output_json",
    [STORE_STMT_NODES_GET] = "SELECT node_id, status, attempts, failure, usage, output_json FROM nodes "
                             "WHERE run_id = ?1 ORDER BY node_id",

    /* Inserts nothing unless the run exists and seq is its last seq + 1
     * (a duplicate or a gap inserts nothing). */
    [STORE_STMT_EVENT_PUT] = "INSERT INTO events (run_id, seq, type, event) "
                             "SELECT run_id, ?2, ?3, ?4 FROM runs WHERE run_id = ?1 AND " LAST_SEQ("?1") " = ?2 - 1",
    [STORE_STMT_EVENTS_READ] = "SELECT seq, type, event FROM events WHERE run_id = ?1 AND seq > ?2 "
                               "ORDER BY seq LIMIT ?3",

    [STORE_STMT_DL_PUT] = "INSERT INTO dead_letters (" DL_COLS ") "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [STORE_STMT_DL_MARK] = "UPDATE dead_letters SET retried_run_id = ?2 WHERE id = ?1",
    [STORE_STMT_DL_DELETE] = "DELETE FROM dead_letters WHERE id = ?1",
    [STORE_STMT_DL_GET] = "SELECT " DL_COLS " FROM dead_letters WHERE id = ?1",
    [STORE_STMT_DL_CURSOR] = "SELECT created_ns FROM dead_letters WHERE id = ?1",

    [STORE_STMT_CACHE_GET] = "SELECT output_json FROM cache WHERE key = ?1 AND expires_ns > ?2",
    [STORE_STMT_CACHE_PUT] = "INSERT INTO cache (key, output_json, expires_ns) VALUES (?1, ?2, ?3) "
                             "ON CONFLICT (key) DO UPDATE SET output_json = excluded.output_json, "
                             "expires_ns = excluded.expires_ns",

    /* Oldest finished first, through the partial index runs_finished; nodes
     * and events go with their run (ON DELETE CASCADE). */
    [STORE_STMT_PURGE_RUNS] = "DELETE FROM runs WHERE run_id IN (SELECT run_id FROM runs "
                              "WHERE status >= 3 AND finished_ns < ?1 ORDER BY finished_ns LIMIT ?2)",
    [STORE_STMT_PURGE_CACHE] = "DELETE FROM cache WHERE key IN (SELECT key FROM cache "
                               "WHERE expires_ns <= ?1 ORDER BY expires_ns LIMIT ?2)",
    [STORE_STMT_RUNS_UNFINISHED] = "SELECT run_id FROM runs WHERE status IN (1, 2) ORDER BY created_ns, run_id",

    [STORE_STMT_RUNS_LIST + 0] = RUNS_LIST(""),
    [STORE_STMT_RUNS_LIST + 1] = RUNS_LIST(RL_TENANT),
    [STORE_STMT_RUNS_LIST + 2] = RUNS_LIST(RL_STATUS),
    [STORE_STMT_RUNS_LIST + 3] = RUNS_LIST(RL_TENANT RL_STATUS),
    [STORE_STMT_RUNS_LIST + 4] = RUNS_LIST(RL_CURSOR),
    [STORE_STMT_RUNS_LIST + 5] = RUNS_LIST(RL_TENANT RL_CURSOR),
    [STORE_STMT_RUNS_LIST + 6] = RUNS_LIST(RL_STATUS RL_CURSOR),
    [STORE_STMT_RUNS_LIST + 7] = RUNS_LIST(RL_TENANT RL_STATUS RL_CURSOR),

    [STORE_STMT_DL_LIST + 0] = DL_LIST(""),
    [STORE_STMT_DL_LIST + 1] = DL_LIST(DL_TENANT),
    [STORE_STMT_DL_LIST + 2] = DL_LIST(DL_CURSOR),
    [STORE_STMT_DL_LIST + 3] = DL_LIST(DL_TENANT DL_CURSOR),
};
