/* store-bench.c: commit latency and event throughput of the SQLite store,
 * synchronous=NORMAL against FULL, measured side by side in one run.
 *
 *   bazel run //tests/store:store_bench -- [DIR]    (DIR: default /var/tmp)
 *
 * DIR should be on the disk flowd would use: on tmpfs fsync costs nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/store/store.h"

typedef struct Figures {
    double commit_p50_us, commit_p99_us, commit_mean_us;
    double one_tx_events_s;  /* 100,000 events in one transaction */
    double grouped_events_s; /* 100 events per transaction */
    double run_submit_us;    /* run_insert + first event, one commit */
} Figures;

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what, const StoreError *e)
{
    fprintf(stderr, "store_bench: %s: %s\n", what, e->msg);
    exit(1);
}

static uint64_t put_events(Store *s, const char *run, uint64_t from, unsigned n)
{
    static char blob[200];
    StoreError e = {0};

    for (unsigned i = 0; i < n; i++) {
        StoreEvent ev = {.seq = from + i, .type = 5, .event = {blob, sizeof(blob)}};
        if (s->ops->event_put(s, run, &ev, &e) < 0)
            die("event_put", &e);
    }
    return from + n;
}

static void insert_run(Store *s, const char *id)
{
    static char wf[512];
    StoreRun r = {.run_id = (char *)id,
                  .tenant = "bench",
                  .owner = "bench",
                  .workflow_name = "wf",
                  .status = 1,
                  .created_ns = 1,
                  .workflow = {wf, sizeof(wf)},
                  .inputs_json = "{}",
                  .labels_json = "{}"};
    StoreError e = {0};

    if (s->ops->run_insert(s, &r, &e) < 0)
        die("run_insert", &e);
}

static void tx(Store *s, bool begin)
{
    StoreError e = {0};

    if ((begin ? s->ops->begin(s, &e) : s->ops->commit(s, &e)) < 0)
        die(begin ? "begin" : "commit", &e);
}

static void bench_commits(Store *s, Figures *f)
{
    enum { N = 1000 };
    static double lat[N];
    uint64_t seq = 1;
    double sum = 0;

    insert_run(s, "lat");
    for (int i = 0; i < N; i++) {
        double t0 = now_us();
        tx(s, true);
        seq = put_events(s, "lat", seq, 1);
        tx(s, false);
        lat[i] = now_us() - t0;
        sum += lat[i];
    }
    qsort(lat, N, sizeof(lat[0]), cmp_double);
    f->commit_p50_us = lat[N / 2];
    f->commit_p99_us = lat[N * 99 / 100];
    f->commit_mean_us = sum / N;
}

static void bench_throughput(Store *s, Figures *f)
{
    double t0;
    uint64_t seq = 1;

    insert_run(s, "bulk");
    t0 = now_us();
    tx(s, true);
    seq = put_events(s, "bulk", seq, 100000);
    tx(s, false);
    f->one_tx_events_s = 100000 / ((now_us() - t0) / 1e6);

    insert_run(s, "grouped");
    seq = 1;
    t0 = now_us();
    for (int i = 0; i < 200; i++) {
        tx(s, true);
        seq = put_events(s, "grouped", seq, 100);
        tx(s, false);
    }
    f->grouped_events_s = 20000 / ((now_us() - t0) / 1e6);
}

static void bench_submits(Store *s, Figures *f)
{
    char id[32];
    double t0 = now_us();

    for (int i = 0; i < 500; i++) {
        snprintf(id, sizeof(id), "submit-%d", i);
        tx(s, true);
        insert_run(s, id);
        put_events(s, id, 1, 1);
        tx(s, false);
    }
    f->run_submit_us = (now_us() - t0) / 500;
}

static void bench_one(const char *dir, bool sync_full, Figures *f)
{
    char path[4096], loc[4200];
    StoreOptions o = {.sync_full = sync_full};
    StoreError e = {0};
    Store *s = NULL;

    snprintf(path, sizeof(path), "%s/flowd-bench-%d.db", dir, (int)getpid());
    snprintf(loc, sizeof(loc), "sqlite:%s", path);
    if (store_open(loc, NULL, &o, &s, &e) < 0)
        die("open", &e);
    bench_commits(s, f);
    bench_throughput(s, f);
    bench_submits(s, f);
    store_close(s);
    unlink(path);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/var/tmp";
    Figures normal = {0}, full = {0};

    bench_one(dir, false, &normal);
    bench_one(dir, true, &full);
    printf("store_bench in %s (200-byte events)         NORMAL        FULL   FULL/NORMAL\n", dir);
    printf("commit of 1 event, p50 (us)            %10.0f  %10.0f  %8.1fx\n", normal.commit_p50_us, full.commit_p50_us,
           full.commit_p50_us / normal.commit_p50_us);
    printf("commit of 1 event, p99 (us)            %10.0f  %10.0f  %8.1fx\n", normal.commit_p99_us, full.commit_p99_us,
           full.commit_p99_us / normal.commit_p99_us);
    printf("commit of 1 event, mean (us)           %10.0f  %10.0f  %8.1fx\n", normal.commit_mean_us,
           full.commit_mean_us, full.commit_mean_us / normal.commit_mean_us);
    printf("submit: run + event, one commit (us)   %10.0f  %10.0f  %8.1fx\n", normal.run_submit_us, full.run_submit_us,
           full.run_submit_us / normal.run_submit_us);
    printf("events/s, 100,000 in one transaction   %10.0f  %10.0f  %8.2fx\n", normal.one_tx_events_s,
           full.one_tx_events_s, full.one_tx_events_s / normal.one_tx_events_s);
    printf("events/s, 100 per transaction          %10.0f  %10.0f  %8.2fx\n", normal.grouped_events_s,
           full.grouped_events_s, full.grouped_events_s / normal.grouped_events_s);
    return 0;
}
