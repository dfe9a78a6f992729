/* test-fc-rpc: libflowd-client's RPCs against the in-process fake server
 * (client/fc-conn.c, client/fc-rpc.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fake-server.h"
#include "flowd/client.h"

static const char two_nodes[] =
    "{\"name\": \"w\", \"nodes\": [{\"id\": \"a\", \"kind\": \"noop\", \"config\": {\"k\": [1]}},"
    " {\"id\": \"b\", \"kind\": \"noop\"}], \"connections\": [{\"from\": \"a\", \"to\": \"b\"}]}";

typedef struct Fixture {
    FakeServer *server;
    FcClient *client;
    FcWorkflow *wf;
    char addr[64];
} Fixture;

static int start(void **state, const FakeServerOptions *so, const char *token)
{
    Fixture *f = calloc(1, sizeof(*f));
    FcClientOptions co = {.token = token, .timeout_ms = 5000};

    f->server = fake_server_start(so, f->addr, sizeof(f->addr));
    co.address = f->addr;
    assert_int_equal(fc_client_new(&co, &f->client, NULL), 0);
    assert_int_equal(fc_workflow_load_string(two_nodes, strlen(two_nodes), NULL, &f->wf, NULL), 0);
    *state = f;
    return 0;
}

static int setup(void **state) { return start(state, NULL, NULL); }

static int setup_token(void **state)
{
    FakeServerOptions so = {.token = "s3cret"};
    return start(state, &so, "s3cret");
}

static int setup_hang(void **state)
{
    FakeServerOptions so = {.hang = true};
    return start(state, &so, NULL);
}

static int teardown(void **state)
{
    Fixture *f = *state;
    fc_workflow_free(f->wf);
    fc_client_free(f->client);
    fake_server_stop(f->server);
    free(f);
    return 0;
}

/* ---- streams ------------------------------------------------------------------- */

typedef struct Seen {
    int n;
    uint64_t last_seq;
    FcEventType types[64];
    char outputs[256];
    int stop_after; /* on_event returns 1 after this many events; 0: never */
    int idles;
    int idle_stop; /* on_idle returns this once called */
} Seen;

static int on_event(const FcEvent *ev, void *userdata)
{
    Seen *s = userdata;

    assert_int_equal(ev->seq, s->last_seq + 1); /* seq starts at 1, no gaps */
    s->last_seq = ev->seq;
    if (s->n < 64)
        s->types[s->n] = ev->type;
    s->n++;
    assert_string_equal(ev->run_id, "run-1");
    if (ev->type == FC_EVENT_RUN_SUCCEEDED)
        snprintf(s->outputs, sizeof(s->outputs), "%s", ev->output_json);
    if (ev->type == FC_EVENT_NODE_SUCCEEDED) {
        assert_true(ev->has_usage);
        assert_int_equal(ev->usage.peak_memory_bytes, 1024 * 1024);
    }
    return s->stop_after && s->n >= s->stop_after;
}

static int on_idle(void *userdata)
{
    Seen *s = userdata;
    s->idles++;
    return s->idle_stop;
}

static void test_fc_execute_streams_every_event(void **state)
{
    Fixture *f = *state;
    Seen seen = {0};
    FcStreamHandlers h = {.on_event = on_event, .userdata = &seen};
    FcLabel labels[] = {{"env", "prod"}};
    FcSubmitOptions so = {
        .inputs_json = "{\"a\": {\"x\": 1}}", .idempotency_key = "k1", .n_labels = 1, .labels = labels};
    FakeServerRecord rec;
    FcError err = {0};

    assert_int_equal(fc_execute(f->client, f->wf, &so, &h, &err), 0);
    /* queued, started, 4 per node, succeeded */
    assert_int_equal(seen.n, 11);
    assert_int_equal(seen.types[0], FC_EVENT_RUN_QUEUED);
    assert_int_equal(seen.types[10], FC_EVENT_RUN_SUCCEEDED);
    assert_string_equal(seen.outputs, "{\"a\": {\"ok\": true}, \"b\": {\"ok\": true}}");
    fake_server_record(f->server, &rec);
    assert_string_equal(rec.last_method, "/flowd.v1.WorkflowService/ExecuteRun");
    assert_string_equal(rec.last_inputs_json, "{\"a\": {\"x\": 1}}");
    assert_string_equal(rec.last_idempotency_key, "k1");
    assert_string_equal(rec.first_label, "env=prod");
    /* config travels as compact JSON text */
    assert_string_equal(rec.last_config_json, "{\"k\":[1]}");
}

static void test_fc_execute_invalid_workflow(void **state)
{
    static const char bogus[] = "{\"nodes\": [{\"id\": \"a\", \"kind\": \"bogus\"}]}";
    Fixture *f = *state;
    FcWorkflow *wf = NULL;
    Seen seen = {0};
    FcStreamHandlers h = {.on_event = on_event, .userdata = &seen};
    FcError err = {0};

    assert_int_equal(fc_workflow_load_string(bogus, strlen(bogus), NULL, &wf, NULL), 0);
    assert_int_equal(fc_execute(f->client, wf, NULL, &h, &err), -EINVAL);
    assert_int_equal(err.status, FC_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "unknown kind"));
    assert_int_equal(seen.n, 0);
    fc_workflow_free(wf);
}

static void test_fc_watch_stop_from_on_event(void **state)
{
    Fixture *f = *state;
    Seen seen = {.stop_after = 3};
    FcStreamHandlers h = {.on_event = on_event, .userdata = &seen};
    FcError err = {0};

    assert_int_equal(fc_watch(f->client, "run-1", 0, &h, &err), -ECANCELED);
    assert_int_equal(err.status, FC_STATUS_CANCELLED);
    assert_int_equal(seen.n, 3);
}

static void test_fc_watch_unknown_run(void **state)
{
    Fixture *f = *state;
    Seen seen = {0};
    FcStreamHandlers h = {.on_event = on_event, .userdata = &seen};
    FcError err = {0};

    assert_int_equal(fc_watch(f->client, "nope", 0, &h, &err), -ENOENT);
    assert_int_equal(err.status, FC_STATUS_NOT_FOUND);
}

static void test_fc_watch_on_idle_stops_a_quiet_stream(void **state)
{
    Fixture *f = *state;
    Seen seen = {.idle_stop = 1};
    FcStreamHandlers h = {.on_event = on_event, .on_idle = on_idle, .userdata = &seen, .tick_ms = 20};
    FakeServerRecord rec;
    FcError err = {0};

    /* The hanging fake sends two events and then nothing: only on_idle can end it. */
    assert_int_equal(fc_watch(f->client, "run-1", 0, &h, &err), -ECANCELED);
    assert_true(seen.idles >= 1);
    assert_true(seen.n <= 2);
    /* The server saw the cancel once it finished with the call. */
    for (int i = 0; i < 100; i++) {
        fake_server_record(f->server, &rec);
        if (rec.stream_cancelled)
            break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    assert_true(rec.stream_cancelled);
}

/* ---- unary ----------------------------------------------------------------------- */

static void test_fc_validate_returns_diagnostics(void **state)
{
    static const char bogus[] =
        "{\"nodes\": [{\"id\": \"a\", \"kind\": \"noop\"}, {\"id\": \"b\", \"kind\": \"bogus\"}]}";
    Fixture *f = *state;
    FcWorkflow *wf = NULL;
    FcDiagnostics d = {0};
    bool valid = true;

    assert_int_equal(fc_validate(f->client, f->wf, &d, &valid, NULL), 0);
    assert_true(valid);
    assert_int_equal(d.n, 0);
    assert_int_equal(fc_workflow_load_string(bogus, strlen(bogus), NULL, &wf, NULL), 0);
    assert_int_equal(fc_validate(f->client, wf, &d, &valid, NULL), 0);
    assert_false(valid);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.items[0].path, "nodes[1].kind");
    assert_string_equal(d.items[0].message, "unknown kind \"bogus\"");
    fc_diagnostics_clear(&d);
    fc_workflow_free(wf);
}

static void test_fc_submit_and_get_run(void **state)
{
    Fixture *f = *state;
    char *run_id = NULL;
    bool dedup = true;
    FcRun *run = NULL;
    FcError err = {0};

    assert_int_equal(fc_submit(f->client, f->wf, NULL, &run_id, &dedup, &err), 0);
    assert_string_equal(run_id, "run-1");
    assert_false(dedup);
    assert_int_equal(fc_get_run(f->client, run_id, &run, &err), 0);
    assert_string_equal(run->run_id, "run-1");
    assert_string_equal(run->workflow_name, "fake");
    assert_int_equal(run->status, FC_RUN_SUCCEEDED);
    assert_int_equal(run->n_nodes, 2);
    assert_string_equal(run->nodes[1].node_id, "b");
    assert_int_equal(run->nodes[1].status, FC_NODE_SUCCEEDED);
    assert_true(run->nodes[0].has_usage);
    assert_false(run->nodes[0].has_failure);
    assert_string_equal(run->nodes[0].failure.message, "");
    fc_run_free(run);
    free(run_id);
    assert_int_equal(fc_get_run(f->client, "other", &run, &err), -ENOENT);
    assert_int_equal(err.status, FC_STATUS_NOT_FOUND);
}

static void test_fc_list_runs_pages(void **state)
{
    Fixture *f = *state;
    FcListOptions o = {.page_size = 2};
    FcRunPage *page = NULL;

    assert_int_equal(fc_list_runs(f->client, &o, &page, NULL), 0);
    assert_int_equal(page->n_runs, 2);
    assert_string_equal(page->runs[0].run_id, "run-3");
    assert_string_equal(page->next_page_token, "2");
    o.page_token = "2";
    fc_run_page_free(page);
    assert_int_equal(fc_list_runs(f->client, &o, &page, NULL), 0);
    assert_int_equal(page->n_runs, 1);
    assert_string_equal(page->runs[0].run_id, "run-1");
    assert_string_equal(page->next_page_token, "");
    fc_run_page_free(page);
}

static void test_fc_cancel_run(void **state)
{
    Fixture *f = *state;
    FcRun *run = NULL;

    assert_int_equal(fc_cancel_run(f->client, "run-1", "test", &run, NULL), 0);
    assert_int_equal(run->status, FC_RUN_CANCELLED);
    fc_run_free(run);
    assert_int_equal(fc_cancel_run(f->client, "run-1", NULL, NULL, NULL), 0);
}

static void test_fc_dead_letters(void **state)
{
    Fixture *f = *state;
    FcDeadLetterPage *page = NULL;
    char *run_id = NULL;
    FcError err = {0};

    assert_int_equal(fc_list_dead_letters(f->client, 10, NULL, &page, NULL), 0);
    assert_int_equal(page->n_dead_letters, 1);
    assert_string_equal(page->dead_letters[0].id, "dl-1");
    assert_int_equal(page->dead_letters[0].failure.kind, FC_FAILURE_OOM_KILLED);
    assert_int_equal(page->dead_letters[0].attempts, 3);
    fc_dead_letter_page_free(page);
    assert_int_equal(fc_retry_dead_letter(f->client, "dl-1", &run_id, NULL), 0);
    assert_string_equal(run_id, "run-2");
    free(run_id);
    assert_int_equal(fc_retry_dead_letter(f->client, "dl-9", &run_id, &err), -ENOENT);
}

static void test_fc_server_info(void **state)
{
    Fixture *f = *state;
    FcServerInfo *info = NULL;

    assert_int_equal(fc_server_info(f->client, &info, NULL), 0);
    assert_string_equal(info->version, "fake-1");
    assert_int_equal(info->n_node_kinds, 2);
    assert_string_equal(info->node_kinds[1], "python");
    assert_string_equal(info->user, "alice");
    assert_int_equal(info->n_roles, 1);
    assert_true(info->has_quota);
    assert_int_equal(info->quota.max_memory_mb, 512);
    fc_server_info_free(info);
}

static void test_fc_health_check(void **state)
{
    Fixture *f = *state;
    FcHealthStatus st = FC_HEALTH_UNKNOWN;
    FcError err = {0};

    assert_int_equal(fc_health_check(f->client, NULL, &st, NULL), 0);
    assert_int_equal(st, FC_HEALTH_SERVING);
    assert_int_equal(fc_health_check(f->client, "flowd.v1.WorkflowService", &st, NULL), 0);
    assert_int_equal(fc_health_check(f->client, "x", &st, &err), -ENOENT);
}

/* ---- auth and connection ------------------------------------------------------------------- */

static void test_fc_token_is_sent_as_bearer(void **state)
{
    Fixture *f = *state;
    FcServerInfo *info = NULL;
    FakeServerRecord rec;

    assert_int_equal(fc_server_info(f->client, &info, NULL), 0);
    fc_server_info_free(info);
    fake_server_record(f->server, &rec);
    assert_string_equal(rec.last_authorization, "Bearer s3cret");
}

static void test_fc_missing_token_is_unauthenticated(void **state)
{
    Fixture *f = *state;
    FcClientOptions co = {.address = f->addr, .timeout_ms = 5000};
    FcClient *anon = NULL;
    FcServerInfo *info = NULL;
    FcHealthStatus st;
    FcError err = {0};

    assert_int_equal(fc_client_new(&co, &anon, NULL), 0);
    assert_int_equal(fc_server_info(anon, &info, &err), -EPERM);
    assert_int_equal(err.status, FC_STATUS_UNAUTHENTICATED);
    assert_string_equal(err.message, "missing or unknown token");
    /* Health needs no token, as for Kubernetes' probe. */
    assert_int_equal(fc_health_check(anon, NULL, &st, NULL), 0);
    fc_client_free(anon);
}

static void test_fc_unreachable_server_is_unavailable(void **state)
{
    FcClientOptions co = {.address = "127.0.0.1:1", .timeout_ms = 5000};
    FcClient *c = NULL;
    FcServerInfo *info = NULL;
    FcError err = {0};
    (void)state;

    assert_int_equal(fc_client_new(&co, &c, NULL), 0);
    assert_int_equal(fc_server_info(c, &info, &err), -ECONNREFUSED);
    assert_int_equal(err.status, FC_STATUS_UNAVAILABLE);
    fc_client_free(c);
}

static void test_fc_client_new_bad_ca(void **state)
{
    FcClientOptions co = {.address = "127.0.0.1:1", .ca_file = "/nonexistent/ca.pem"};
    FcClient *c = NULL;
    FcError err = {0};
    (void)state;

    assert_int_equal(fc_client_new(&co, &c, &err), -ENOENT);
    assert_null(c);
    assert_non_null(strstr(err.message, "/nonexistent/ca.pem"));
    co.ca_file = "/etc/hostname"; /* exists, holds no certificate */
    assert_int_equal(fc_client_new(&co, &c, &err), -EINVAL);
}

static void test_fc_tls_with_ca(void **state)
{
    FakeServerOptions so = {.tls_cert = "tests/client/testdata/server.pem",
                            .tls_key = "tests/client/testdata/server.key"};
    FcClientOptions co = {.ca_file = "tests/client/testdata/ca.pem", .timeout_ms = 5000};
    char addr[64];
    FakeServer *s = fake_server_start(&so, addr, sizeof(addr));
    FcClient *c = NULL, *plain = NULL;
    FcServerInfo *info = NULL;
    FcError err = {0};
    (void)state;

    co.address = addr;
    assert_int_equal(fc_client_new(&co, &c, &err), 0);
    assert_int_equal(fc_server_info(c, &info, &err), 0);
    assert_string_equal(info->version, "fake-1");
    fc_server_info_free(info);
    /* A plaintext client gets no answer from a TLS port. */
    co.ca_file = NULL;
    assert_int_equal(fc_client_new(&co, &plain, &err), 0);
    assert_int_equal(fc_server_info(plain, &info, &err), -ECONNREFUSED);
    fc_client_free(plain);
    fc_client_free(c);
    fake_server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fc_execute_streams_every_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fc_execute_invalid_workflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fc_watch_stop_from_on_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fc_watch_unknown_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fc_watch_on_idle_stops_a_quiet_stream, setup_hang, teardown),
        cmocka_unit_test_setup_teardown(test_fc_validate_returns_diagnostics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fc_submit_and_get_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fc_list_runs_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fc_cancel_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fc_dead_letters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fc_server_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fc_health_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fc_token_is_sent_as_bearer, setup_token, teardown),
        cmocka_unit_test_setup_teardown(test_fc_missing_token_is_unauthenticated, setup_token, teardown),
        cmocka_unit_test(test_fc_unreachable_server_is_unavailable),
        cmocka_unit_test(test_fc_client_new_bad_ca),
        cmocka_unit_test(test_fc_tls_with_ca),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
