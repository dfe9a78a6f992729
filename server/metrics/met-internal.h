/* met-internal.h: the registry's data structures, shared by the registry
 * and the renderer. */
#ifndef FLOWD_MET_INTERNAL_H
#define FLOWD_MET_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "server/metrics/met.h"

#define MET_MAX_FAMILIES 64
#define MET_MAX_COLLECTORS 8
/* Extra room for series whose free labels were folded into "other", so that
 * the enumerated labels of an overflowing family keep their meaning. */
#define MET_OVERFLOW_RESERVE 16

struct MetSeries {
    MetFamily *family;
    uint64_t hash;
    /* Counters: an integer count. Gauges: the bits of a double. Histograms:
     * the bits of the sum. */
    _Atomic uint64_t value;
    /* Histograms: n_buckets + 1 counts, not cumulative; the last is +Inf. */
    _Atomic uint64_t *buckets;
    char *values[MET_MAX_LABELS];
};

struct MetFamily {
    MetDesc desc;
    size_t n_labels;
    double bounds[MET_MAX_BUCKETS];
    pthread_mutex_t lock; /* guards series and n_series */
    MetSeries **series;
    size_t n_series;
    size_t capacity; /* max_series + MET_OVERFLOW_RESERVE */
    /* Used when even the reserve is full: every free label "other". */
    MetSeries *last_resort;
    _Atomic uint64_t overflows;
};

typedef struct MetCollector {
    MetCollectFn fn;
    void *userdata;
} MetCollector;

struct MetRegistry {
    pthread_mutex_t lock; /* guards families, collectors and their counts */
    pthread_mutex_t render_lock;
    MetFamily *families[MET_MAX_FAMILIES];
    size_t n_families;
    MetCollector collectors[MET_MAX_COLLECTORS];
    size_t n_collectors;
};

static inline double met_bits_to_double(uint64_t bits)
{
    union {
        uint64_t u;
        double d;
    } x = {.u = bits};
    return x.d;
}

static inline uint64_t met_double_to_bits(double d)
{
    union {
        uint64_t u;
        double d;
    } x = {.d = d};
    return x.u;
}

/* Copies the family's series pointers (under its lock) into a new array. */
size_t met_family_snapshot(MetFamily *f, MetSeries ***ret);

#endif
