/* bench_dag_scale.c: what validating and scheduling a big workflow costs,
 * in process, with no sandbox, store or RPC: the Workflow message of N noop
 * nodes is built first (not timed), then eng_workflow_build() (ids, kinds,
 * per-node checks, connections, the dependency order and cycle check) and a
 * topological schedule over the engine's adjacency arrays (every node
 * started once its inputs are done, in FIFO order) are timed together.
 *
 * Shape: layers of 100 nodes; every node below the first layer has two
 * inputs from the layer above (2N connections), so the graph is wide and
 * deep at once (100k nodes: 1,000 layers).
 *
 * Usage: bench_dag_scale [--json PATH] [--quick]
 *        bench_dag_scale --only N REPS   (one size, for profiling with perf) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/common/bench-util.h"
#include "flowd/v1/workflow.pb-c.h"
#include "server/engine/eng-workflow.h"
#include "server/nodes/nodes.h"

#define WIDTH 100

static char *xstrdup_or_die(const char *s)
{
    char *r = strdup(s);
    if (!r)
        bench_die("out of memory");
    return r;
}

static Flowd__V1__Workflow *make_workflow(size_t n)
{
    Flowd__V1__Workflow *wf = calloc(1, sizeof(*wf));
    size_t n_conns = n > WIDTH ? 2 * (n - WIDTH) : 0;
    char id[32];

    flowd__v1__workflow__init(wf);
    wf->name = xstrdup_or_die("dag-scale");
    wf->description = xstrdup_or_die("");
    wf->nodes = calloc(n, sizeof(*wf->nodes));
    wf->connections = calloc(n_conns + 1, sizeof(*wf->connections));
    for (size_t i = 0; i < n; i++) {
        Flowd__V1__Node *node = calloc(1, sizeof(*node));
        flowd__v1__node__init(node);
        snprintf(id, sizeof(id), "n%zu", i);
        node->id = xstrdup_or_die(id);
        node->kind = xstrdup_or_die("noop");
        node->config_json = xstrdup_or_die("{}");
        wf->nodes[wf->n_nodes++] = node;
        if (i < WIDTH)
            continue;
        /* 6j + 3 is odd, so the two inputs are never the same node. */
        size_t layer = i / WIDTH, j = i % WIDTH;
        size_t from[2] = {(layer - 1) * WIDTH + j, (layer - 1) * WIDTH + (j * 7 + 3) % WIDTH};
        for (int k = 0; k < 2; k++) {
            Flowd__V1__Connection *c = calloc(1, sizeof(*c));
            flowd__v1__connection__init(c);
            snprintf(id, sizeof(id), "n%zu", from[k]);
            c->from = xstrdup_or_die(id);
            c->to = xstrdup_or_die(node->id);
            wf->connections[wf->n_connections++] = c;
        }
    }
    return wf;
}

/* The scheduler's bookkeeping without the sandbox: every node is started
 * when its last input is done and finishes at once. Returns how many ran. */
static size_t schedule(const EngWorkflow *wf, uint32_t *deps, uint32_t *queue)
{
    size_t head = 0, tail = 0;

    for (size_t i = 0; i < wf->n_nodes; i++) {
        deps[i] = (uint32_t)wf->nodes[i].n_in;
        if (deps[i] == 0)
            queue[tail++] = (uint32_t)i;
    }
    while (head < tail) {
        const EngNode *n = &wf->nodes[queue[head++]];
        for (size_t k = 0; k < n->n_out; k++) {
            uint32_t to = wf->conns[n->out[k]].to;
            if (--deps[to] == 0)
                queue[tail++] = to;
        }
    }
    return tail;
}

/* One timed build + schedule, in ms; dies if the graph does not validate
 * or the schedule misses a node. */
static double once(const Flowd__V1__Workflow *pb, const EngLimits *lim, uint32_t *deps, uint32_t *queue)
{
    EngWorkflow *wf = NULL;
    Diags d = {0};

    uint64_t t0 = bench_now_ns();
    int r = eng_workflow_build(pb, lim, &wf, &d);
    size_t ran = r == 0 ? schedule(wf, deps, queue) : 0;
    uint64_t t1 = bench_now_ns();
    if (r < 0) {
        char *why = diags_join(&d, "; ");
        bench_die("the %zu-node workflow does not validate: %.400s%s", pb->n_nodes, why,
                  strlen(why) > 400 ? " ..." : "");
    }
    if (ran != pb->n_nodes || wf->n_conns != pb->n_connections)
        bench_die("the schedule ran %zu of %zu nodes", ran, pb->n_nodes);
    eng_workflow_free(wf);
    diags_free(&d);
    return (double)(t1 - t0) / 1e6;
}

/* --only N REPS: one size, nothing else in the process's profile but the
 * message construction. */
static int only(size_t n, int reps, const EngLimits *lim)
{
    Flowd__V1__Workflow *pb = make_workflow(n);
    uint32_t *deps = calloc(n, sizeof(uint32_t)), *queue = calloc(n, sizeof(uint32_t));
    double *v = calloc((size_t)reps + 1, sizeof(double));

    once(pb, lim, deps, queue);
    for (int k = 0; k < reps; k++)
        v[k] = once(pb, lim, deps, queue);
    printf("%zu nodes: median %.2f ms (%.0f ns per node) over %d\n", n, bench_pct(v, (size_t)reps, 0.5),
           bench_pct(v, (size_t)reps, 0.5) * 1e6 / (double)n, reps);
    flowd__v1__workflow__free_unpacked(pb, NULL);
    free(deps);
    free(queue);
    free(v);
    return 0;
}

int main(int argc, char **argv)
{
    static const size_t sizes[3] = {1000, 10000, 100000};
    static const char *const names[3] = {"dag_scale_1k", "dag_scale_10k", "dag_scale_100k"};
    BenchArgs a;
    EngLimits lim;
    int i = bench_args(argc, argv, &a);

    if (i < 0)
        return 2;
    nodes_init(NULL); /* the kind table eng_workflow_build looks kinds up in */
    eng_limits_default(&lim);
    if (i + 3 == argc && strcmp(argv[i], "--only") == 0)
        return only(strtoul(argv[i + 1], NULL, 10), atoi(argv[i + 2]), &lim);
    if (i < argc)
        bench_die("unknown option %s", argv[i]);
    Flowd__V1__Workflow *pb[3];
    for (int k = 0; k < 3; k++)
        pb[k] = make_workflow(sizes[k]);
    uint32_t *deps = calloc(sizes[2], sizeof(uint32_t)), *queue = calloc(sizes[2], sizeof(uint32_t));
    /* Per round: 100k once, 10k 3 times, 1k 20 times, so every size sees
     * the same stretches of machine noise. */
    static const int per_round[3] = {20, 3, 1};
    int rounds = a.quick ? 3 : 9;
    double *v[3];
    size_t nv[3] = {0};
    for (int k = 0; k < 3; k++)
        v[k] = calloc((size_t)(per_round[k] * rounds), sizeof(double));
    for (int k = 0; k < 3; k++) /* warm-up */
        once(pb[k], &lim, deps, queue);
    for (int r = 0; r < rounds; r++)
        for (int k = 2; k >= 0; k--)
            for (int j = 0; j < per_round[k]; j++)
                v[k][nv[k]++] = once(pb[k], &lim, deps, queue);

    bench_print_header("dag_scale: eng_workflow_build + topological schedule of N noop nodes (in process)");
    double med[3];
    char notes[3][96];
    for (int k = 0; k < 3; k++) {
        med[k] = bench_pct(v[k], nv[k], 0.5);
        double p99 = bench_pct(v[k], nv[k], 0.99);
        snprintf(notes[k], sizeof(notes[k]), "%zu nodes, %zu connections; %.0f ns per node", sizes[k],
                 pb[k]->n_connections, med[k] * 1e6 / (double)sizes[k]);
        BenchFigure f = {.name = names[k],
                         .unit = "ms",
                         .median = med[k],
                         .p99 = p99,
                         .baseline = NAN,
                         .ratio = NAN,
                         .samples = nv[k],
                         .note = notes[k]};
        if (k == 2) {
            f.target = "< 1000 ms";
            f.met = med[k] < 1000.0 ? BENCH_MET_YES : BENCH_MET_NO;
        }
        bench_report(&a, &f);
    }
    BenchFigure g = {.name = "dag_scale_growth_10k_100k",
                     .unit = "x",
                     .median = med[2] / med[1],
                     .p99 = NAN,
                     .baseline = NAN,
                     .ratio = NAN,
                     .target = "< 11x (10x the nodes)",
                     .met = med[2] / med[1] < 11.0 ? BENCH_MET_YES : BENCH_MET_NO,
                     .samples = nv[2],
                     .note = "median(100k) / median(10k)"};
    bench_report(&a, &g);
    for (int k = 0; k < 3; k++) {
        flowd__v1__workflow__free_unpacked(pb[k], NULL);
        free(v[k]);
    }
    free(deps);
    free(queue);
    return 0;
}
