/* test-flowctl-render: plain lines, JSON lines, the live view's frame and
 * tables (client/flowctl-render.c), pinned to golden text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/flowctl.h"

#define T0 1700000000000000000ull
#define MS 1000000ull

static FcEvent event(uint64_t seq, uint64_t at_ms, FcEventType type, const char *node)
{
    return (FcEvent){
        .run_id = "r-42",
        .seq = seq,
        .time_unix_nano = T0 + at_ms * MS,
        .type = type,
        .node_id = node ? node : "",
        .attempt = node ? 1 : 0,
        .message = "",
        .output_json = "",
        .failure = {.message = "", .syscall = ""},
    };
}

/* A fixed run: extract succeeds, transform retries once and is at 42%,
 * load waits; plus a log line and a skipped node. */
static size_t script(FcEvent *ev)
{
    size_t n = 0;

    ev[n++] = event(1, 0, FC_EVENT_RUN_QUEUED, NULL);
    ev[n++] = event(2, 2, FC_EVENT_RUN_STARTED, NULL);
    ev[n++] = event(3, 5, FC_EVENT_NODE_STARTED, "extract");
    ev[n] = event(4, 12, FC_EVENT_NODE_SUCCEEDED, "extract");
    ev[n].has_usage = true;
    ev[n++].usage = (FcUsage){.peak_memory_bytes = 12897484, .wall_us = 8100};
    ev[n++] = event(5, 13, FC_EVENT_NODE_STARTED, "transform");
    ev[n] = event(6, 1013, FC_EVENT_NODE_RETRYING, "transform");
    ev[n].has_failure = true;
    ev[n++].failure = (FcFailure){.kind = FC_FAILURE_OOM_KILLED, .message = "limit 64 MiB", .syscall = ""};
    ev[n] = event(7, 1500, FC_EVENT_NODE_STARTED, "transform");
    ev[n++].attempt = 2;
    ev[n] = event(8, 2000, FC_EVENT_NODE_PROGRESS, "transform");
    ev[n].attempt = 2;
    ev[n].progress = 0.42;
    ev[n++].message = "batch 5/12";
    ev[n] = event(9, 2001, FC_EVENT_NODE_LOG, "transform");
    ev[n++].message = "warning: 3 rows dropped";
    ev[n] = event(10, 2002, FC_EVENT_NODE_SKIPPED, "notify");
    ev[n].attempt = 0;
    ev[n++].message = "port not taken";
    return n;
}

static const char golden_frame[] =
    "etl  run r-42  RUNNING  [##########..........] 2/4 nodes  3.0s\n"
    "  extract    SUCCEEDED  #1  [####################] 100%     0.0s    12.3MiB\n"
    "  transform  RUNNING    #2  [########............]  42%     3.0s             batch 5/12\n"
    "  load       PENDING\n"
    "  notify     SKIPPED    port not taken\n";

static void test_fctl_view_render_golden_frame(void **state)
{
    static const char *const ids[] = {"extract", "transform", "load", "notify"};
    FctlViewOptions o = {.color = false, .width = 100};
    FctlView *v = fctl_view_new("etl", ids, 4, &o);
    FcEvent ev[16];
    size_t n = script(ev), lines = 0;
    char *frame;
    (void)state;

    for (size_t i = 0; i < n; i++)
        fctl_view_apply(v, &ev[i], ev[i].time_unix_nano); /* client clock == server clock */
    frame = fctl_view_render(v, T0 + 3000 * MS, &lines);
    assert_int_equal(lines, 5);
    assert_string_equal(frame, golden_frame);
    assert_false(fctl_view_finished(v));
    free(frame);
    fctl_view_free(v);
}

static void test_fctl_view_render_terminal_and_color(void **state)
{
    static const char *const ids[] = {"a"};
    FctlViewOptions o = {.color = true, .width = 60};
    FctlView *v = fctl_view_new("wf", ids, 1, &o);
    FcEvent s = event(1, 0, FC_EVENT_NODE_STARTED, "a"), f = event(2, 500, FC_EVENT_RUN_FAILED, NULL);
    size_t lines;
    char *frame;
    (void)state;

    fctl_view_apply(v, &s, s.time_unix_nano);
    fctl_view_apply(v, &f, f.time_unix_nano);
    assert_true(fctl_view_finished(v));
    frame = fctl_view_render(v, T0 + 9000 * MS, &lines);
    /* The run's end stops the clocks, and a node left running shows cancelled. */
    assert_non_null(strstr(frame, "\x1b[1;31mFAILED\x1b[0m"));
    assert_non_null(strstr(frame, "CANCELLED"));
    assert_non_null(strstr(frame, "0.5s"));
    assert_null(strstr(frame, "9.0s"));
    free(frame);
    fctl_view_free(v);
}

static void test_fctl_view_render_truncates_to_width(void **state)
{
    static const char *const ids[] = {"a"};
    FctlViewOptions o = {.color = false, .width = 30};
    FctlView *v = fctl_view_new("a-very-long-workflow-name-indeed", ids, 1, &o);
    FcEvent p = event(1, 0, FC_EVENT_NODE_PROGRESS, "a");
    size_t lines;
    char *frame, *line;
    (void)state;

    p.message = "a message far too long for thirty columns of terminal";
    fctl_view_apply(v, &p, p.time_unix_nano);
    frame = fctl_view_render(v, T0, &lines);
    for (line = strtok(frame, "\n"); line; line = strtok(NULL, "\n"))
        assert_true(strlen(line) <= 29);
    free(frame);
    fctl_view_free(v);
}

static void test_fctl_view_draw_moves_cursor(void **state)
{
    static const char *const ids[] = {"a", "b"};
    FctlViewOptions o = {.width = 80};
    FctlView *v = fctl_view_new("wf", ids, 2, &o);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    (void)state;

    fctl_view_draw(v, f, T0, NULL);
    fctl_view_draw(v, f, T0, "  a | log line\n");
    fclose(f);
    /* The second frame goes back over the three lines of the first. */
    assert_non_null(strstr(buf, "\r\x1b[3A\x1b[J  a | log line\nwf"));
    free(buf);
    fctl_view_free(v);
}

static void test_fctl_format_event_plain_lines(void **state)
{
    FcEvent ev[16];
    size_t n = script(ev);
    char line[512];
    static const char *const golden[] = {
        "[  0.000s] #1   RUN_QUEUED      run=r-42",
        "[  0.002s] #2   RUN_STARTED     run=r-42",
        "[  0.005s] #3   NODE_STARTED    node=extract attempt=1",
        "[  0.012s] #4   NODE_SUCCEEDED  node=extract attempt=1  peak=12.3MiB  wall=8.1ms",
        "[  0.013s] #5   NODE_STARTED    node=transform attempt=1",
        "[  1.013s] #6   NODE_RETRYING   node=transform attempt=1  failure=OOM_KILLED: limit 64 MiB",
        "[  1.500s] #7   NODE_STARTED    node=transform attempt=2",
        "[  2.000s] #8   NODE_PROGRESS   node=transform attempt=2  progress=42%  batch 5/12",
        "[  2.001s] #9   NODE_LOG        node=transform attempt=2  | warning: 3 rows dropped",
        "[  2.002s] #10  NODE_SKIPPED    node=notify  port not taken",
    };
    (void)state;

    ev[8].attempt = 2;
    assert_int_equal(n, sizeof(golden) / sizeof(golden[0]));
    for (size_t i = 0; i < n; i++) {
        fctl_format_event_plain(&ev[i], T0, line, sizeof(line));
        assert_string_equal(line, golden[i]);
    }
}

static void test_fctl_format_event_plain_sanitizes(void **state)
{
    FcEvent ev = event(1, 0, FC_EVENT_NODE_LOG, "a");
    char line[64];
    (void)state;

    ev.message = "line1\nline2\x1b[31m";
    fctl_format_event_plain(&ev, T0, line, sizeof(line));
    assert_null(strchr(line, '\n'));
    assert_null(strchr(line, '\x1b'));
}

static void test_fctl_event_to_json_lines(void **state)
{
    FcEvent ev[16];
    size_t n = script(ev);
    FcEvent done = event(11, 3000, FC_EVENT_RUN_SUCCEEDED, NULL);
    char *s;
    (void)state;

    json_t *j;

    (void)n;
    j = fctl_event_to_json(&ev[3]);
    s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    assert_string_equal(s, "{\"run_id\":\"r-42\",\"seq\":4,\"time_unix_nano\":1700000000012000000,"
                           "\"type\":\"NODE_SUCCEEDED\",\"node_id\":\"extract\",\"attempt\":1,"
                           "\"usage\":{\"peak_memory_bytes\":12897484,\"cpu_user_us\":0,\"cpu_system_us\":0,"
                           "\"wall_us\":8100}}");
    free(s);
    done.output_json = "{\"load\": {\"rows\": 3}}";
    done.run_status = FC_RUN_SUCCEEDED;
    j = fctl_event_to_json(&done);
    s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    assert_string_equal(s, "{\"run_id\":\"r-42\",\"seq\":11,\"time_unix_nano\":1700000003000000000,"
                           "\"type\":\"RUN_SUCCEEDED\",\"output\":{\"load\":{\"rows\":3}},"
                           "\"run_status\":\"SUCCEEDED\"}");
    free(s);
}

static void test_fctl_format_units(void **state)
{
    char b[32];
    (void)state;

    fctl_format_bytes(512, b, sizeof(b));
    assert_string_equal(b, "512B");
    fctl_format_bytes(12897484, b, sizeof(b));
    assert_string_equal(b, "12.3MiB");
    fctl_format_duration_us(999, b, sizeof(b));
    assert_string_equal(b, "999us");
    fctl_format_duration_us(8100, b, sizeof(b));
    assert_string_equal(b, "8.1ms");
    fctl_format_duration_us(65000000, b, sizeof(b));
    assert_string_equal(b, "1m05s");
}

static void test_fctl_dump_json_shortest_reals(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    json_t *v = json_loads("{\"a\": 319.4, \"b\": [1, 2.0, 0.30000000000000004, 1e300], \"c\": {\"d\": \"x\\\"y\"}, "
                           "\"e\": {}, \"f\": []}",
                           0, NULL);
    FILE *f = open_memstream(&buf, &len);
    fctl_dump_json(v, f, 0);
    fclose(f);
    assert_string_equal(buf, "{\"a\":319.4,\"b\":[1,2.0,0.30000000000000004,1e+300],\"c\":{\"d\":\"x\\\"y\"},"
                             "\"e\":{},\"f\":[]}");
    free(buf);
    f = open_memstream(&buf, &len);
    fctl_dump_json(json_object_get(v, "c"), f, 2);
    fclose(f);
    assert_string_equal(buf, "{\n  \"d\": \"x\\\"y\"\n}");
    free(buf);
    json_decref(v);
}

static void test_fctl_table_print_aligns(void **state)
{
    static const char *const h[] = {"RUN", "STATUS", "NODES"};
    static const char *const r1[] = {"run-1", "SUCCEEDED", "3/3"};
    static const char *const r2[] = {"run-12345", "FAILED", "1/3"};
    FctlTable *t = fctl_table_new(3, h);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    (void)state;

    fctl_table_add(t, r1);
    fctl_table_add(t, r2);
    fctl_table_print(t, f);
    fclose(f);
    assert_string_equal(buf, "RUN        STATUS     NODES\n"
                             "run-1      SUCCEEDED  3/3\n"
                             "run-12345  FAILED     1/3\n");
    free(buf);
    fctl_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fctl_view_render_golden_frame),
        cmocka_unit_test(test_fctl_view_render_terminal_and_color),
        cmocka_unit_test(test_fctl_view_render_truncates_to_width),
        cmocka_unit_test(test_fctl_view_draw_moves_cursor),
        cmocka_unit_test(test_fctl_format_event_plain_lines),
        cmocka_unit_test(test_fctl_format_event_plain_sanitizes),
        cmocka_unit_test(test_fctl_event_to_json_lines),
        cmocka_unit_test(test_fctl_format_units),
        cmocka_unit_test(test_fctl_table_print_aligns),
        cmocka_unit_test(test_fctl_dump_json_shortest_reals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
