/* store-sqlite.h: internals of the SQLite store, shared by its store-sqlite-*.c
 * files. Nothing here is part of the interface in store.h.
 *
 * One Store holds one writer connection, used only by the engine thread (the
 * W functions of store.h), and a small pool of query_only reader connections
 * handed out under a mutex to whichever thread calls an R function. Every
 * connection caches its prepared statements, so a statement is compiled once
 * per connection for the life of the store.
 */
#ifndef FLOWD_STORE_SQLITE_H
#define FLOWD_STORE_SQLITE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "store.h"

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define TAKE_PTR(p)                                                                                                    \
    ({                                                                                                                 \
        __typeof__(p) _p_ = (p);                                                                                       \
        (p) = NULL;                                                                                                    \
        _p_;                                                                                                           \
    })

static inline void store_freep(void *p) { free(*(void **)p); }
#define _cleanup_free_ _cleanup_(store_freep)

/* flowd.v1.Run.Status, as far as the store needs to know it: a run whose
 * status is at least SUCCEEDED is finished (retention, recovery). */
enum {
    STORE_RUN_QUEUED = 1,
    STORE_RUN_RUNNING = 2,
    STORE_RUN_SUCCEEDED = 3,
};

/* Rows returned when the caller passes a limit of 0. */
#define STORE_PAGE_DEFAULT 100u

/* The page cache of each connection, in KiB. Bounded so that the store's
 * memory does not grow with the number of runs it holds (docs/durability.md). */
#define STORE_WRITER_CACHE_KIB 4096
#define STORE_READER_CACHE_KIB 1024
/* How long a connection waits for a lock held by another before SQLITE_BUSY. */
#define STORE_BUSY_TIMEOUT_MS 5000
/* After a checkpoint the WAL file is truncated to at most this size. */
#define STORE_WAL_LIMIT_BYTES (64 * 1024 * 1024)
#define STORE_READERS_DEFAULT 4u
#define STORE_READERS_MAX 64u

/* Every SQL statement the store runs. The runs_list and dead_letters_list
 * variants are consecutive so that a bit mask picks one (see the sql table). */
typedef enum StoreStmt {
    STORE_STMT_BEGIN,
    STORE_STMT_COMMIT,
    STORE_STMT_ROLLBACK,
    STORE_STMT_BEGIN_READ,
    STORE_STMT_RUN_INSERT,
    STORE_STMT_RUN_UPDATE,
    STORE_STMT_RUN_GET,
    STORE_STMT_RUN_EXISTS,
    STORE_STMT_RUN_CURSOR,
    STORE_STMT_IDEM_LOOKUP,
    STORE_STMT_NODE_PUT,
    STORE_STMT_NODES_GET,
    STORE_STMT_EVENT_PUT,
    STORE_STMT_EVENTS_READ,
    STORE_STMT_DL_PUT,
    STORE_STMT_DL_MARK,
    STORE_STMT_DL_DELETE,
    STORE_STMT_DL_GET,
    STORE_STMT_DL_CURSOR,
    STORE_STMT_CACHE_GET,
    STORE_STMT_CACHE_PUT,
    STORE_STMT_PURGE_RUNS,
    STORE_STMT_PURGE_CACHE,
    STORE_STMT_RUNS_UNFINISHED,
    /* + 1: tenant given, + 2: status given, + 4: cursor given. */
    STORE_STMT_RUNS_LIST,
    STORE_STMT_RUNS_LIST_LAST = STORE_STMT_RUNS_LIST + 7,
    /* + 1: tenant given, + 2: cursor given. */
    STORE_STMT_DL_LIST,
    STORE_STMT_DL_LIST_LAST = STORE_STMT_DL_LIST + 3,
    _STORE_STMT_MAX,
} StoreStmt;

typedef struct StoreConn {
    sqlite3 *db;
    sqlite3_stmt *stmts[_STORE_STMT_MAX];
    struct StoreConn *next_free; /* reader pool free list */
} StoreConn;

/* Transaction state of the writer. FAILED: a write hit ENOSPC/EIO inside
 * begin/commit, the store rolled back at once (so no lock is held and nothing
 * half-written can become visible) and every later write and the commit
 * report the saved error until the engine calls rollback. */
typedef enum StoreTx {
    STORE_TX_NONE,
    STORE_TX_OPEN,
    STORE_TX_FAILED,
    _STORE_TX_MAX,
} StoreTx;

/* store-sqlite-tail.c: the last events of recently written runs, in memory,
 * for streams that follow live runs. */
#define STORE_TAIL_RUNS 64
#define STORE_TAIL_EVENTS 128

typedef struct StoreTailRun {
    char *run_id; /* NULL: a free slot */
    StoreEvent ring[STORE_TAIL_EVENTS];
    size_t head, n;   /* ring[head] holds the oldest of n events */
    uint64_t written; /* StoreTail.clock at the last append */
} StoreTailRun;

typedef struct StoreTailStaged {
    char *run_id;
    StoreEvent ev;
} StoreTailStaged;

typedef struct StoreTail {
    pthread_mutex_t mu; /* runs and clock; the staged list is the writer's */
    StoreTailRun runs[STORE_TAIL_RUNS];
    uint64_t clock;
    StoreTailStaged *staged; /* this transaction's events */
    size_t n_staged, cap_staged;
    bool stage_failed; /* a copy failed: the commit drops every tail */
} StoreTail;

void store_tail_init(StoreTail *t);
void store_tail_free(StoreTail *t);
void store_tail_stage(StoreTail *t, const char *run_id, const StoreEvent *ev);
void store_tail_commit_begin(StoreTail *t);
void store_tail_commit_end(StoreTail *t, bool committed);
void store_tail_discard(StoreTail *t);
void store_tail_forget(StoreTail *t, const char *run_id);
void store_tail_clear(StoreTail *t);
int store_tail_read(StoreTail *t, const char *run_id, uint64_t after_seq, unsigned max, StoreEvent **ret_events,
                    size_t *ret_n);

typedef struct StoreSqlite {
    Store base; /* first: a Store * is a StoreSqlite * */
    char *path;
    int lock_fd; /* flock()ed: one flowd per store file */
    StoreConn writer;
    StoreTx tx;
    StoreError tx_error;      /* why the transaction failed (tx == FAILED) */
    atomic_bool write_broken; /* the last write failed with ENOSPC/EIO */
    StoreTail tail;

    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;
    StoreConn *pool_free;
    StoreConn *readers;
    unsigned n_readers;
} StoreSqlite;

static inline StoreSqlite *store_sql(Store *s) { return (StoreSqlite *)s; }

/* store-sqlite-sql.c: the text of every statement. */
extern const char *const store_sql_text[_STORE_STMT_MAX];

/* store-sqlite-conn.c: store_conn_stmt returns a SQLite result code, the rest -errno. */
int store_conn_open(StoreConn *c, const char *path, bool writer, bool sync_full, StoreError *e);
void store_conn_close(StoreConn *c);
int store_conn_stmt(StoreConn *c, StoreStmt id, sqlite3_stmt **ret);
int store_conn_exec(StoreConn *c, const char *sql, StoreError *e);
int store_pool_open(StoreSqlite *s, unsigned n, StoreError *e);
void store_pool_close(StoreSqlite *s);
StoreConn *store_reader_get(StoreSqlite *s);
void store_reader_put(StoreSqlite *s, StoreConn *c);
void store_stmt_donep(sqlite3_stmt **st);

/* A reader connection borrowed from the pool for the scope of a variable:
 *     _cleanup_reader_ StoreReader rd = store_reader(s);
 * store_reader_begin opens a read transaction, for functions that run more
 * than one query and must see one snapshot; the cleanup ends it. */
typedef struct StoreReader {
    StoreSqlite *s;
    StoreConn *c;
    bool in_tx;
} StoreReader;

static inline StoreReader store_reader(Store *s)
{
    return (StoreReader){store_sql(s), store_reader_get(store_sql(s)), false};
}
int store_reader_begin(StoreReader *rd);
void store_reader_donep(StoreReader *rd);
#define _cleanup_reader_ _cleanup_(store_reader_donep)
#define _cleanup_stmt_ _cleanup_(store_stmt_donep)

/* store-sqlite-error.c: SQLite's result codes become -errno here and only here. */
int store_errno_from_sqlite(sqlite3 *db, int rc);
int store_err(StoreError *e, int neg_errno, const char *fmt, ...) _printf_(3, 4);
int store_err_sqlite(StoreError *e, sqlite3 *db, int rc, const char *what);
/* Puts context in front of the message already in e: "context: message". */
int store_err_wrap(StoreError *e, int neg_errno, const char *fmt, ...) _printf_(3, 4);
bool store_err_is_write_failure(int neg_errno);

/* store-sqlite-schema.c */
int store_schema_migrate(StoreConn *c, const char *path, StoreError *e);
/* The SQL that takes a file to `version` (for the migration tests). */
const char *store_schema_sql(int version);

/* store-sqlite-row.c: binding parameters and reading columns. Both keep the
 * first error and turn every later call into a no-op, so a function binds or
 * reads a whole row and checks once. Bound strings and blobs are not copied:
 * the statement is stepped and reset before the caller's data goes away. */
typedef struct StoreBind {
    sqlite3_stmt *st;
    int rc; /* SQLite result code of the first failed bind */
} StoreBind;

void store_bind_text(StoreBind *b, int i, const char *v);      /* NULL binds NULL */
void store_bind_str(StoreBind *b, int i, const char *v);       /* NOT NULL columns: NULL binds "" */
void store_bind_key(StoreBind *b, int i, const char *v);       /* optional keys: NULL and "" bind NULL */
void store_bind_blob(StoreBind *b, int i, const StoreBlob *v); /* empty binds NULL */
void store_bind_u64(StoreBind *b, int i, uint64_t v);          /* clamped to INT64_MAX */
void store_bind_int(StoreBind *b, int i, int64_t v);

typedef struct StoreCols {
    sqlite3_stmt *st;
    int r; /* -ENOMEM once a copy failed */
} StoreCols;

char *store_col_text(StoreCols *c, int i); /* a copy, or NULL for NULL */
StoreBlob store_col_blob(StoreCols *c, int i);
uint64_t store_col_u64(sqlite3_stmt *st, int i);

int store_strdup(const char *s, char **ret);
/* Makes room for one more element of size elem in *array holding n. */
int store_grow(void **array, size_t elem, size_t n, size_t *cap);
/* Clamps a caller's time or seq to what an INTEGER column holds. */
int64_t store_i64(uint64_t v);

/* store-sqlite.c: the writer's paths. store_write_failed converts the error
 * of a write statement and, for ENOSPC/EIO, rolls the open transaction back
 * and marks it failed. store_write_check fails with the saved error when the
 * open transaction already failed. store_write_prepare does that check and
 * gets a cached statement; store_write_exec steps a bound statement. */
int store_write_failed(StoreSqlite *s, int rc, StoreError *e, const char *fmt, ...) _printf_(4, 5);
int store_write_check(StoreSqlite *s, StoreError *e);
int store_write_prepare(StoreSqlite *s, StoreStmt id, sqlite3_stmt **ret, StoreError *e);
int store_write_exec(StoreSqlite *s, StoreBind *b, StoreError *e, const char *what, const char *key);

/* The ops, one file per table. */
int store_sqlite_run_insert(Store *s, const StoreRun *r, StoreError *e);
int store_sqlite_run_update(Store *s, const StoreRun *r, StoreError *e);
int store_sqlite_idem_lookup(Store *s, const char *tenant, const char *key, char **ret_run_id);
int store_sqlite_run_get(Store *s, const char *run_id, StoreRun **ret_run, StoreNode **ret_nodes, size_t *ret_n);
int store_sqlite_runs_list(Store *s, const char *tenant, int status, const char *after_run_id, unsigned limit,
                           StoreRun **ret_runs, size_t *ret_n);
int store_sqlite_runs_unfinished(Store *s, char ***ret_ids, size_t *ret_n);
int store_sqlite_node_put(Store *s, const char *run_id, const StoreNode *n, StoreError *e);
int store_sqlite_event_put(Store *s, const char *run_id, const StoreEvent *ev, StoreError *e);
int store_sqlite_events_read(Store *s, const char *run_id, uint64_t after_seq, unsigned max, StoreEvent **ret_events,
                             size_t *ret_n);
int store_sqlite_dead_letter_put(Store *s, const StoreDeadLetter *d, StoreError *e);
int store_sqlite_dead_letter_mark_retried(Store *s, const char *id, const char *run_id, StoreError *e);
int store_sqlite_dead_letter_delete(Store *s, const char *id, StoreError *e);
int store_sqlite_dead_letters_list(Store *s, const char *tenant, const char *after_id, unsigned limit,
                                   StoreDeadLetter **ret, size_t *ret_n);
int store_sqlite_dead_letter_get(Store *s, const char *id, StoreDeadLetter **ret);
int store_sqlite_cache_get(Store *s, const char *key, uint64_t now_ns, char **ret_output_json);
int store_sqlite_cache_put(Store *s, const char *key, const char *output_json, uint64_t expires_ns, StoreError *e);
int store_sqlite_purge(Store *s, uint64_t before_ns, unsigned max, unsigned *ret_purged, StoreError *e);

#endif
