/* The registry and the text exposition format. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/metrics/met-test.h"

static const double two_buckets[] = {0.25, 1};
static const char *const colors[] = {"red", "green", NULL};

static MetRegistry *reg;

static int setup(void **state)
{
    (void)state;
    return met_registry_new(&reg);
}

static int teardown(void **state)
{
    (void)state;
    reg = met_registry_free(reg);
    return 0;
}

static MetFamily *must_register(const MetDesc *d)
{
    MetFamily *f = NULL;
    assert_int_equal(met_register(reg, d, &f), 0);
    return f;
}

static void test_met_register_rejects_bad_descs(void **state)
{
    (void)state;
    MetDesc bad[] = {
        {.name = "1bad_total", .type = MET_COUNTER, .help = ""},
        {.name = "has-dash_total", .type = MET_COUNTER, .help = ""},
        {.name = "no_suffix", .type = MET_COUNTER, .help = "counters end in _total"},
        {.name = "x_total", .type = MET_COUNTER},
        {.name = "h_seconds",
         .type = MET_HISTOGRAM,
         .help = "",
         .labels = {{.name = "le"}},
         .buckets = two_buckets,
         .n_buckets = 2},
        {.name = "h_seconds", .type = MET_HISTOGRAM, .help = "no buckets"},
        {.name = "h_seconds", .type = MET_HISTOGRAM, .help = "", .buckets = (const double[]){1, 1}, .n_buckets = 2},
        {.name = "h_seconds", .type = MET_HISTOGRAM, .help = "", .buckets = (const double[]){INFINITY}, .n_buckets = 1},
        {.name = "h_seconds_count", .type = MET_HISTOGRAM, .help = "", .buckets = two_buckets, .n_buckets = 2},
        {.name = "g", .type = MET_GAUGE, .help = "", .labels = {{.name = "__reserved"}}},
        {.name = "g", .type = MET_GAUGE, .help = "", .labels = {{.name = "a"}, {.name = "a"}}},
        {.name = "g", .type = MET_GAUGE, .help = "", .labels = {{.name = "a-b"}}},
        {.name = "g", .type = MET_GAUGE, .help = "gauges have no buckets", .buckets = two_buckets, .n_buckets = 2},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(met_register(reg, &bad[i], NULL), -EINVAL);
}

static void test_met_register_duplicate(void **state)
{
    (void)state;
    MetDesc d = {.name = "dup_total", .type = MET_COUNTER, .help = "x"};
    must_register(&d);
    assert_int_equal(met_register(reg, &d, NULL), -EEXIST);
}

static void test_met_render_counter_and_gauge_exact(void **state)
{
    (void)state;
    MetFamily *c = must_register(&(MetDesc){.name = "jobs_total",
                                            .type = MET_COUNTER,
                                            .help = "Jobs done.",
                                            .labels = {{.name = "color", .values = colors}, {.name = "shape"}}});
    MetFamily *g = must_register(&(MetDesc){.name = "temp_celsius", .type = MET_GAUGE, .help = "Temperature."});
    met_add(met_series(c, (const char *[]){"red", "square"}), 3);
    met_inc(met_series(c, (const char *[]){"green", "circle"}));
    met_inc(met_series(c, (const char *[]){"red", "square"}));
    met_set(met_series0(g), -2.5);

    char *text = render(reg);
    assert_string_equal(text, "# HELP jobs_total Jobs done.\n"
                              "# TYPE jobs_total counter\n"
                              "jobs_total{color=\"green\",shape=\"circle\"} 1\n"
                              "jobs_total{color=\"red\",shape=\"square\"} 4\n"
                              "# HELP temp_celsius Temperature.\n"
                              "# TYPE temp_celsius gauge\n"
                              "temp_celsius -2.5\n");
    free(text);
}

static void test_met_render_histogram_exact(void **state)
{
    (void)state;
    MetFamily *h = must_register(&(MetDesc){.name = "op_seconds",
                                            .type = MET_HISTOGRAM,
                                            .help = "Op time.",
                                            .labels = {{.name = "op"}},
                                            .buckets = two_buckets,
                                            .n_buckets = 2});
    MetFamily *h0 = must_register(
        &(MetDesc){.name = "bare_seconds", .type = MET_HISTOGRAM, .help = "", .buckets = two_buckets, .n_buckets = 2});
    MetSeries *s = met_series(h, (const char *[]){"read"});
    met_observe(s, 0.0625);
    met_observe(s, 1); /* le is inclusive */
    met_observe(s, 4);
    met_observe(s, NAN); /* ignored */

    char *text = render(reg);
    assert_string_equal(text, "# HELP op_seconds Op time.\n"
                              "# TYPE op_seconds histogram\n"
                              "op_seconds_bucket{op=\"read\",le=\"0.25\"} 1\n"
                              "op_seconds_bucket{op=\"read\",le=\"1\"} 2\n"
                              "op_seconds_bucket{op=\"read\",le=\"+Inf\"} 3\n"
                              "op_seconds_sum{op=\"read\"} 5.0625\n"
                              "op_seconds_count{op=\"read\"} 3\n"
                              "# HELP bare_seconds \n"
                              "# TYPE bare_seconds histogram\n"
                              "bare_seconds_bucket{le=\"0.25\"} 0\n"
                              "bare_seconds_bucket{le=\"1\"} 0\n"
                              "bare_seconds_bucket{le=\"+Inf\"} 0\n"
                              "bare_seconds_sum 0\n"
                              "bare_seconds_count 0\n");
    assert_int_equal(met_count(s), 3);
    assert_true(met_value(s) == 5.0625);
    (void)h0;
    free(text);
}

static void test_met_render_escaping(void **state)
{
    (void)state;
    MetFamily *g = must_register(
        &(MetDesc){.name = "esc", .type = MET_GAUGE, .help = "back\\slash \"q\"\nnext", .labels = {{.name = "v"}}});
    met_set(met_series(g, (const char *[]){"a\"b\\c\nd"}), 1);
    char *text = render(reg);
    assert_string_equal(text, "# HELP esc back\\\\slash \"q\"\\nnext\n"
                              "# TYPE esc gauge\n"
                              "esc{v=\"a\\\"b\\\\c\\nd\"} 1\n");
    free(text);
}

static void test_met_format_value_shortest(void **state)
{
    (void)state;
    struct {
        double v;
        const char *s;
    } cases[] = {
        {0, "0"},
        {1, "1"},
        {-3, "-3"},
        {0.005, "0.005"},
        {0.1, "0.1"},
        {2.5, "2.5"},
        {1e-05, "1e-05"},
        {1e21, "1e+21"},
        {123456789, "123456789"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
        {NAN, "NaN"},
        {0.1 + 0.2, "0.30000000000000004"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        met_format_value(buf, sizeof(buf), cases[i].v);
        assert_string_equal(buf, cases[i].s);
    }
}

static void test_met_series_undeclared_value_is_other(void **state)
{
    (void)state;
    MetFamily *f = must_register(&(MetDesc){
        .name = "c_total", .type = MET_COUNTER, .help = "", .labels = {{.name = "color", .values = colors}}});
    MetSeries *a = met_series(f, (const char *[]){"purple"});
    MetSeries *b = met_series(f, (const char *[]){"run-0192f3a1b2c3d-1a2b3c4d"});
    assert_ptr_equal(a, b);
    assert_ptr_equal(met_series(f, (const char *[]){"red"}), met_series(f, (const char *[]){"red"}));
    met_inc(a);
    char *text = render(reg);
    assert_non_null(strstr(text, "c_total{color=\"other\"} 1\n"));
    assert_int_equal(met_family_overflows(f), 0);
    free(text);
}

static void test_met_series_long_or_invalid_value_is_other(void **state)
{
    (void)state;
    MetFamily *f = must_register(&(MetDesc){.name = "g", .type = MET_GAUGE, .help = "", .labels = {{.name = "x"}}});
    char long_value[MET_VALUE_MAX + 2];
    memset(long_value, 'a', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    MetSeries *other = met_series(f, (const char *[]){MET_OTHER});
    assert_ptr_equal(met_series(f, (const char *[]){long_value}), other);
    assert_ptr_equal(met_series(f, (const char *[]){"\xff\xfe"}), other);
    assert_ptr_equal(met_series(f, (const char *[]){"caf\xc3"}), other);
    assert_ptr_not_equal(met_series(f, (const char *[]){"caf\xc3\xa9"}), other);
    long_value[MET_VALUE_MAX] = '\0';
    assert_ptr_not_equal(met_series(f, (const char *[]){long_value}), other);
    assert_ptr_equal(met_series(f, (const char *[]){NULL}), met_series(f, (const char *[]){""}));
}

/* A run id used as a label can never grow the family past its cap, and
 * nothing counted is lost: it is folded into "other". */
static void test_met_series_cap_folds_free_labels(void **state)
{
    (void)state;
    MetFamily *f = must_register(&(MetDesc){
        .name = "runs_total", .type = MET_COUNTER, .help = "", .labels = {{.name = "run"}}, .max_series = 4});
    char id[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "run-%04d", i);
        met_inc(met_series(f, (const char *[]){id}));
    }
    char *text = render(reg);
    assert_int_equal(count_lines(text, "runs_total{"), 5);
    assert_non_null(strstr(text, "runs_total{run=\"run-0000\"} 1\n"));
    assert_non_null(strstr(text, "runs_total{run=\"other\"} 996\n"));
    assert_int_equal(met_family_overflows(f), 996);
    /* Existing series stay reachable after the cap. */
    assert_ptr_not_equal(met_series(f, (const char *[]){"run-0003"}), met_series(f, (const char *[]){"run-0004"}));
    free(text);
}

/* Past the cap, declared labels keep their values while the reserve lasts,
 * then everything goes to one last series. */
static void test_met_series_cap_keeps_enumerated_labels(void **state)
{
    (void)state;
    static const char *const many[] = {"v00", "v01", "v02", "v03", "v04", "v05", "v06", "v07", "v08", "v09", "v10",
                                       "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", NULL};
    MetFamily *f = must_register(&(MetDesc){.name = "x_total",
                                            .type = MET_COUNTER,
                                            .help = "",
                                            .labels = {{.name = "id"}, {.name = "v", .values = many}},
                                            .max_series = 2});
    met_inc(met_series(f, (const char *[]){"a", "v00"}));
    met_inc(met_series(f, (const char *[]){"b", "v00"}));
    met_inc(met_series(f, (const char *[]){"c", "v01"}));
    assert_ptr_equal(met_series(f, (const char *[]){"d", "v01"}), met_series(f, (const char *[]){"other", "v01"}));
    for (int i = 0; i < 20; i++)
        met_inc(met_series(f, (const char *[]){"z", many[i]}));
    char *text = render(reg);
    assert_non_null(strstr(text, "x_total{id=\"other\",v=\"v01\"} 2\n"));
    assert_non_null(strstr(text, "x_total{id=\"other\",v=\"other\"} 4\n"));
    /* 2 series + a reserve of 16 + the last one. */
    assert_int_equal(count_lines(text, "x_total{"), 2 + 16 + 1);
    free(text);
}

static void test_met_update_type_mismatch_and_null_are_ignored(void **state)
{
    (void)state;
    MetFamily *c = must_register(&(MetDesc){.name = "n_total", .type = MET_COUNTER, .help = ""});
    MetFamily *g = must_register(&(MetDesc){.name = "g", .type = MET_GAUGE, .help = ""});
    met_inc(NULL);
    met_set(NULL, 1);
    met_observe(NULL, 1);
    assert_null(met_series(NULL, NULL));
    assert_null(met_series0(NULL));
    met_observe(met_series0(c), 5);
    met_inc(met_series0(g));
    met_set(met_series0(c), -1);
    assert_true(met_value(met_series0(c)) == 0);
    assert_true(met_value(met_series0(g)) == 0);
    met_set(met_series0(c), 42);
    met_gauge_add(met_series0(g), 1.5);
    met_gauge_add(met_series0(g), -0.5);
    assert_true(met_value(met_series0(c)) == 42);
    assert_true(met_value(met_series0(g)) == 1);
}

static void collect_set(MetRegistry *r, void *userdata)
{
    (void)r;
    met_set(met_series0(userdata), 7);
}

static void test_met_render_runs_collectors_first(void **state)
{
    (void)state;
    MetFamily *g = must_register(&(MetDesc){.name = "depth", .type = MET_GAUGE, .help = "d"});
    assert_int_equal(met_add_collector(reg, collect_set, g), 0);
    char *text = render(reg);
    assert_string_equal(text, "# HELP depth d\n# TYPE depth gauge\ndepth 7\n");
    free(text);
}

#define THREADS 4
#define ROUNDS 50000

static void *hammer(void *arg)
{
    MetFamily **f = arg;
    const char *who[] = {"a", "b", "c"};
    for (int i = 0; i < ROUNDS; i++) {
        met_inc(met_series(f[0], (const char *[]){who[i % 3]}));
        met_observe(met_series0(f[1]), 0.5);
        met_gauge_add(met_series0(f[2]), 1);
    }
    return NULL;
}

static void test_met_concurrent_updates_are_exact(void **state)
{
    (void)state;
    MetFamily *f[3] = {
        must_register(&(MetDesc){.name = "hits_total", .type = MET_COUNTER, .help = "", .labels = {{.name = "who"}}}),
        must_register(&(MetDesc){
            .name = "lat_seconds", .type = MET_HISTOGRAM, .help = "", .buckets = two_buckets, .n_buckets = 2}),
        must_register(&(MetDesc){.name = "level", .type = MET_GAUGE, .help = ""}),
    };
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, f), 0);
    for (int i = 0; i < 3; i++)
        free(render(reg)); /* renders race with updates: must be safe */
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    double total = 0;
    const char *who[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++)
        total += met_value(met_series(f[0], (const char *[]){who[i]}));
    assert_true(total == (double)THREADS * ROUNDS);
    assert_int_equal(met_count(met_series0(f[1])), THREADS * ROUNDS);
    assert_true(met_value(met_series0(f[1])) == THREADS * ROUNDS * 0.5);
    assert_true(met_value(met_series0(f[2])) == THREADS * ROUNDS);
}

int run_registry_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_met_register_rejects_bad_descs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_register_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_render_counter_and_gauge_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_render_histogram_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_render_escaping, setup, teardown),
        cmocka_unit_test(test_met_format_value_shortest),
        cmocka_unit_test_setup_teardown(test_met_series_undeclared_value_is_other, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_series_long_or_invalid_value_is_other, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_series_cap_folds_free_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_series_cap_keeps_enumerated_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_update_type_mismatch_and_null_are_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_render_runs_collectors_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_met_concurrent_updates_are_exact, setup, teardown),
    };
    return cmocka_run_group_tests_name("met_registry", tests, NULL, NULL);
}
