/* bench_python_long.c: 10 sequential python nodes computing fib(33) (about
 * 0.4 s each here) through flowd, against the same 10 computations in plain
 * python3 processes: what the sandbox costs a CPU-bound node.
 *
 * Usage: bench_python_long --addr HOST:PORT [--json PATH] [--quick] */
#include "bench/common/bench-python.h"

int main(int argc, char **argv)
{
    static const BenchPythonSpec spec = {
        .title = "python_long: 10 sequential python nodes, fib(33) each",
        .figure = "python_long_10_fib33",
        .n_nodes = 10,
        .fib_n = 33,
        .expect = "3524578",
        .rounds = 6, /* 3 pairs: a median of 2 would be their mean */
        .quick_rounds = 2,
        .max_ratio = 1.02,
        .target = "ratio <= 1.02",
        .plain_loop = false,
        .runner_only = false,
    };
    return bench_python_main(argc, argv, &spec);
}
