/* A stand-in for flowd's HTTP side: every flowd metric family with sample
 * values (odd label values included), served on a free port. Prints the
 * port on stdout, then serves until SIGTERM or SIGINT, or for at most two
 * minutes so that a test that dies cannot leave it behind.
 *   http-fixture [LISTEN]        LISTEN defaults to 127.0.0.1:0
 *   FIXTURE_NOT_READY=1          /readyz answers 503 (draining, rlimit) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "server/http/http.h"
#include "server/metrics/met-flowd.h"

static void fixture_ready(HttpReadiness *ret, void *userdata)
{
    bool not_ready = userdata != NULL;
    *ret = (HttpReadiness){.store_writable = true,
                           .zygote_alive = true,
                           .draining = not_ready,
                           .sandbox_mode = not_ready ? "rlimit" : "cgroup"};
}

static void fixture_gauges(MetFlowdGauges *ret, void *userdata)
{
    (void)userdata;
    *ret = (MetFlowdGauges){.queue_depth = 7, .active_runs = 2, .running_sandboxes = 3, .ready = true};
}

static void populate(void)
{
    met_run_finished("acme", "SUCCEEDED");
    met_run_finished("acme", "FAILED");
    met_run_finished("we\"ird\\tenant\n", "succeeded");
    met_node_finished("python", "SUCCEEDED", 0.42);
    met_node_finished("plugin:geo", "FAILED", 12.5);
    met_node_finished("noop", "SKIPPED", -1);
    met_node_retry("python");
    met_oom_kill();
    met_sandbox_violation();
    met_sandbox_spawn(0.00023);
    met_dead_letter();
    met_circuit_state("payments-api", MET_CIRCUIT_OPEN);
    met_circuit_state("search", MET_CIRCUIT_HALF_OPEN);
    met_grpc_request("/flowd.v1.WorkflowService/SubmitRun", 0, 0.003);
    met_grpc_request("/flowd.v1.WorkflowService/GetRun", 5, 0.001);
    met_grpc_request("/grpc.health.v1.Health/Check", 0, 0.0002);
    met_store_write(0.0004);
    met_flowd_set_gauges_fn(fixture_gauges, NULL);
}

int main(int argc, char **argv)
{
    char err[256];
    HttpServer *s = NULL;
    sigset_t mask;

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    if (met_flowd_init("0.0.0-fixture") < 0)
        return 1;
    populate();
    HttpConfig cfg = {.listen = argc > 1 ? argv[1] : "127.0.0.1:0",
                      .registry = met_flowd_registry(),
                      .ready = fixture_ready,
                      .ready_userdata = getenv("FIXTURE_NOT_READY") ? (void *)1 : NULL};
    if (http_start(&cfg, &s, err, sizeof(err)) < 0) {
        fprintf(stderr, "http-fixture: %s\n", err);
        return 1;
    }
    printf("%d\n", http_port(s));
    fflush(stdout);
    /* The server thread started with the signals blocked; only this thread
     * takes them. */
    sigtimedwait(&mask, NULL, &(struct timespec){120, 0});
    http_stop(s);
    met_flowd_free();
    return 0;
}
