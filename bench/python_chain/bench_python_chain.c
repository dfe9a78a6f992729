/* bench_python_chain.c: 40 sequential python nodes computing fib(10), the
 * shape of Windmill's published benchmark, through flowd, against 40 plain
 * python3 processes started back to back by a loop computing the same.
 *
 * Usage: bench_python_chain --addr HOST:PORT [--json PATH] [--quick] */
#include "bench/common/bench-python.h"

int main(int argc, char **argv)
{
    static const BenchPythonSpec spec = {
        .title = "python_chain: 40 sequential python nodes, fib(10) each",
        .figure = "python_chain_40_fib10",
        .n_nodes = 40,
        .fib_n = 10,
        .expect = "55",
        .rounds = 8,
        .quick_rounds = 2,
        .max_ratio = 1.1,
        .target = "ratio <= 1.1",
        .plain_loop = true,
        .runner_only = true,
    };
    return bench_python_main(argc, argv, &spec);
}
