/* bench-python.c: python workflows for flowd and the plain-process loop
 * they are compared with. */
#include "bench/common/bench-python.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/common/bench-flowd.h"
#include "bench/common/bench-util.h"
#include "server/nodes/nodes.h"

extern char **environ;

char *bench_python_chain_json(const char *name, size_t n, const char *code)
{
    json_t *nodes = json_array(), *conns = json_array();

    for (size_t i = 0; i < n; i++) {
        char id[32], prev[32];
        snprintf(id, sizeof(id), "p%zu", i);
        json_array_append_new(nodes, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "kind", "python", "config", "code",
                                               code, "function", "main"));
        if (i > 0) {
            snprintf(prev, sizeof(prev), "p%zu", i - 1);
            json_array_append_new(conns, json_pack("{s:s, s:s}", "from", prev, "to", id));
        }
    }
    json_t *wf = json_pack("{s:s, s:o, s:o}", "name", name, "nodes", nodes, "connections", conns);
    char *s = json_dumps(wf, JSON_COMPACT);
    json_decref(wf);
    if (!s)
        bench_die("out of memory");
    return s;
}

/* One process: spawn, write input (if any) to its stdin, read its stdout
 * to EOF, reap, check. Inputs here are a few KiB, below a pipe's buffer, so
 * writing all before reading cannot deadlock. */
static uint64_t python_once(char *const argv[], const char *input, const char *expect)
{
    struct rusage ru;
    int out[2], in[2] = {-1, -1};
    pid_t pid;
    char buf[4096];
    size_t len = 0;
    ssize_t n;
    int status;
    posix_spawn_file_actions_t fa;

    if (pipe2(out, O_CLOEXEC) < 0)
        bench_die("pipe: %s", strerror(errno));
    if (input && pipe2(in, O_CLOEXEC) < 0)
        bench_die("pipe: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    if (input)
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    if (r != 0)
        bench_die("cannot start %s: %s", argv[0], strerror(r));
    if (input) {
        close(in[0]);
        if (write(in[1], input, strlen(input)) != (ssize_t)strlen(input))
            bench_die("cannot write the input of %s", argv[0]);
        close(in[1]);
    }
    while ((n = read(out[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(out[0]);
    if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bench_die("%s exited with status %d", argv[0], status);
    if (!strstr(buf, expect))
        bench_die("%s printed \"%s\", not %s", argv[0], buf, expect);
    return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
           (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

/* The fastest process of the last loop, in ms (spawn to reap). */
static double loop_fastest_ms;

double bench_python_loop(size_t n, const char *flags, const char *script, const char *expect)
{
    return bench_python_loop_input(n, flags, script, NULL, expect, NULL);
}

double bench_python_loop_input(size_t n, const char *flags, const char *script, const char *input, const char *expect,
                               double *ret_cpu_ms)
{
    uint64_t cpu_us = 0;
    char *argv[8], flagbuf[64];
    size_t k = 0;

    snprintf(flagbuf, sizeof(flagbuf), "%s", flags);
    argv[k++] = BENCH_PYTHON;
    for (char *save = NULL, *t = strtok_r(flagbuf, " ", &save); t && k < 5; t = strtok_r(NULL, " ", &save))
        argv[k++] = t;
    argv[k++] = "-c";
    argv[k++] = (char *)script;
    argv[k] = NULL;
    uint64_t t0 = bench_now_ns(), fastest = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        uint64_t t = bench_now_ns();
        cpu_us += python_once(argv, input, expect);
        t = bench_now_ns() - t;
        fastest = t < fastest ? t : fastest;
    }
    double ms = (double)(bench_now_ns() - t0) / 1e6;
    if (ret_cpu_ms)
        *ret_cpu_ms = (double)cpu_us / 1e3;
    loop_fastest_ms = (double)fastest / 1e6;
    return ms;
}

/* ---- the benchmark ---- */

static char *node_code(int fib_n)
{
    char *s = NULL;

    if (asprintf(&s,
                 "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\n"
                 "def main():\n    return fib(%d)\n",
                 fib_n) < 0)
        bench_die("out of memory");
    return s;
}

/* What a plain script computing the same prints: the result as the node
 * would output it, without importing json (a plain script would not need
 * to). */
static char *plain_script(int fib_n)
{
    char *s = NULL;

    if (asprintf(&s,
                 "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\n"
                 "print('{\"result\": %%d}' %% fib(%d))\n",
                 fib_n) < 0)
        bench_die("out of memory");
    return s;
}

typedef struct PyRound {
    double flowd_ms, base_ms, plain_ms, runner_ms, inside_ms, server_ms;
    double flowd_cpu_ms, base_cpu_ms;
    double flowd_fastest_ms, base_fastest_ms; /* the fastest node / process of the round */
} PyRound;

/* What flowd's python attempt reads on fd 0 (eng-sched.c builds the same
 * envelope), for running flowd's runner outside any sandbox. */
static char *runner_envelope(const char *code)
{
    json_t *env = json_pack("{s:s, s:i, s:{s:s, s:s}, s:{s:i}}", "node", "p1", "attempt", 1, "config", "code", code,
                            "function", "main", "inputs", "result", 55);
    char *s = json_dumps(env, JSON_COMPACT);

    json_decref(env);
    if (!s)
        bench_die("out of memory");
    return s;
}

static void flowd_round(FcClient *c, const FcWorkflow *wf, const BenchPythonSpec *s, PyRound *ret)
{
    BenchRun r;
    char why[512];

    if (bench_flowd_execute(c, wf, s->expect, &r) < 0 || !bench_run_ok(&r, s->n_nodes, true, why, sizeof(why)))
        bench_die("the python run failed: %s", r.failure[0] ? r.failure : why);
    ret->flowd_ms = bench_run_ms(&r);
    ret->inside_ms = (double)r.node_wall_us_sum / 1e3;
    ret->flowd_cpu_ms = (double)r.node_cpu_us_sum / 1e3;
    ret->flowd_fastest_ms = (double)r.node_wall_us_min / 1e3;
    ret->server_ms = (double)(r.server_finished_unix_ns - r.server_started_unix_ns) / 1e6;
}

static double median_of(const PyRound *rs, int n, size_t off)
{
    double v[64];

    for (int i = 0; i < n; i++)
        v[i] = *(const double *)((const char *)&rs[i] + off);
    return bench_pct(v, (size_t)n, 0.5);
}

/* Rounds alternate which side runs first so that an order effect (caches,
 * the CPU's clock, a neighbour's rhythm) cannot favour one side; with an
 * odd count of per-round ratios the median could still lean to one order.
 * A pair of rounds (one of each order) is balanced: the ratio is the median
 * over pairs of sum(subject) / sum(baseline). */
static double pair_ratio(const PyRound *rs, int rounds, size_t subject, size_t base)
{
    double v[32];
    int n = 0;

    for (int k = 0; k + 1 < rounds && n < 32; k += 2) {
        double f =
            *(const double *)((const char *)&rs[k] + subject) + *(const double *)((const char *)&rs[k + 1] + subject);
        double b = *(const double *)((const char *)&rs[k] + base) + *(const double *)((const char *)&rs[k + 1] + base);
        v[n++] = f / b;
    }
    return bench_pct(v, (size_t)n, 0.5);
}

int bench_python_main(int argc, char **argv, const BenchPythonSpec *s)
{
    BenchArgs a;
    int i = bench_args(argc, argv, &a);

    if (i < 0)
        return 2;
    if (i < argc)
        bench_die("unknown option %s", argv[i]);
    int rounds = a.quick ? s->quick_rounds : s->rounds;
    rounds = rounds < 2 ? 2 : rounds > 64 ? 64 : rounds & ~1; /* whole pairs */
    char *code = node_code(s->fib_n), *script = plain_script(s->fib_n);
    char *json = bench_python_chain_json(s->figure, s->n_nodes, code);
    FcClient *c = bench_flowd_connect(a.addr);
    FcWorkflow *wf = bench_flowd_workflow(json);
    PyRound rs[64] = {{0}}, warm;
    char *envelope = runner_envelope(code);

    /* Warm-up: the interpreter's files in the page cache, zygotes, slots. */
    bench_python_loop(3, "-I -S", script, s->expect);
    if (s->n_nodes * (size_t)s->fib_n <= 40 * 20)
        flowd_round(c, wf, s, &warm);
    for (int k = 0; k < rounds; k++) {
        /* Alternate which side goes first, so a slow patch of the machine
         * does not always land on the same side. */
        if (k % 2 == 0) {
            flowd_round(c, wf, s, &rs[k]);
            rs[k].base_ms = bench_python_loop_input(s->n_nodes, "-I -S", script, NULL, s->expect, &rs[k].base_cpu_ms);
            rs[k].base_fastest_ms = loop_fastest_ms;
        } else {
            rs[k].base_ms = bench_python_loop_input(s->n_nodes, "-I -S", script, NULL, s->expect, &rs[k].base_cpu_ms);
            rs[k].base_fastest_ms = loop_fastest_ms;
            flowd_round(c, wf, s, &rs[k]);
        }
        if (getenv("BENCH_VERBOSE"))
            fprintf(stderr,
                    "round %d (%s first): flowd %.1f ms (cpu %.1f, fastest node %.1f), "
                    "baseline %.1f ms (cpu %.1f, fastest %.1f)\n",
                    k, k % 2 ? "baseline" : "flowd", rs[k].flowd_ms, rs[k].flowd_cpu_ms, rs[k].flowd_fastest_ms,
                    rs[k].base_ms, rs[k].base_cpu_ms, rs[k].base_fastest_ms);
        if (s->plain_loop)
            rs[k].plain_ms = bench_python_loop(s->n_nodes, "", script, s->expect);
        if (s->runner_only)
            rs[k].runner_ms =
                bench_python_loop_input(s->n_nodes, "-I -S", node_python_runner, envelope, s->expect, NULL);
    }
    double f = median_of(rs, rounds, offsetof(PyRound, flowd_ms));
    double b = median_of(rs, rounds, offsetof(PyRound, base_ms));
    double inside = median_of(rs, rounds, offsetof(PyRound, inside_ms));
    double server = median_of(rs, rounds, offsetof(PyRound, server_ms));
    double ratio = pair_ratio(rs, rounds, offsetof(PyRound, flowd_ms), offsetof(PyRound, base_ms));
    char note[480], bname[160];
    int len = snprintf(
        note, sizeof(note),
        "ratio: median over %d pairs of rounds (each order once); overhead %.2f ms/node; inside attempts (fork..reap, "
        "sum) %.0f ms, server span %.0f ms",
        rounds / 2, (f - b) / (double)s->n_nodes, inside, server);
    /* Noise only ever adds time, so the fastest node and the fastest
     * baseline process compare the per-node cost with little of it. */
    double ff = rs[0].flowd_fastest_ms, bf = rs[0].base_fastest_ms;
    for (int k = 1; k < rounds; k++) {
        ff = rs[k].flowd_fastest_ms < ff ? rs[k].flowd_fastest_ms : ff;
        bf = rs[k].base_fastest_ms < bf ? rs[k].base_fastest_ms : bf;
    }
    len += snprintf(note + len, sizeof(note) - (size_t)len,
                    "; fastest node (fork..reap) %.1f ms vs fastest baseline process %.1f ms", ff, bf);
    if (s->plain_loop)
        snprintf(note + len, sizeof(note) - (size_t)len, "; plain `python3 -c` loop (site imported) %.0f ms",
                 median_of(rs, rounds, offsetof(PyRound, plain_ms)));
    snprintf(bname, sizeof(bname), "%zu x `" BENCH_PYTHON " -I -S -c` back to back (same flags as flowd's nodes)",
             s->n_nodes);
    BenchFigure fig = {
        .name = s->figure,
        .unit = "ms",
        .median = f,
        .p99 = NAN,
        .baseline = b,
        .baseline_name = bname,
        .ratio = ratio,
        .target = s->target,
        .met = ratio <= s->max_ratio ? BENCH_MET_YES : BENCH_MET_NO,
        .samples = (size_t)rounds,
        .note = note,
    };
    /* The same runner flowd's python nodes use (server/nodes), on the same
     * envelope, with no sandbox, engine or RPC: it splits flowd's overhead
     * into what the runner costs and what the rest costs. */
    char rname[96], rnote[200];
    double runner = median_of(rs, rounds, offsetof(PyRound, runner_ms));
    snprintf(rname, sizeof(rname), "%s_runner_only", s->figure);
    snprintf(rnote, sizeof(rnote),
             "flowd's python runner in plain processes, no sandbox: "
             "%.2f ms/node of the overhead; the rest (sandbox, engine, RPC) %.2f ms/node",
             (runner - b) / (double)s->n_nodes, (f - runner) / (double)s->n_nodes);
    BenchFigure rfig = {
        .name = rname,
        .unit = "ms",
        .median = runner,
        .p99 = NAN,
        .baseline = b,
        .baseline_name = "the same baseline",
        .ratio = pair_ratio(rs, rounds, offsetof(PyRound, runner_ms), offsetof(PyRound, base_ms)),
        .samples = (size_t)rounds,
        .note = rnote,
    };
    /* CPU time (user + system, from wait4 on both sides) does not grow
     * while a process waits for a CPU, so this ratio shows what flowd adds
     * to the work itself, whatever the neighbours do. */
    char cname[96];
    snprintf(cname, sizeof(cname), "%s_cpu", s->figure);
    BenchFigure cfig = {
        .name = cname,
        .unit = "ms",
        .median = median_of(rs, rounds, offsetof(PyRound, flowd_cpu_ms)),
        .p99 = NAN,
        .baseline = median_of(rs, rounds, offsetof(PyRound, base_cpu_ms)),
        .baseline_name = "CPU time of the same baseline processes",
        .ratio = pair_ratio(rs, rounds, offsetof(PyRound, flowd_cpu_ms), offsetof(PyRound, base_cpu_ms)),
        .samples = (size_t)rounds,
        .note = "user+system CPU of the node attempts (sandbox accounting) vs of the baseline processes",
    };
    /* Noise on this kind of machine only ever adds time, also to CPU time
     * (a busy neighbour on the host slows the CPU down): the fastest node
     * against the fastest baseline process is the view with least of it. */
    char fname[96];
    snprintf(fname, sizeof(fname), "%s_fastest", s->figure);
    BenchFigure ffig = {
        .name = fname,
        .unit = "ms",
        .median = ff,
        .p99 = NAN,
        .baseline = bf,
        .baseline_name = "the fastest baseline process (spawn..reap)",
        .ratio = ff / bf,
        .samples = (size_t)rounds * s->n_nodes,
        .note = "the fastest node of all rounds (sandbox fork..reap, as the sandbox measures it)",
    };
    bench_print_header(s->title);
    bench_report(&a, &fig);
    if (s->runner_only)
        bench_report(&a, &rfig);
    bench_report(&a, &cfig);
    bench_report(&a, &ffig);
    free(envelope);
    fc_workflow_free(wf);
    fc_client_free(c);
    free(json);
    free(code);
    free(script);
    return 0;
}
