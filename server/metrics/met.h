/* met.h: a small thread-safe Prometheus registry: counters, gauges and
 * histograms, rendered in the text exposition format 0.0.4.
 *
 * Cardinality is bounded by construction. Each family declares its label
 * names up front, and a label may also declare its allowed values: anything
 * else becomes "other". A family holds at most max_series label
 * combinations; past that, the labels without a declared value list are
 * folded into "other" (and the family's overflow count rises), so an
 * identifier such as a run id can never grow the registry without bound.
 *
 * Updates are atomics on a series that callers may keep: a series pointer
 * stays valid until the registry is freed. Finding a series by its label
 * values takes the family's mutex for a short scan of a small table. Every
 * update function accepts a NULL series and then does nothing, so code that
 * runs without metrics (unit tests of other modules) needs no checks. */
#ifndef FLOWD_MET_H
#define FLOWD_MET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MET_MAX_LABELS 4
/* Label values longer than this (bytes) are replaced by MET_OTHER. */
#define MET_VALUE_MAX 64
/* Series a family with free-valued labels may hold unless it says less. */
#define MET_DEFAULT_MAX_SERIES 64
/* Histogram buckets at most (the +Inf bucket is implied). */
#define MET_MAX_BUCKETS 32
#define MET_OTHER "other"

typedef enum MetType {
    MET_COUNTER,
    MET_GAUGE,
    MET_HISTOGRAM,
    _MET_TYPE_MAX,
} MetType;

typedef struct MetLabel {
    const char *name;
    /* NULL-terminated allowed values, or NULL for any value (bounded by
     * the family's max_series). */
    const char *const *values;
} MetLabel;

typedef struct MetDesc {
    const char *name; /* counters end in _total */
    const char *help;
    MetType type;
    MetLabel labels[MET_MAX_LABELS]; /* the first with a NULL name ends the list */
    unsigned max_series;             /* 0: MET_DEFAULT_MAX_SERIES */
    const double *buckets;           /* histograms: increasing upper bounds */
    size_t n_buckets;
} MetDesc;

typedef struct MetRegistry MetRegistry;
typedef struct MetFamily MetFamily;
typedef struct MetSeries MetSeries;

/* Called at the start of every render, before any family is read, e.g. to
 * set gauges from the current state. Collectors run one render at a time. */
typedef void (*MetCollectFn)(MetRegistry *r, void *userdata);

int met_registry_new(MetRegistry **ret);
/* Frees every family and series. Accepts NULL; returns NULL. */
MetRegistry *met_registry_free(MetRegistry *r);

/* Registers a family; the registry copies nothing from d but the bucket
 * bounds, so the strings in d must outlive the registry (string literals).
 * Returns 0, -EINVAL for an invalid name, label or bucket list, -EEXIST for
 * a name already registered, -ENOSPC past the registry's family limit. */
int met_register(MetRegistry *r, const MetDesc *d, MetFamily **ret);
/* Adds a collector; at most 8. Returns 0 or -ENOSPC. */
int met_add_collector(MetRegistry *r, MetCollectFn fn, void *userdata);

/* The series for these label values (one per declared label, in order;
 * NULL is taken as ""). Never NULL for a non-NULL family: past the caps it
 * returns an overflow series. */
MetSeries *met_series(MetFamily *f, const char *const *values);
/* The series of a family without labels. */
MetSeries *met_series0(MetFamily *f);
/* How many times a label combination was folded into "other" because the
 * family was full. */
uint64_t met_family_overflows(const MetFamily *f);
const char *met_family_name(const MetFamily *f);

/* Counters. */
void met_inc(MetSeries *s);
void met_add(MetSeries *s, uint64_t n);
/* Gauges; met_set also sets a counter that mirrors a count kept elsewhere
 * (it must never go down). */
void met_set(MetSeries *s, double v);
void met_gauge_add(MetSeries *s, double delta);
/* Histograms. NaN is ignored. */
void met_observe(MetSeries *s, double v);

/* Reads a series back (tests, collectors). For histograms: the sum. */
double met_value(const MetSeries *s);
/* Histograms: the number of observations. */
uint64_t met_count(const MetSeries *s);

/* Runs the collectors and renders every family in the text exposition
 * format 0.0.4: families in registration order, series sorted by their
 * label values. *ret is a NUL-terminated string the caller frees. */
int met_render(MetRegistry *r, char **ret, size_t *ret_len);

/* The content type of met_render's output. */
#define MET_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

const char *met_type_name(MetType t);
/* Formats a sample value as Prometheus does: the shortest decimal that
 * reads back to v, "+Inf", "-Inf" or "NaN". buf holds at least 32 bytes. */
void met_format_value(char *buf, size_t size, double v);

#endif
