/* The tails of the event logs of recently written runs, in memory.
 *
 * A stream that follows a live run (ExecuteRun, WatchRun) asks for the
 * events after the last one it sent, right after each commit of that run:
 * the answer is what the engine has just written. Reading it back through
 * SQLite cost a reader, a statement and a copy per batch (~10% of flowd's
 * CPU at 3,000 nodes/s); the tail answers from memory instead.
 *
 * Only committed events enter a tail (event_put stages them, commit
 * publishes them, rollback and failed commits drop them), in seq order and
 * without gaps, so a tail always ends at its run's last committed event.
 * The tails' lock is held across SQLite's COMMIT and the publication: a
 * reader that saw a commit through SQLite (run_get's last_seq, say) finds
 * its events in the tail too. An event written outside a transaction drops
 * its run's tail first, and a copy that fails drops every tail. A
 * read the tail cannot answer entirely (a run without a tail, or events
 * older than its first) goes to SQLite, as do reads after a purge, which
 * drops every tail. Bounded: STORE_TAIL_RUNS runs, least recently written
 * first out, of STORE_TAIL_EVENTS events each. */
#include <errno.h>
#include <string.h>

#include "server/store/store-sqlite.h"

static void tail_run_clear(StoreTailRun *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->ring[(t->head + i) % STORE_TAIL_EVENTS].event.data);
    free(t->run_id);
    *t = (StoreTailRun){0};
}

static int copy_event(const StoreEvent *src, StoreEvent *dst)
{
    *dst = (StoreEvent){.seq = src->seq, .type = src->type};
    if (src->event.len == 0)
        return 0;
    dst->event.data = malloc(src->event.len);
    if (!dst->event.data)
        return -ENOMEM;
    memcpy(dst->event.data, src->event.data, src->event.len);
    dst->event.len = src->event.len;
    return 0;
}

void store_tail_init(StoreTail *t)
{
    *t = (StoreTail){0};
    pthread_mutex_init(&t->mu, NULL);
}

static void drop_staged(StoreTail *t)
{
    for (size_t i = 0; i < t->n_staged; i++) {
        free(t->staged[i].run_id);
        free(t->staged[i].ev.event.data);
    }
    t->n_staged = 0;
}

void store_tail_free(StoreTail *t)
{
    drop_staged(t);
    free(t->staged);
    for (size_t i = 0; i < STORE_TAIL_RUNS; i++)
        tail_run_clear(&t->runs[i]);
    pthread_mutex_destroy(&t->mu);
}

/* Writer thread, inside a transaction: keeps a copy of an event just
 * inserted. If the copy fails, the commit drops every tail instead. */
void store_tail_stage(StoreTail *t, const char *run_id, const StoreEvent *ev)
{
    if (store_grow((void **)&t->staged, sizeof(*t->staged), t->n_staged, &t->cap_staged) < 0) {
        t->stage_failed = true;
        return;
    }
    StoreTailStaged *st = &t->staged[t->n_staged];
    st->run_id = strdup(run_id);
    if (!st->run_id || copy_event(ev, &st->ev) < 0) {
        free(st->run_id);
        t->stage_failed = true;
        return;
    }
    t->n_staged++;
}

void store_tail_discard(StoreTail *t)
{
    drop_staged(t);
    t->stage_failed = false;
}

/* t->mu held. The run's tail, or NULL. */
static StoreTailRun *find_run(StoreTail *t, const char *run_id)
{
    for (size_t i = 0; i < STORE_TAIL_RUNS; i++)
        if (t->runs[i].run_id && strcmp(t->runs[i].run_id, run_id) == 0)
            return &t->runs[i];
    return NULL;
}

/* t->mu held. A free slot, or the least recently written run's, emptied. */
static StoreTailRun *take_slot(StoreTail *t)
{
    StoreTailRun *oldest = &t->runs[0];
    for (size_t i = 0; i < STORE_TAIL_RUNS; i++) {
        if (!t->runs[i].run_id)
            return &t->runs[i];
        if (t->runs[i].written < oldest->written)
            oldest = &t->runs[i];
    }
    tail_run_clear(oldest);
    return oldest;
}

/* t->mu held. Appends one committed event; takes ownership of its data. */
static void publish_one(StoreTail *t, StoreTailStaged *st)
{
    StoreTailRun *r = find_run(t, st->run_id);
    bool follows = r && r->n > 0 && r->ring[(r->head + r->n - 1) % STORE_TAIL_EVENTS].seq + 1 == st->ev.seq;

    if (r && !follows)
        tail_run_clear(r);
    if (!r || !follows) {
        r = r ? r : take_slot(t);
        r->run_id = st->run_id;
    } else
        free(st->run_id);
    if (r->n == STORE_TAIL_EVENTS) {
        free(r->ring[r->head].event.data);
        r->head = (r->head + 1) % STORE_TAIL_EVENTS;
        r->n--;
    }
    r->ring[(r->head + r->n) % STORE_TAIL_EVENTS] = st->ev;
    r->n++;
    r->written = ++t->clock;
}

static void clear_locked(StoreTail *t)
{
    for (size_t i = 0; i < STORE_TAIL_RUNS; i++)
        tail_run_clear(&t->runs[i]);
}

/* Writer thread: around SQLite's COMMIT. */
void store_tail_commit_begin(StoreTail *t) { pthread_mutex_lock(&t->mu); }

void store_tail_commit_end(StoreTail *t, bool committed)
{
    if (committed && t->stage_failed)
        clear_locked(t);
    else if (committed) {
        for (size_t i = 0; i < t->n_staged; i++)
            publish_one(t, &t->staged[i]);
        t->n_staged = 0;
    }
    pthread_mutex_unlock(&t->mu);
    store_tail_discard(t);
}

/* Writer thread, before an event is written outside a transaction. */
void store_tail_forget(StoreTail *t, const char *run_id)
{
    pthread_mutex_lock(&t->mu);
    StoreTailRun *r = find_run(t, run_id);
    if (r)
        tail_run_clear(r);
    pthread_mutex_unlock(&t->mu);
}

void store_tail_clear(StoreTail *t)
{
    pthread_mutex_lock(&t->mu);
    clear_locked(t);
    pthread_mutex_unlock(&t->mu);
}

/* Any thread: the events after after_seq, at most max, if the tail holds
 * them all (returns 1); 0 when the caller must ask SQLite. */
int store_tail_read(StoreTail *t, const char *run_id, uint64_t after_seq, unsigned max, StoreEvent **ret_events,
                    size_t *ret_n)
{
    int found = 0;

    pthread_mutex_lock(&t->mu);
    StoreTailRun *r = find_run(t, run_id);
    uint64_t first = r && r->n ? r->ring[r->head].seq : 0, last = first + (r ? r->n : 0) - 1;
    if (r && r->n && after_seq + 1 >= first && after_seq <= last) {
        size_t from = (size_t)(after_seq + 1 - first), n = (size_t)(last - after_seq);
        n = n < max ? n : max;
        StoreEvent *evs = n ? calloc(n, sizeof(*evs)) : NULL;
        size_t k = 0;
        while (k < n && evs && copy_event(&r->ring[(r->head + from + k) % STORE_TAIL_EVENTS], &evs[k]) == 0)
            k++;
        if (k == n) {
            *ret_events = evs;
            *ret_n = n;
            found = 1;
        } else
            store_events_free(evs, k);
    }
    pthread_mutex_unlock(&t->mu);
    return found;
}
