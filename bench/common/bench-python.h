/* bench-python.h: the two sides of the python benchmarks. flowd's side is a
 * chain of python nodes, each calling main() of the same code; the baseline
 * is the same computation in plain /usr/bin/python3 processes started back
 * to back by a loop, with no sandbox, engine or RPC. */
#ifndef FLOWD_BENCH_PYTHON_H
#define FLOWD_BENCH_PYTHON_H

#include <stdbool.h>
#include <stddef.h>

#define BENCH_PYTHON "/usr/bin/python3"

/* The workflow: n python nodes p0 -> p1 -> ... each running `code` and
 * calling its main(). Free the string. */
char *bench_python_chain_json(const char *name, size_t n, const char *code);

/* Runs n python processes one after the other, each `python3 FLAGS -c
 * script` with its stdout read to the end; dies unless every one exits 0
 * and prints a line containing expect. flags is e.g. "-I -S" (flowd's
 * python nodes use these) or "" for a plain interpreter. Returns the total
 * in ms. */
double bench_python_loop(size_t n, const char *flags, const char *script, const char *expect);

/* The same with `input` written to each process's stdin (NULL: none);
 * ret_cpu_ms (may be NULL) gets the processes' user+system CPU time. */
double bench_python_loop_input(size_t n, const char *flags, const char *script, const char *input, const char *expect,
                               double *ret_cpu_ms);

/* A python benchmark: a chain of n_nodes nodes each computing fib(fib_n),
 * through flowd and as a loop of plain processes, alternating rounds. */
typedef struct BenchPythonSpec {
    const char *title;
    const char *figure; /* e.g. "python_chain_40_fib10" */
    size_t n_nodes;
    int fib_n;
    const char *expect; /* fib(fib_n) as text */
    int rounds;         /* even: pairs of rounds, one of each order; --quick uses quick_rounds */
    int quick_rounds;
    double max_ratio;   /* the target */
    const char *target; /* e.g. "ratio <= 1.1" */
    bool plain_loop;    /* also time a loop of plain `python3 -c` (site imported) */
    bool runner_only;   /* also time flowd's runner in plain processes */
} BenchPythonSpec;

int bench_python_main(int argc, char **argv, const BenchPythonSpec *spec);

#endif
