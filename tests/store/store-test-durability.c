/* store-test-durability.c: migrations, crashes, concurrency, disk full, memory. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "server/store/store-sqlite.h"
#include "store-test.h"

#define T(name) cmocka_unit_test_setup_teardown(name, ts_setup, ts_teardown)

static long long ts_sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_schema_migrate_from_empty(void **state)
{
    TestStore *t = *state;

    store_close(t->s);
    t->s = NULL;
    assert_int_equal(ts_sql_int(t->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(ts_sql_int(t->path, "PRAGMA application_id"), 0x666c6f77);
    assert_int_equal(ts_sql_int(t->path, "SELECT count(*) FROM sqlite_schema WHERE name IN "
                                         "('runs', 'nodes', 'events', 'dead_letters', 'cache')"),
                     5);
    ts_reopen(t, false); /* an up-to-date file opens without migrating */
    assert_int_equal(ts_sql_int(t->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
}

static void test_schema_newer_refused(void **state)
{
    TestStore *t = *state;
    char loc[PATH_MAX + 16];
    StoreError e = {0};
    Store *s = NULL;

    store_close(t->s);
    t->s = NULL;
    ts_sql(t->path, "PRAGMA user_version = 3");
    snprintf(loc, sizeof(loc), "sqlite:%s", t->path);
    assert_int_equal(store_open(loc, NULL, NULL, &s, &e), -EPROTO);
    assert_int_equal(e.err, EPROTO);
    assert_non_null(strstr(e.msg, "has schema version 3, this flowd knows up to 2"));
    assert_non_null(strstr(e.msg, t->path));
    assert_non_null(strstr(e.msg, "upgrade flowd or restore a backup"));
    /* Refused without being touched. */
    assert_int_equal(ts_sql_int(t->path, "PRAGMA user_version"), 3);
    ts_sql(t->path, "PRAGMA user_version = 2");
    ts_reopen(t, false);
}

/* A file written by a version 1 flowd (runs.last_seq kept by a trigger)
 * opens in this one: its runs, nodes and events are kept, each run's last
 * seq is what it was, and its event log goes on from there. */
static void test_schema_migrate_v1_to_v2(void **state)
{
    TestStore *t = *state;
    char path[PATH_MAX + 16], loc[PATH_MAX + 32], sql[1024];
    StoreError e = {0};

    store_close(t->s);
    t->s = NULL;
    snprintf(path, sizeof(path), "%s/v1.db", t->dir);
    ts_sql(path, store_schema_sql(1));
    ts_sql(path, "PRAGMA user_version = 1; PRAGMA application_id = 1718382455;"
                 "INSERT INTO runs (run_id, tenant, owner, workflow_name, status, created_ns, workflow) "
                 "VALUES ('old', 't', 'o', 'wf', 3, 5, x'0a0377660a');"
                 "INSERT INTO events (run_id, seq, type, event) VALUES ('old', 1, 1, x'01'), ('old', 2, 4, x'02');"
                 "INSERT INTO nodes (run_id, node_id, status, attempts) VALUES ('old', 'a', 3, 1);"
                 "INSERT INTO runs (run_id, tenant, owner, workflow_name, status, created_ns) "
                 "VALUES ('quiet', 't', 'o', 'wf', 1, 6);");
    assert_int_equal(ts_sql_int(path, "SELECT last_seq FROM runs WHERE run_id = 'old'"), 2); /* the v1 trigger */
    snprintf(loc, sizeof(loc), "sqlite:%s", path);
    assert_int_equal(store_open(loc, NULL, NULL, &t->s, &e), 0);
    t->ops = t->s->ops;
    assert_int_equal(ts_sql_int(path, "PRAGMA user_version"), 2);
    assert_int_equal(ts_sql_int(path, "SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'last_seq'"), 0);
    assert_int_equal(ts_sql_int(path, "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'"), 0);
    assert_int_equal(ts_last_seq(t, "old"), 2);
    assert_int_equal(ts_last_seq(t, "quiet"), 0);
    ts_events(t, "old", 3, 4, 8);
    assert_int_equal(ts_last_seq(t, "old"), 4);
    StoreEvent dup = {.seq = 4, .type = 4, .event = {"x", 1}}, gap = {.seq = 6, .type = 4, .event = {"x", 1}};
    assert_int_equal(t->ops->event_put(t->s, "old", &dup, &e), -EEXIST);
    assert_non_null(strstr(e.msg, "is not last_seq + 1 (last_seq 4)"));
    assert_int_equal(t->ops->event_put(t->s, "old", &gap, &e), -EEXIST);
    ts_events(t, "quiet", 1, 1, 8);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM nodes WHERE run_id = 'old'");
    assert_int_equal(ts_sql_int(path, sql), 1);
}

static void test_schema_foreign_file_refused(void **state)
{
    TestStore *t = *state;
    char path[PATH_MAX + 16], loc[PATH_MAX + 32];
    StoreError e = {0};
    Store *s = NULL;
    FILE *f;

    snprintf(path, sizeof(path), "%s/other.db", t->dir);
    ts_sql(path, "CREATE TABLE notes (x TEXT)");
    snprintf(loc, sizeof(loc), "sqlite:%s", path);
    assert_int_equal(store_open(loc, NULL, NULL, &s, &e), -ENOTSUP);
    assert_non_null(strstr(e.msg, "not a flowd store"));
    assert_int_equal(ts_sql_int(path, "SELECT count(*) FROM sqlite_schema"), 1);

    snprintf(path, sizeof(path), "%s/garbage.db", t->dir);
    f = fopen(path, "we");
    assert_non_null(f);
    for (int i = 0; i < 512; i++)
        fputs("not a database ", f);
    fclose(f);
    snprintf(loc, sizeof(loc), "sqlite:%s", path);
    assert_int_equal(store_open(loc, NULL, NULL, &s, &e), -EIO);
    assert_non_null(strstr(e.msg, "not a database"));
}

/* ---- crash: a child writes and dies; the parent reopens ------------------ */

/* In the child: no cmocka, only _exit codes. Opens its own store on path. */
static Store *child_open(const char *path, bool sync_full)
{
    char loc[PATH_MAX + 16];
    StoreOptions o = {.sync_full = sync_full, .readers = 1};
    Store *s = NULL;

    snprintf(loc, sizeof(loc), "sqlite:%s", path);
    if (store_open(loc, NULL, &o, &s, NULL) < 0)
        _exit(10);
    return s;
}

static void child_batch(Store *s, uint64_t from, uint64_t to)
{
    static char blob[200];

    for (uint64_t seq = from; seq <= to; seq++) {
        StoreEvent ev = {.seq = seq, .type = 4, .event = {blob, sizeof(blob)}};
        memset(blob, 'a' + (int)(seq % 26), sizeof(blob));
        if (s->ops->event_put(s, "r1", &ev, NULL) < 0)
            _exit(11);
    }
}

static void child_insert_run(Store *s)
{
    StoreRun r = ts_run("r1", "acme", ST_RUNNING, 1);

    if (s->ops->run_insert(s, &r, NULL) < 0)
        _exit(12);
}

/* Reports each committed last_seq on fd, then dies inside a transaction. */
static void child_commit_then_die(const char *path, int fd, uint64_t batch, uint64_t batches)
{
    Store *s = child_open(path, false);
    StoreNode node = {.node_id = "n1", .status = ST_RUNNING, .attempts = 1};
    StoreRun done = ts_run("r1", "acme", ST_SUCCEEDED, 1);

    child_insert_run(s);
    for (uint64_t b = 0; b < batches; b++) {
        uint64_t last = (b + 1) * batch;
        if (s->ops->begin(s, NULL) < 0)
            _exit(13);
        child_batch(s, b * batch + 1, last);
        node.attempts = (uint32_t)b + 1;
        if (s->ops->node_put(s, "r1", &node, NULL) < 0 || s->ops->commit(s, NULL) < 0)
            _exit(14);
        if (write(fd, &last, sizeof(last)) != sizeof(last))
            _exit(15);
    }
    s->ops->begin(s, NULL);
    child_batch(s, batches * batch + 1, batches * batch + batch / 2);
    s->ops->run_update(s, &done, NULL);
    kill(getpid(), SIGKILL);
    _exit(16);
}

/* Reads the last committed seq the child reported before the pipe closed. */
static uint64_t ts_drain(int fd)
{
    uint64_t v, last = 0;

    while (read(fd, &v, sizeof(v)) == sizeof(v))
        last = v;
    return last;
}

static void ts_expect_events(TestStore *t, uint64_t last)
{
    StoreEvent *evs = NULL;
    size_t n = 0;

    assert_int_equal(ts_last_seq(t, "r1"), last);
    assert_int_equal(t->ops->events_read(t->s, "r1", 0, 100000, &evs, &n), 0);
    assert_int_equal(n, last);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(evs[i].seq, i + 1);
        assert_int_equal(evs[i].event.len, 200);
        assert_int_equal(((char *)evs[i].event.data)[199], 'a' + (int)((i + 1) % 26));
    }
    store_events_free(evs, n);
}

static pid_t ts_fork(TestStore *t, int fds[2])
{
    pid_t pid;

    store_close(t->s);
    t->s = NULL;
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        close(fds[0]);
    return pid;
}

static void ts_reap_killed(pid_t pid)
{
    int status = 0;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        fail_msg("child did not die of SIGKILL: status 0x%x", status);
}

static void test_commit_crash_mid_transaction(void **state)
{
    TestStore *t = *state;
    StoreNode *nodes = NULL;
    StoreRun *run = NULL;
    uint64_t last;
    size_t n = 0;
    int fds[2];
    pid_t pid;

    pid = ts_fork(t, fds);
    if (pid == 0)
        child_commit_then_die(t->path, fds[1], 10, 5);
    close(fds[1]);
    last = ts_drain(fds[0]);
    close(fds[0]);
    ts_reap_killed(pid);
    assert_int_equal(last, 50);
    ts_reopen(t, false);
    ts_expect_events(t, 50);
    assert_int_equal(t->ops->run_get(t->s, "r1", &run, &nodes, &n), 0);
    assert_int_equal(run->status, ST_RUNNING); /* the uncommitted update is gone */
    assert_int_equal(n, 1);
    assert_int_equal(nodes[0].attempts, 5);
    store_runs_free(run, 1);
    store_nodes_free(nodes, n);
    ts_events(t, "r1", 51, 51, 200); /* the sequence continues where it was committed */
}

/* Commits forever in batches of 5 events, reporting each commit. */
static void child_commit_forever(const char *path, int fd, bool sync_full)
{
    Store *s = child_open(path, sync_full);

    child_insert_run(s);
    for (uint64_t last = 5;; last += 5) {
        if (s->ops->begin(s, NULL) < 0)
            _exit(13);
        child_batch(s, last - 4, last);
        if (s->ops->commit(s, NULL) < 0)
            _exit(14);
        if (write(fd, &last, sizeof(last)) != sizeof(last))
            _exit(15);
    }
}

/* SIGKILL at an arbitrary moment: whatever commit returned before is there,
 * the commit in flight is there entirely or not at all, nothing else is. */
static void test_commit_crash_random_kill(void **state)
{
    TestStore *t = *state;
    unsigned seed = (unsigned)time(NULL);

    print_message("random kill: seed %u\n", seed);
    for (int round = 0; round < 6; round++) {
        struct timespec ts = {0, (long)(rand_r(&seed) % 40 + 5) * 1000000L};
        uint64_t reported, last;
        int fds[2];
        pid_t pid = ts_fork(t, fds);

        if (pid == 0)
            child_commit_forever(t->path, fds[1], round % 2);
        close(fds[1]);
        /* The clock starts at the first commit, so that the kill never lands
         * before the run exists, however slow the machine. */
        assert_int_equal(read(fds[0], &reported, sizeof(reported)), sizeof(reported));
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        last = ts_drain(fds[0]);
        reported = last > reported ? last : reported;
        close(fds[0]);
        ts_reap_killed(pid);
        ts_reopen(t, false);
        last = ts_last_seq(t, "r1");
        assert_true(last % 5 == 0);
        assert_true(last == reported || last == reported + 5);
        ts_expect_events(t, last);
        ts_rmrf(t->dir);
        assert_int_equal(ts_mkdtemp(t->dir, sizeof(t->dir)), 0);
        snprintf(t->path, sizeof(t->path), "%s/flowd.db", t->dir);
        ts_reopen(t, false);
    }
}

/* ---- readers run while the writer commits ------------------------------- */

typedef struct ReaderArgs {
    TestStore *t;
    atomic_bool *done;
    long reads;
    int failed; /* line of the first failed check, 0 if none */
} ReaderArgs;

#define RCHECK(a, cond)                                                                                                \
    do {                                                                                                               \
        if (!(cond) && !(a)->failed)                                                                                   \
            (a)->failed = __LINE__;                                                                                    \
    } while (0)

/* Each transaction adds 10 events: a reader must never see a count that is
 * not a multiple of 10, nor one that goes back. */
static void *reader_main(void *p)
{
    ReaderArgs *a = p;
    const StoreOps *ops = a->t->ops;
    uint64_t seen = 0;

    while (!atomic_load(a->done) && !a->failed) {
        StoreEvent *evs = NULL;
        StoreRun *run = NULL, *runs = NULL;
        size_t n = 0, nr = 0;

        RCHECK(a, ops->run_get(a->t->s, "r1", &run, NULL, NULL) == 0);
        RCHECK(a, run && run->last_seq % 10 == 0 && run->last_seq >= seen);
        seen = run ? run->last_seq : seen;
        store_runs_free(run, run ? 1 : 0);
        RCHECK(a, ops->events_read(a->t->s, "r1", 0, 100000, &evs, &n) == 0);
        RCHECK(a, n % 10 == 0 && n >= seen);
        for (size_t i = 0; i < n; i++)
            RCHECK(a, evs[i].seq == i + 1);
        store_events_free(evs, n);
        RCHECK(a, ops->runs_list(a->t->s, "acme", 0, NULL, 10, &runs, &nr) == 0 && nr == 1);
        store_runs_free(runs, nr);
        a->reads++;
    }
    return NULL;
}

static void test_events_read_concurrent_with_writer(void **state)
{
    TestStore *t = *state;
    atomic_bool done = false;
    ReaderArgs args[6];
    pthread_t th[6];

    ts_insert(t, "r1", "acme", ST_RUNNING, 1);
    for (int i = 0; i < 6; i++) {
        args[i] = (ReaderArgs){t, &done, 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &args[i]), 0);
    }
    for (uint64_t last = 10; last <= 2000; last += 10) {
        assert_int_equal(t->ops->begin(t->s, NULL), 0);
        ts_events(t, "r1", last - 9, last, 64);
        assert_int_equal(t->ops->commit(t->s, NULL), 0);
    }
    atomic_store(&done, true);
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        if (args[i].failed)
            fail_msg("reader %d: check at line %d failed", i, args[i].failed);
        assert_true(args[i].reads > 0);
    }
    print_message("6 readers (4 connections) did %ld, %ld, ... reads during 200 commits\n", args[0].reads,
                  args[1].reads);
}

/* ---- disk full ----------------------------------------------------------- */

/* A store on a 512 KiB tmpfs. Returns false (and the test skips) where this
 * process may not mount. */
static bool ts_small_fs(TestStore *t)
{
    store_close(t->s);
    t->s = NULL;
    if (mount("tmpfs", t->dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=512k,mode=0700") < 0) {
        print_message("SKIP: cannot mount a small tmpfs on %s (%s): needs root outside a sandbox\n", t->dir,
                      strerror(errno));
        return false;
    }
    t->mounted = true;
    ts_reopen(t, false);
    return true;
}

static void ts_small_fs_done(TestStore *t)
{
    store_close(t->s);
    t->s = NULL;
    assert_int_equal(umount2(t->dir, MNT_DETACH), 0);
    t->mounted = false;
}

/* What a failed write must leave: the error, nothing half-written visible,
 * readers working, health down until a commit succeeds again. in_commit: the
 * commit itself failed, which ends the transaction; otherwise the failed
 * transaction stays failed until rollback. */
static void ts_expect_full(TestStore *t, int r, const StoreError *e, bool in_commit, uint64_t committed)
{
    if (r != -ENOSPC)
        fail_msg("expected -ENOSPC, got %d: %s", r, e->msg);
    assert_int_equal(e->err, ENOSPC);
    assert_non_null(strstr(e->msg, t->path));
    assert_non_null(strstr(e->msg, "No space left on device"));
    assert_non_null(strstr(e->msg, "rolled back"));
    assert_false(t->ops->healthy(t->s));
    assert_int_equal(t->ops->commit(t->s, NULL), in_commit ? -EINVAL : -ENOSPC);
    assert_int_equal(t->ops->rollback(t->s), 0);
    ts_expect_events(t, committed);
}

/* One event per transaction: the WAL grows until the disk is full, and the
 * commit fails. */
static void test_commit_disk_full(void **state)
{
    TestStore *t = *state;
    static char blob[200];
    StoreError e = {0};
    uint64_t seq = 0;
    int r = 0;

    if (!ts_small_fs(t))
        skip();
    ts_insert(t, "r1", "acme", ST_RUNNING, 1);
    for (; seq < 100000; seq++) {
        StoreEvent ev = {.seq = seq + 1, .type = 4, .event = {blob, sizeof(blob)}};
        memset(blob, 'a' + (int)((seq + 1) % 26), sizeof(blob));
        assert_int_equal(t->ops->begin(t->s, &e), 0);
        assert_int_equal(t->ops->event_put(t->s, "r1", &ev, &e), 0);
        if ((r = t->ops->commit(t->s, &e)) < 0)
            break;
    }
    print_message("disk full after %llu commits: %s\n", (unsigned long long)seq, e.msg);
    ts_expect_full(t, r, &e, true, seq);
    ts_reopen(t, false);
    ts_expect_events(t, seq);
    ts_small_fs_done(t);
}

/* One transaction larger than the page cache: SQLite spills pages to the WAL
 * before commit, so the failure comes from event_put itself. */
static void test_event_put_disk_full_mid_transaction(void **state)
{
    TestStore *t = *state;
    char *blob = calloc(1, 4096);
    StoreError e = {0};
    int r = 0;

    assert_non_null(blob);
    if (!ts_small_fs(t)) {
        free(blob);
        skip();
    }
    ts_insert(t, "r1", "acme", ST_RUNNING, 1);
    ts_events(t, "r1", 1, 10, 200);
    assert_int_equal(t->ops->begin(t->s, &e), 0);
    for (uint64_t seq = 11; r == 0 && seq < 10000; seq++) {
        StoreEvent ev = {.seq = seq, .type = 4, .event = {blob, 4096}};
        r = t->ops->event_put(t->s, "r1", &ev, &e);
    }
    free(blob);
    print_message("mid-transaction: %s\n", e.msg);
    assert_int_equal(t->ops->event_put(t->s, "r1", &(StoreEvent){.seq = 11, .type = 1}, NULL), -ENOSPC);
    ts_expect_full(t, r, &e, false, 10);
    /* Space the failed transaction took in the WAL is reused: small writes work again. */
    assert_int_equal(t->ops->begin(t->s, &e), 0);
    ts_events(t, "r1", 11, 11, 200);
    assert_int_equal(t->ops->commit(t->s, &e), 0);
    assert_true(t->ops->healthy(t->s));
    ts_reopen(t, false);
    ts_expect_events(t, 11);
    ts_small_fs_done(t);
}

/* Without root: RLIMIT_FSIZE in a child makes writes fail with EFBIG. */
static void child_fsize(const char *path, int fd)
{
    struct rlimit rl = {256 * 1024, 256 * 1024};
    Store *s;
    StoreError e = {0};
    uint64_t last = 0;
    int r = 0;

    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
        _exit(20);
    s = child_open(path, true);
    child_insert_run(s);
    while (r == 0 && last < 100000) {
        if ((r = s->ops->begin(s, &e)) == 0) {
            child_batch(s, last + 1, last + 10);
            r = s->ops->commit(s, &e);
        }
        if (r == 0 && (last += 10) && write(fd, &last, sizeof(last)) != sizeof(last))
            _exit(21);
    }
    s->ops->rollback(s);
    if (r != -ENOSPC || e.err != ENOSPC || s->ops->healthy(s)) {
        fprintf(stderr, "child: %d %s\n", r, e.msg);
        _exit(22);
    }
    if (s->ops->events_read(s, "r1", 0, 1, &(StoreEvent *){NULL}, &(size_t){0}) != 0)
        _exit(23);
    store_close(s);
    _exit(0);
}

static void test_commit_file_size_limit(void **state)
{
    TestStore *t = *state;
    int fds[2], status = 0;
    uint64_t last;
    pid_t pid = ts_fork(t, fds);

    if (pid == 0)
        child_fsize(t->path, fds[1]);
    close(fds[1]);
    last = ts_drain(fds[0]);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child failed: status 0x%x", status);
    assert_true(last > 0);
    ts_reopen(t, false);
    ts_expect_events(t, last);
}

/* ---- memory stays flat however many runs the store holds ----------------- */

static void ts_insert_finished(TestStore *t, unsigned from, unsigned to)
{
    char id[32];
    StoreNode node = {.node_id = "n1", .status = 3, .attempts = 1, .output_json = "{\"rows\":[1,2,3]}"};

    assert_int_equal(t->ops->begin(t->s, NULL), 0);
    for (unsigned i = from; i < to; i++) {
        StoreRun r = ts_run(id, i % 2 ? "acme" : "bolt", ST_SUCCEEDED, 1000 + i);
        snprintf(id, sizeof(id), "run-%08u", i);
        r.outputs_json = "{\"n1\":{\"rows\":[1,2,3]}}";
        assert_int_equal(t->ops->run_insert(t->s, &r, NULL), 0);
        assert_int_equal(t->ops->node_put(t->s, id, &node, NULL), 0);
        ts_events(t, id, 1, 2, 100);
    }
    assert_int_equal(t->ops->commit(t->s, NULL), 0);
}

/* Reads through every page of runs, so every reader cache is warm. */
static void ts_list_everything(TestStore *t)
{
    char cursor[32] = "";
    StoreRun *runs = NULL;
    size_t n;

    do {
        assert_int_equal(t->ops->runs_list(t->s, NULL, 0, cursor[0] ? cursor : NULL, 500, &runs, &n), 0);
        if (n)
            snprintf(cursor, sizeof(cursor), "%s", runs[n - 1].run_id);
        store_runs_free(runs, n);
    } while (n == 500);
}

static void test_runs_list_memory_bounded(void **state)
{
    TestStore *t = *state;
    long base, end;
    unsigned purged;

#if defined(__SANITIZE_ADDRESS__)
    /* ASan's quarantine holds freed memory: RSS says nothing here. */
    skip();
#endif
    for (unsigned i = 0; i < 20000; i += 1000)
        ts_insert_finished(t, i, i + 1000);
    ts_list_everything(t);
    ts_list_everything(t);
    base = ts_rss_kib();
    for (unsigned i = 20000; i < 100000; i += 1000)
        ts_insert_finished(t, i, i + 1000);
    ts_list_everything(t);
    ts_list_everything(t);
    assert_int_equal(t->ops->purge(t->s, UINT64_MAX, 1000, &purged, NULL), 0);
    assert_int_equal(purged, 1000);
    end = ts_rss_kib();
    print_message("RSS with 20,000 runs: %ld KiB; with 100,000 runs: %ld KiB (+%ld KiB)\n", base, end, end - base);
    /* The page caches are bounded (4 MiB writer, 1 MiB per reader) and were
     * warm at the first measure; 100,000 runs hold ~100 MB of rows. */
    assert_true(end - base < 8 * 1024);
}

const struct CMUnitTest store_durability_tests[] = {
    T(test_schema_migrate_from_empty),
    T(test_schema_newer_refused),
    T(test_schema_migrate_v1_to_v2),
    T(test_schema_foreign_file_refused),
    T(test_commit_crash_mid_transaction),
    T(test_commit_crash_random_kill),
    T(test_events_read_concurrent_with_writer),
    T(test_commit_disk_full),
    T(test_event_put_disk_full_mid_transaction),
    T(test_commit_file_size_limit),
    T(test_runs_list_memory_bounded),
};
const size_t store_durability_tests_n = sizeof(store_durability_tests) / sizeof(store_durability_tests[0]);
