/* The registry: families, their bounded series tables, and the atomic
 * updates. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "server/metrics/met-internal.h"
#include "server/util/util.h"

/* A family with free-valued labels may never hold more than this. */
#define MET_MAX_SERIES_LIMIT 4096

static const char *const type_names[_MET_TYPE_MAX] = {
    [MET_COUNTER] = "counter",
    [MET_GAUGE] = "gauge",
    [MET_HISTOGRAM] = "histogram",
};

const char *met_type_name(MetType t) { return t >= 0 && t < _MET_TYPE_MAX ? type_names[t] : "untyped"; }

static bool name_char_ok(char c, bool first, bool colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return true;
    if (colon && c == ':')
        return true;
    return !first && c >= '0' && c <= '9';
}

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++)
        if (!name_char_ok(*p, p == s, colon))
            return false;
    return true;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Label names: valid, not reserved ("__" prefix, "le" for histograms) and
 * not repeated. Returns the number of labels or -EINVAL. */
static int check_labels(const MetDesc *d)
{
    size_t n = 0;
    while (n < MET_MAX_LABELS && d->labels[n].name)
        n++;
    for (size_t i = 0; i < n; i++) {
        const char *name = d->labels[i].name;
        if (!valid_name(name, false) || strncmp(name, "__", 2) == 0)
            return -EINVAL;
        if (d->type == MET_HISTOGRAM && strcmp(name, "le") == 0)
            return -EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(name, d->labels[j].name) == 0)
                return -EINVAL;
    }
    return (int)n;
}

static int check_buckets(const MetDesc *d)
{
    if (d->type != MET_HISTOGRAM)
        return d->n_buckets == 0 ? 0 : -EINVAL;
    if (!d->buckets || d->n_buckets == 0 || d->n_buckets > MET_MAX_BUCKETS)
        return -EINVAL;
    for (size_t i = 0; i < d->n_buckets; i++)
        if (!isfinite(d->buckets[i]) || (i > 0 && d->buckets[i] <= d->buckets[i - 1]))
            return -EINVAL;
    return 0;
}

static int check_desc(const MetDesc *d)
{
    if (!valid_name(d->name, true) || !d->help || d->type < 0 || d->type >= _MET_TYPE_MAX)
        return -EINVAL;
    /* The exposition format appends these suffixes itself. */
    if (d->type == MET_COUNTER && !has_suffix(d->name, "_total"))
        return -EINVAL;
    if (d->type == MET_HISTOGRAM &&
        (has_suffix(d->name, "_bucket") || has_suffix(d->name, "_sum") || has_suffix(d->name, "_count")))
        return -EINVAL;
    if (check_buckets(d) < 0)
        return -EINVAL;
    return check_labels(d);
}

int met_registry_new(MetRegistry **ret)
{
    MetRegistry *r = xcalloc(1, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->render_lock, NULL);
    *ret = r;
    return 0;
}

static void series_free(MetSeries *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < MET_MAX_LABELS; i++)
        free(s->values[i]);
    free((void *)s->buckets);
    free(s);
}

static void family_free(MetFamily *f)
{
    for (size_t i = 0; i < f->n_series; i++)
        series_free(f->series[i]);
    free(f->series);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

MetRegistry *met_registry_free(MetRegistry *r)
{
    if (!r)
        return NULL;
    for (size_t i = 0; i < r->n_families; i++)
        family_free(r->families[i]);
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->render_lock);
    free(r);
    return NULL;
}

/* FNV-1a over the values, with a separator so ("ab","c") != ("a","bc"). */
static uint64_t hash_values(const char *const *v, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)v[i]; *p; p++)
            h = (h ^ *p) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    }
    return h;
}

static MetSeries *series_new(MetFamily *f, const char *const *v, uint64_t hash)
{
    MetSeries *s = xcalloc(1, sizeof(*s));
    s->family = f;
    s->hash = hash;
    for (size_t i = 0; i < f->n_labels; i++)
        s->values[i] = xstrdup(v[i]);
    if (f->desc.type == MET_HISTOGRAM)
        s->buckets = xcalloc(f->desc.n_buckets + 1, sizeof(*s->buckets));
    return s;
}

static bool same_values(const MetSeries *s, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->values[i], v[i]) != 0)
            return false;
    return true;
}

/* Finds the series or adds it while the family holds fewer than limit.
 * Returns NULL when it is absent and the family is full. f->lock held. */
static MetSeries *lookup_or_add(MetFamily *f, const char *const *v, size_t limit)
{
    uint64_t h = hash_values(v, f->n_labels);
    for (size_t i = 0; i < f->n_series; i++)
        if (f->series[i]->hash == h && same_values(f->series[i], v, f->n_labels))
            return f->series[i];
    if (f->n_series >= limit)
        return NULL;
    MetSeries *s = series_new(f, v, h);
    f->series[f->n_series++] = s;
    return s;
}

int met_register(MetRegistry *r, const MetDesc *d, MetFamily **ret)
{
    int n = check_desc(d);
    if (n < 0)
        return n;
    MetFamily *f = xcalloc(1, sizeof(*f));
    f->desc = *d;
    f->n_labels = (size_t)n;
    memcpy(f->bounds, d->buckets ? d->buckets : f->bounds, d->n_buckets * sizeof(double));
    f->desc.buckets = f->bounds;
    f->desc.max_series = n == 0 ? 1 : d->max_series ? d->max_series : MET_DEFAULT_MAX_SERIES;
    if (f->desc.max_series > MET_MAX_SERIES_LIMIT)
        f->desc.max_series = MET_MAX_SERIES_LIMIT;
    f->capacity = f->desc.max_series + (n == 0 ? 0 : MET_OVERFLOW_RESERVE + 1);
    f->series = xcalloc(f->capacity, sizeof(*f->series));
    pthread_mutex_init(&f->lock, NULL);
    /* A family without labels always has its one series, so it is rendered
     * (as 0) from the start and rate() works from the first scrape. */
    if (n == 0)
        lookup_or_add(f, NULL, 1);

    int rc = 0;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_families && rc == 0; i++)
        if (strcmp(r->families[i]->desc.name, d->name) == 0)
            rc = -EEXIST;
    if (rc == 0 && r->n_families == MET_MAX_FAMILIES)
        rc = -ENOSPC;
    if (rc == 0)
        r->families[r->n_families++] = f;
    pthread_mutex_unlock(&r->lock);
    if (rc < 0) {
        family_free(f);
        return rc;
    }
    if (ret)
        *ret = f;
    return 0;
}

int met_add_collector(MetRegistry *r, MetCollectFn fn, void *userdata)
{
    int rc = -ENOSPC;
    pthread_mutex_lock(&r->lock);
    if (r->n_collectors < MET_MAX_COLLECTORS) {
        r->collectors[r->n_collectors++] = (MetCollector){fn, userdata};
        rc = 0;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* Maps a value to itself (the declared copy for enumerated labels) or to
 * MET_OTHER when it is too long, not UTF-8, or not declared. */
static const char *normalize(const MetLabel *l, const char *v)
{
    if (!v)
        v = "";
    if (l->values) {
        for (const char *const *a = l->values; *a; a++)
            if (strcmp(*a, v) == 0)
                return *a;
        return MET_OTHER;
    }
    if (strnlen(v, MET_VALUE_MAX + 1) > MET_VALUE_MAX || !utf8_valid(v))
        return MET_OTHER;
    return v;
}

/* The family is full: fold the free labels, keep the enumerated ones while
 * the reserve lasts, then fold everything into one last series. */
static MetSeries *overflow_locked(MetFamily *f, const char **v)
{
    atomic_fetch_add_explicit(&f->overflows, 1, memory_order_relaxed);
    for (size_t i = 0; i < f->n_labels; i++)
        if (!f->desc.labels[i].values)
            v[i] = MET_OTHER;
    MetSeries *s = lookup_or_add(f, v, f->capacity - 1);
    if (s)
        return s;
    if (!f->last_resort) {
        for (size_t i = 0; i < f->n_labels; i++)
            v[i] = MET_OTHER;
        f->last_resort = lookup_or_add(f, v, f->capacity);
    }
    return f->last_resort;
}

MetSeries *met_series(MetFamily *f, const char *const *values)
{
    const char *v[MET_MAX_LABELS] = {0};

    if (!f)
        return NULL;
    if (f->n_labels == 0)
        return f->series[0];
    for (size_t i = 0; i < f->n_labels; i++)
        v[i] = normalize(&f->desc.labels[i], values ? values[i] : NULL);
    pthread_mutex_lock(&f->lock);
    MetSeries *s = lookup_or_add(f, v, f->desc.max_series);
    if (!s)
        s = overflow_locked(f, v);
    pthread_mutex_unlock(&f->lock);
    return s;
}

MetSeries *met_series0(MetFamily *f) { return f && f->n_labels == 0 ? f->series[0] : NULL; }

uint64_t met_family_overflows(const MetFamily *f)
{
    return f ? atomic_load_explicit(&((MetFamily *)f)->overflows, memory_order_relaxed) : 0;
}

const char *met_family_name(const MetFamily *f) { return f ? f->desc.name : NULL; }

size_t met_family_snapshot(MetFamily *f, MetSeries ***ret)
{
    pthread_mutex_lock(&f->lock);
    size_t n = f->n_series;
    MetSeries **copy = xcalloc(n, sizeof(*copy));
    memcpy(copy, f->series, n * sizeof(*copy));
    pthread_mutex_unlock(&f->lock);
    *ret = copy;
    return n;
}

static bool is(const MetSeries *s, MetType t) { return s && s->family->desc.type == t; }

void met_inc(MetSeries *s) { met_add(s, 1); }

void met_add(MetSeries *s, uint64_t n)
{
    if (is(s, MET_COUNTER))
        atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void met_set(MetSeries *s, double v)
{
    if (is(s, MET_GAUGE))
        atomic_store_explicit(&s->value, met_double_to_bits(v), memory_order_relaxed);
    else if (is(s, MET_COUNTER) && v >= 0 && v < 18446744073709551615.0)
        atomic_store_explicit(&s->value, (uint64_t)v, memory_order_relaxed);
}

/* Adds to a double kept as bits, with a compare-and-swap loop. */
static void add_double(_Atomic uint64_t *bits, double delta)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old, met_double_to_bits(met_bits_to_double(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void met_gauge_add(MetSeries *s, double delta)
{
    if (is(s, MET_GAUGE))
        add_double(&s->value, delta);
}

void met_observe(MetSeries *s, double v)
{
    if (!is(s, MET_HISTOGRAM) || isnan(v))
        return;
    const MetFamily *f = s->family;
    size_t i = 0;
    while (i < f->desc.n_buckets && v > f->bounds[i])
        i++;
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    add_double(&s->value, v);
}

double met_value(const MetSeries *s)
{
    if (!s)
        return 0;
    uint64_t bits = atomic_load_explicit(&((MetSeries *)s)->value, memory_order_relaxed);
    return s->family->desc.type == MET_COUNTER ? (double)bits : met_bits_to_double(bits);
}

uint64_t met_count(const MetSeries *s)
{
    uint64_t n = 0;
    if (!is(s, MET_HISTOGRAM))
        return 0;
    for (size_t i = 0; i <= s->family->desc.n_buckets; i++)
        n += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
    return n;
}
