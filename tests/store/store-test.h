/* store-test.h: helpers shared by the store's test files. */
#ifndef FLOWD_STORE_TEST_H
#define FLOWD_STORE_TEST_H

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/store/store.h"

/* flowd.v1.Run.Status */
enum { ST_QUEUED = 1, ST_RUNNING = 2, ST_SUCCEEDED = 3, ST_FAILED = 4, ST_CANCELLED = 5 };

typedef struct TestStore {
    char dir[PATH_MAX - 64];
    char path[PATH_MAX];
    Store *s;
    const StoreOps *ops;
    bool mounted; /* a tmpfs on dir: the teardown unmounts it even after a failure */
} TestStore;

/* A fresh directory with an open store in it; the teardown removes both. */
int ts_setup(void **state);
int ts_teardown(void **state);
void ts_reopen(TestStore *t, bool sync_full);
void ts_rmrf(const char *dir);
int ts_mkdtemp(char *buf, size_t size);

/* Run rows whose strings point at static storage or at buf. */
StoreRun ts_run(const char *run_id, const char *tenant, int status, uint64_t created_ns);
void ts_insert(TestStore *t, const char *run_id, const char *tenant, int status, uint64_t created_ns);
void ts_events(TestStore *t, const char *run_id, uint64_t from, uint64_t to, size_t blob_len);
uint64_t ts_last_seq(TestStore *t, const char *run_id);
long ts_rss_kib(void);
/* Runs sql on the file through a connection of its own, behind the store. */
void ts_sql(const char *path, const char *sql);

/* store-test-ops.c and store-test-durability.c */
extern const struct CMUnitTest store_ops_tests[];
extern const size_t store_ops_tests_n;
extern const struct CMUnitTest store_durability_tests[];
extern const size_t store_durability_tests_n;
extern const struct CMUnitTest store_tail_tests[];
extern const size_t store_tail_tests_n;

#endif
