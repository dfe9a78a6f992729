/* The tails of live runs' event logs, served from memory
 * (store-sqlite-tail.c): a read returns exactly what SQLite holds, only
 * committed events, across the tail's bounds and after a purge. Which
 * source answered is made visible by deleting rows behind the store's back:
 * the tail still has them, SQLite (after a reopen) does not. */
#include <stdio.h>
#include <string.h>

#include "server/store/store-sqlite.h"
#include "store-test.h"

#define T(name) cmocka_unit_test_setup_teardown(name, ts_setup, ts_teardown)

/* Reads every event after `after` in pages of `page` and checks each against
 * what ts_events wrote (seq in order, blob of blob_len bytes 'a' + seq % 26). */
static void check_read(TestStore *t, const char *run_id, uint64_t after, uint64_t last, unsigned page, size_t blob_len)
{
    uint64_t want = after + 1;

    for (;;) {
        StoreEvent *evs = NULL;
        size_t n = 0;
        assert_int_equal(t->ops->events_read(t->s, run_id, after, page, &evs, &n), 0);
        assert_true(n <= page);
        for (size_t i = 0; i < n; i++, want++) {
            assert_int_equal(evs[i].seq, want);
            assert_int_equal(evs[i].type, 4);
            assert_int_equal(evs[i].event.len, blob_len);
            for (size_t k = 0; k < blob_len; k++)
                assert_int_equal(((char *)evs[i].event.data)[k], 'a' + (int)(want % 26));
        }
        if (n)
            after = evs[n - 1].seq;
        store_events_free(evs, n);
        if (n < page)
            break;
    }
    assert_int_equal(want, last + 1);
}

static void test_tail_serves_what_was_committed(void **state)
{
    TestStore *t = *state;
    StoreEvent *evs = NULL;
    size_t n = 9;

    ts_insert(t, "r1", "acme", ST_RUNNING, 1);
    assert_int_equal(t->ops->begin(t->s, NULL), 0);
    ts_events(t, "r1", 1, 5, 24);
    assert_int_equal(t->ops->commit(t->s, NULL), 0);
    check_read(t, "r1", 0, 5, 64, 24);
    check_read(t, "r1", 3, 5, 1, 24);
    /* Caught up: nothing newer, from either source. */
    assert_int_equal(t->ops->events_read(t->s, "r1", 5, 64, &evs, &n), 0);
    assert_int_equal(n, 0);

    ts_sql(t->path, "DELETE FROM events WHERE run_id = 'r1'");
    check_read(t, "r1", 0, 5, 64, 24); /* the tail answered */
    ts_reopen(t, false);
    assert_int_equal(t->ops->events_read(t->s, "r1", 0, 64, &evs, &n), 0);
    assert_int_equal(n, 0); /* SQLite answered: no tail after a reopen */
}

static void test_tail_only_committed(void **state)
{
    TestStore *t = *state;
    StoreEvent *evs = NULL;
    size_t n = 9;

    ts_insert(t, "r1", "acme", ST_RUNNING, 1);
    assert_int_equal(t->ops->begin(t->s, NULL), 0);
    ts_events(t, "r1", 1, 3, 8);
    /* Not committed yet: invisible to readers. */
    assert_int_equal(t->ops->events_read(t->s, "r1", 0, 64, &evs, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(t->ops->rollback(t->s), 0);
    assert_int_equal(t->ops->events_read(t->s, "r1", 0, 64, &evs, &n), 0);
    assert_int_equal(n, 0);

    /* The same seqs again with other bytes: the rolled-back ones never show. */
    assert_int_equal(t->ops->begin(t->s, NULL), 0);
    ts_events(t, "r1", 1, 2, 16);
    assert_int_equal(t->ops->commit(t->s, NULL), 0);
    check_read(t, "r1", 0, 2, 64, 16);
    /* An event written outside a transaction is committed at once. */
    ts_events(t, "r1", 3, 3, 16);
    check_read(t, "r1", 0, 3, 64, 16);
}

static void test_tail_bounds(void **state)
{
    TestStore *t = *state;
    char id[16];

    /* More runs than tails, and one log longer than a tail: reads before a
     * tail's first event, across its start and inside it are all whole. */
    assert_int_equal(t->ops->begin(t->s, NULL), 0);
    for (int i = 0; i < STORE_TAIL_RUNS + 6; i++) {
        snprintf(id, sizeof(id), "r%d", i);
        ts_insert(t, id, "acme", ST_RUNNING, (uint64_t)i + 1);
        ts_events(t, id, 1, 3, 5);
    }
    ts_events(t, "r0", 4, 2 * STORE_TAIL_EVENTS + 40, 5);
    assert_int_equal(t->ops->commit(t->s, NULL), 0);
    for (int i = 0; i < STORE_TAIL_RUNS + 6; i++) {
        snprintf(id, sizeof(id), "r%d", i);
        check_read(t, id, 0, i == 0 ? 2 * STORE_TAIL_EVENTS + 40 : 3, 7, 5);
    }
    for (uint64_t after = 0; after <= 2 * STORE_TAIL_EVENTS + 40; after += 37)
        check_read(t, "r0", after, 2 * STORE_TAIL_EVENTS + 40, 64, 5);
    check_read(t, "r0", STORE_TAIL_EVENTS + 40, 2 * STORE_TAIL_EVENTS + 40, STORE_TAIL_EVENTS, 5);
}

const struct CMUnitTest store_tail_tests[] = {
    T(test_tail_serves_what_was_committed),
    T(test_tail_only_committed),
    T(test_tail_bounds),
};
const size_t store_tail_tests_n = sizeof(store_tail_tests) / sizeof(store_tail_tests[0]);
