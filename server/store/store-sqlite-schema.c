/* store-sqlite-schema.c: the schema and its versioned migrations.
 *
 * The schema version lives in the file header (PRAGMA user_version) and the
 * file is marked as flowd's (PRAGMA application_id = 'flow'). At open, every
 * migration from the file's version up to STORE_SCHEMA_VERSION runs in one
 * transaction together with the new user_version, so a crash mid-migration
 * leaves the file at its old version, untouched. A file newer than this
 * binary is refused (-EPROTO) rather than written by code that does not know
 * its tables. Version N+1 is one more function in store_migrations[].
 * docs/schema.md describes the tables.
 */
#include <errno.h>
#include <stdio.h>

#include "store-sqlite.h"

#define STORE_APPLICATION_ID 0x666c6f77 /* "flow" */
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* STRICT tables: a value of the wrong type is an error, not a silent
 * conversion. Blobs and JSON that may be absent are NULL. */
static const char store_schema_v1[] =
    "CREATE TABLE runs ("
    " run_id TEXT PRIMARY KEY NOT NULL,"
    " tenant TEXT NOT NULL,"
    " owner TEXT NOT NULL,"
    " workflow_name TEXT NOT NULL,"
    " status INTEGER NOT NULL,"
    " degraded INTEGER NOT NULL DEFAULT 0,"
    " created_ns INTEGER NOT NULL,"
    " started_ns INTEGER NOT NULL DEFAULT 0,"
    " finished_ns INTEGER NOT NULL DEFAULT 0,"
    " workflow BLOB,"
    " inputs_json TEXT,"
    " labels_json TEXT,"
    " outputs_json TEXT,"
    " failure BLOB,"
    " idempotency_key TEXT,"
    " last_seq INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0)"
    ") STRICT;"
    "CREATE INDEX runs_created ON runs (created_ns, run_id);"
    "CREATE INDEX runs_tenant_created ON runs (tenant, created_ns, run_id);"
    "CREATE INDEX runs_status_created ON runs (status, created_ns, run_id);"
    "CREATE INDEX runs_tenant_status_created ON runs (tenant, status, created_ns, run_id);"
    "CREATE INDEX runs_finished ON runs (finished_ns) WHERE status >= 3;"
    "CREATE UNIQUE INDEX runs_idempotency ON runs (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;"
    "CREATE TABLE nodes ("
    " run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,"
    " node_id TEXT NOT NULL,"
    " status INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " failure BLOB,"
    " usage BLOB,"
    " output_json TEXT,"
    " UNIQUE (run_id, node_id)"
    ") STRICT;"
    "CREATE TABLE events ("
    " run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL CHECK (seq >= 1),"
    " type INTEGER NOT NULL,"
    " event BLOB,"
    " PRIMARY KEY (run_id, seq)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TRIGGER events_last_seq AFTER INSERT ON events BEGIN"
    " UPDATE runs SET last_seq = NEW.seq WHERE run_id = NEW.run_id;"
    " END;"
    "CREATE TABLE dead_letters ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " run_id TEXT NOT NULL,"
    " node_id TEXT NOT NULL,"
    " tenant TEXT NOT NULL,"
    " workflow_name TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " inputs_json TEXT,"
    " failure BLOB,"
    " attempts INTEGER NOT NULL,"
    " created_ns INTEGER NOT NULL,"
    " retried_run_id TEXT,"
    " node BLOB"
    ") STRICT;"
    "CREATE INDEX dead_letters_created ON dead_letters (created_ns, id);"
    "CREATE INDEX dead_letters_tenant_created ON dead_letters (tenant, created_ns, id);"
    "CREATE TABLE cache ("
    " key TEXT PRIMARY KEY NOT NULL,"
    " output_json TEXT NOT NULL,"
    " expires_ns INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX cache_expires ON cache (expires_ns);";

static int store_migrate_v1(StoreConn *c, StoreError *e) { return store_conn_exec(c, store_schema_v1, e); }

/* Version 2: a run's last event seq is MAX(seq) of its events (one seek in
 * the events primary key), not a column of runs kept by a trigger. The
 * trigger made every event rewrite its run's row, workflow blob included:
 * 24% of the server's CPU in a run of 5,000 noop nodes. */
static const char store_schema_v2[] = "DROP TRIGGER events_last_seq;"
                                      "ALTER TABLE runs DROP COLUMN last_seq;";

static int store_migrate_v2(StoreConn *c, StoreError *e) { return store_conn_exec(c, store_schema_v2, e); }

const char *store_schema_sql(int version)
{
    return version == 1 ? store_schema_v1 : version == 2 ? store_schema_v2 : NULL;
}

typedef int (*StoreMigration)(StoreConn *c, StoreError *e);

/* store_migrations[v] takes a file from version v - 1 to version v. */
static const StoreMigration store_migrations[] = {
    [1] = store_migrate_v1,
    [2] = store_migrate_v2,
};

_Static_assert(ELEMENTSOF(store_migrations) == STORE_SCHEMA_VERSION + 1,
               "every schema version up to STORE_SCHEMA_VERSION needs a migration");

static int store_pragma_int(StoreConn *c, const char *sql, int64_t *ret, StoreError *e)
{
    sqlite3_stmt *st = NULL;
    int rc;

    rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        int r = store_err_sqlite(e, c->db, rc, sql);
        sqlite3_finalize(st);
        return r;
    }
    *ret = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* A file flowd did not make is never written: user_version 0 with tables in
 * it, or another application's id, means someone else's database. */
static int store_schema_check(StoreConn *c, const char *path, int64_t *ret_version, StoreError *e)
{
    int64_t version, app_id, n_tables;
    int r;

    if ((r = store_pragma_int(c, "PRAGMA user_version", &version, e)) < 0 ||
        (r = store_pragma_int(c, "PRAGMA application_id", &app_id, e)) < 0 ||
        (r = store_pragma_int(c, "SELECT count(*) FROM sqlite_schema", &n_tables, e)) < 0)
        return r;
    if (app_id != STORE_APPLICATION_ID && (app_id != 0 || version != 0 || n_tables != 0))
        return store_err(e, -ENOTSUP, "store %s is not a flowd store (application_id %lld, %lld tables)", path,
                         (long long)app_id, (long long)n_tables);
    if (version > STORE_SCHEMA_VERSION)
        return store_err(e, -EPROTO,
                         "store %s has schema version %lld, this flowd knows up to %d: "
                         "upgrade flowd or restore a backup",
                         path, (long long)version, STORE_SCHEMA_VERSION);
    *ret_version = version;
    return 0;
}

static int store_schema_step(StoreConn *c, int version, StoreError *e)
{
    char sql[64];
    int r;

    r = store_migrations[version](c, e);
    if (r < 0)
        return store_err_wrap(e, r, "migration to schema version %d", version);
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
    return store_conn_exec(c, sql, e);
}

static int store_schema_upgrade(StoreConn *c, int from, StoreError *e)
{
    char sql[64];
    int r;

    if ((r = store_conn_exec(c, "BEGIN IMMEDIATE", e)) < 0)
        return r;
    snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", STORE_APPLICATION_ID);
    r = store_conn_exec(c, sql, e);
    for (int v = from + 1; r >= 0 && v <= STORE_SCHEMA_VERSION; v++)
        r = store_schema_step(c, v, e);
    if (r >= 0)
        r = store_conn_exec(c, "COMMIT", e);
    if (r < 0 && !sqlite3_get_autocommit(c->db))
        (void)sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

/* WAL is switched on only once the file is known to be ours, and outside any
 * transaction (SQLite cannot change the journal mode inside one). WAL is what
 * lets the reader connections read while the writer writes. */
static int store_schema_wal(StoreConn *c, const char *path, StoreError *e)
{
    sqlite3_stmt *st = NULL;
    int rc, r = 0;

    rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        r = store_err_sqlite(e, c->db, rc, "PRAGMA journal_mode = WAL");
    else if (sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
        r = store_err(e, -ENOTSUP, "store %s: the file system does not support SQLite's WAL mode (journal mode %s)",
                      path, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return r;
}

int store_schema_migrate(StoreConn *c, const char *path, StoreError *e)
{
    int64_t version = 0;
    int r;

    if ((r = store_schema_check(c, path, &version, e)) < 0)
        return r;
    if ((r = store_schema_wal(c, path, e)) < 0)
        return r;
    if (version == STORE_SCHEMA_VERSION)
        return 0;
    return store_schema_upgrade(c, (int)version, e);
}
