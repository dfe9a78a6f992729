/* Rendering in the Prometheus text exposition format 0.0.4:
 * https://prometheus.io/docs/instrumenting/exposition_formats/ */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "server/metrics/met-internal.h"
#include "server/util/util.h"

void met_format_value(char *buf, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* Whole numbers below 2^53 print exactly, without an exponent. */
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(buf, size, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* HELP text escapes backslash and newline; label values also escape the
 * double quote. */
static void put_escaped(StrBuf *b, const char *s, bool quote)
{
    const char *run = s;
    for (const char *p = s;; p++) {
        const char *esc = *p == '\\' ? "\\\\" : *p == '\n' ? "\\n" : (quote && *p == '"') ? "\\\"" : NULL;
        if (!esc && *p)
            continue;
        sb_append(b, run, (size_t)(p - run));
        if (!*p)
            return;
        sb_puts(b, esc);
        run = p + 1;
    }
}

/* Writes {a="x",b="y"} (with le last for histogram buckets), or nothing
 * when there are no labels. */
static void put_labels(StrBuf *b, const MetFamily *f, const MetSeries *s, const char *le)
{
    if (f->n_labels == 0 && !le)
        return;
    sb_puts(b, "{");
    for (size_t i = 0; i < f->n_labels; i++) {
        sb_printf(b, "%s%s=\"", i ? "," : "", f->desc.labels[i].name);
        put_escaped(b, s->values[i], true);
        sb_puts(b, "\"");
    }
    if (le)
        sb_printf(b, "%sle=\"%s\"", f->n_labels ? "," : "", le);
    sb_puts(b, "}");
}

static void put_sample(StrBuf *b, const MetFamily *f, const MetSeries *s, const char *suffix, const char *le,
                       const char *value)
{
    sb_puts(b, f->desc.name);
    sb_puts(b, suffix);
    put_labels(b, f, s, le);
    sb_printf(b, " %s\n", value);
}

static void put_histogram(StrBuf *b, const MetFamily *f, const MetSeries *s)
{
    char le[32], value[32];
    uint64_t cumulative = 0;

    for (size_t i = 0; i <= f->desc.n_buckets; i++) {
        cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        if (i < f->desc.n_buckets)
            met_format_value(le, sizeof(le), f->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        snprintf(value, sizeof(value), "%" PRIu64, cumulative);
        put_sample(b, f, s, "_bucket", le, value);
    }
    met_format_value(value, sizeof(value), met_value(s));
    put_sample(b, f, s, "_sum", NULL, value);
    /* The count is the +Inf bucket, read once above, so the two always agree
     * even while observations arrive. */
    snprintf(value, sizeof(value), "%" PRIu64, cumulative);
    put_sample(b, f, s, "_count", NULL, value);
}

static void put_series(StrBuf *b, const MetFamily *f, const MetSeries *s)
{
    char value[32];

    switch (f->desc.type) {
    case MET_COUNTER:
        snprintf(value, sizeof(value), "%" PRIu64, atomic_load_explicit(&s->value, memory_order_relaxed));
        put_sample(b, f, s, "", NULL, value);
        break;
    case MET_GAUGE:
        met_format_value(value, sizeof(value), met_value(s));
        put_sample(b, f, s, "", NULL, value);
        break;
    default:
        put_histogram(b, f, s);
    }
}

static int cmp_series(const void *a, const void *b, void *arg)
{
    const MetSeries *x = *(MetSeries *const *)a, *y = *(MetSeries *const *)b;
    const MetFamily *f = arg;
    for (size_t i = 0; i < f->n_labels; i++) {
        int c = strcmp(x->values[i], y->values[i]);
        if (c)
            return c;
    }
    return 0;
}

static void put_family(StrBuf *b, MetFamily *f)
{
    _cleanup_free_ MetSeries **series = NULL;
    size_t n = met_family_snapshot(f, &series);

    qsort_r(series, n, sizeof(*series), cmp_series, f);
    sb_printf(b, "# HELP %s ", f->desc.name);
    put_escaped(b, f->desc.help, false);
    sb_printf(b, "\n# TYPE %s %s\n", f->desc.name, met_type_name(f->desc.type));
    for (size_t i = 0; i < n; i++)
        put_series(b, f, series[i]);
}

static void run_collectors(MetRegistry *r)
{
    MetCollector c[MET_MAX_COLLECTORS];

    pthread_mutex_lock(&r->lock);
    size_t n = r->n_collectors;
    memcpy(c, r->collectors, n * sizeof(*c));
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < n; i++)
        c[i].fn(r, c[i].userdata);
}

int met_render(MetRegistry *r, char **ret, size_t *ret_len)
{
    MetFamily *families[MET_MAX_FAMILIES];
    StrBuf b = {0};

    pthread_mutex_lock(&r->render_lock);
    run_collectors(r);
    pthread_mutex_lock(&r->lock);
    size_t n = r->n_families;
    memcpy(families, r->families, n * sizeof(*families));
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < n; i++)
        put_family(&b, families[i]);
    pthread_mutex_unlock(&r->render_lock);
    if (ret_len)
        *ret_len = b.len;
    *ret = sb_take(&b);
    return 0;
}
