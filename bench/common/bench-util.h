/* bench-util.h: what every flowd benchmark shares: a monotonic clock,
 * percentiles, the result table on stdout and the JSON lines appended to
 * bench/results/latest.json (one object per figure, BENCHMARKS.md says which
 * fields).
 *
 * A figure compares a subject with a baseline measured in the same run; the
 * ratio is subject / baseline for times and baseline / subject for rates, so
 * a ratio above 1 always means "flowd is slower than its baseline". */
#ifndef FLOWD_BENCH_UTIL_H
#define FLOWD_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum BenchMet {
    BENCH_MET_NONE, /* no target: reported only */
    BENCH_MET_YES,
    BENCH_MET_NO,
} BenchMet;

typedef struct BenchFigure {
    const char *name;          /* e.g. "grpc_execute_run_c1" */
    const char *unit;          /* "ms", "us", "nodes/s", ... */
    double median;             /* the subject's median (or rate) */
    double p99;                /* NAN where a p99 does not apply */
    double baseline;           /* the baseline's median, NAN without one */
    const char *baseline_name; /* what the baseline is, NULL without one */
    double ratio;              /* NAN without a baseline */
    const char *target;        /* e.g. "ratio <= 1.3", NULL without one */
    BenchMet met;
    size_t samples;   /* measurements behind the median */
    const char *note; /* one line of context for the table, or NULL */
} BenchFigure;

/* CLOCK_MONOTONIC in nanoseconds / microseconds / milliseconds. */
uint64_t bench_now_ns(void);
double bench_now_ms(void);

/* The p-quantile (0..1) of v[0..n), nearest rank; sorts v in place. NAN for
 * n == 0. */
double bench_pct(double *v, size_t n, double p);

/* The common command line of the benchmarks: --json PATH appends results,
 * --addr HOST:PORT names a running flowd, --quick shrinks iteration counts.
 * Unknown options are left for the caller: returns the index of the first
 * argument not consumed, or -1 after printing usage for a malformed one. */
typedef struct BenchArgs {
    const char *json;
    const char *addr;
    bool quick;
} BenchArgs;
int bench_args(int argc, char **argv, BenchArgs *ret);

/* Prints the table header once, then one row per figure. */
void bench_print_header(const char *title);
void bench_print(const BenchFigure *f);

/* Appends f as one JSON line to path (no-op for NULL). The line also carries
 * nproc, kernel, time (UTC, ISO 8601), the scripts/bench run id from the
 * environment (BENCH_RUN_ID) and background_cpu: null here, scripts/bench
 * fills in what other processes used meanwhile. Returns 0 or -errno. */
int bench_emit(const char *path, const BenchFigure *f);

/* Prints and emits. A missed target is a result, not an error: benchmarks
 * exit non-zero only when they could not measure (a run failed, a count
 * was wrong). */
void bench_report(const BenchArgs *a, const BenchFigure *f);

/* Prints a message to stderr and exits 1: the benchmark could not measure. */
void bench_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
