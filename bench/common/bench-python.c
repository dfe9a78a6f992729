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
#include <sys/wait.h>
#include <unistd.h>

#include "bench/common/bench-flowd.h"
#include "bench/common/bench-util.h"

extern char **environ;

char *bench_python_chain_json(const char *name, size_t n, const char *code)
{
    json_t *nodes = json_array(), *conns = json_array();

    for (size_t i = 0; i < n; i++) {
        char id[32], prev[32];
        snprintf(id, sizeof(id), "p%zu", i);
        json_array_append_new(nodes, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "kind", "python", "config",
                                               "code", code, "function", "main"));
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

/* One process: spawn, read its stdout to EOF, reap, check. */
static void python_once(char *const argv[], const char *expect)
{
    int out[2];
    pid_t pid;
    char buf[4096];
    size_t len = 0;
    ssize_t n;
    int status;
    posix_spawn_file_actions_t fa;

    if (pipe2(out, O_CLOEXEC) < 0)
        bench_die("pipe: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    if (r != 0)
        bench_die("cannot start %s: %s", argv[0], strerror(r));
    while ((n = read(out[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(out[0]);
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bench_die("%s exited with status %d", argv[0], status);
    if (!strstr(buf, expect))
        bench_die("%s printed \"%s\", not %s", argv[0], buf, expect);
}

double bench_python_loop(size_t n, const char *flags, const char *script, const char *expect)
{
    char *argv[8], flagbuf[64];
    size_t k = 0;

    snprintf(flagbuf, sizeof(flagbuf), "%s", flags);
    argv[k++] = BENCH_PYTHON;
    for (char *save = NULL, *t = strtok_r(flagbuf, " ", &save); t && k < 5; t = strtok_r(NULL, " ", &save))
        argv[k++] = t;
    argv[k++] = "-c";
    argv[k++] = (char *)script;
    argv[k] = NULL;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < n; i++)
        python_once(argv, expect);
    return (double)(bench_now_ns() - t0) / 1e6;
}

/* ---- the benchmark ---- */

static char *node_code(int fib_n)
{
    char *s = NULL;

    if (asprintf(&s, "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\n"
                     "def main():\n    return fib(%d)\n", fib_n) < 0)
        bench_die("out of memory");
    return s;
}

/* What a plain script computing the same prints: the result as the node
 * would output it, without importing json (a plain script would not need
 * to). */
static char *plain_script(int fib_n)
{
    char *s = NULL;

    if (asprintf(&s, "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\n"
                     "print('{\"result\": %%d}' %% fib(%d))\n", fib_n) < 0)
        bench_die("out of memory");
    return s;
}

typedef struct PyRound {
    double flowd_ms, base_ms, plain_ms, inside_ms, server_ms;
} PyRound;

static void flowd_round(FcClient *c, const FcWorkflow *wf, const BenchPythonSpec *s, PyRound *ret)
{
    BenchRun r;
    char why[512];

    if (bench_flowd_execute(c, wf, s->expect, &r) < 0 || !bench_run_ok(&r, s->n_nodes, true, why, sizeof(why)))
        bench_die("the python run failed: %s", r.failure[0] ? r.failure : why);
    ret->flowd_ms = bench_run_ms(&r);
    ret->inside_ms = (double)r.node_wall_us_sum / 1e3;
    ret->server_ms = (double)(r.server_finished_unix_ns - r.server_started_unix_ns) / 1e6;
}

static double median_of(const PyRound *rs, int n, size_t off)
{
    double v[64];

    for (int i = 0; i < n; i++)
        v[i] = *(const double *)((const char *)&rs[i] + off);
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
    if (rounds > 64)
        rounds = 64;
    char *code = node_code(s->fib_n), *script = plain_script(s->fib_n);
    char *json = bench_python_chain_json(s->figure, s->n_nodes, code);
    FcClient *c = bench_flowd_connect(a.addr);
    FcWorkflow *wf = bench_flowd_workflow(json);
    PyRound rs[64] = {{0}}, warm;

    /* Warm-up: the interpreter's files in the page cache, zygotes, slots. */
    bench_python_loop(3, "-I -S", script, s->expect);
    if (s->n_nodes * (size_t)s->fib_n <= 40 * 20)
        flowd_round(c, wf, s, &warm);
    for (int k = 0; k < rounds; k++) {
        /* Alternate which side goes first, so a slow patch of the machine
         * does not always land on the same side. */
        if (k % 2 == 0) {
            flowd_round(c, wf, s, &rs[k]);
            rs[k].base_ms = bench_python_loop(s->n_nodes, "-I -S", script, s->expect);
        } else {
            rs[k].base_ms = bench_python_loop(s->n_nodes, "-I -S", script, s->expect);
            flowd_round(c, wf, s, &rs[k]);
        }
        if (s->plain_loop)
            rs[k].plain_ms = bench_python_loop(s->n_nodes, "", script, s->expect);
    }
    double f = median_of(rs, rounds, offsetof(PyRound, flowd_ms));
    double b = median_of(rs, rounds, offsetof(PyRound, base_ms));
    double inside = median_of(rs, rounds, offsetof(PyRound, inside_ms));
    double server = median_of(rs, rounds, offsetof(PyRound, server_ms));
    char note[320], bname[160];
    int len = snprintf(note, sizeof(note),
                       "overhead %.2f ms/node: inside attempts (fork..reap, sum) %.0f ms, "
                       "server span %.0f ms", (f - b) / (double)s->n_nodes, inside, server);
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
        .ratio = f / b,
        .target = s->target,
        .met = f / b <= s->max_ratio ? BENCH_MET_YES : BENCH_MET_NO,
        .samples = (size_t)rounds,
        .note = note,
    };
    bench_print_header(s->title);
    bench_report(&a, &fig);
    fc_workflow_free(wf);
    fc_client_free(c);
    free(json);
    free(code);
    free(script);
    return 0;
}
