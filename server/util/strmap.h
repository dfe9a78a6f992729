/* strmap.h: an open-addressing hash map from strings to uint32 values, for
 * node-id lookups in workflows of up to hundreds of thousands of nodes. Keys
 * are borrowed: they must outlive the map. */
#ifndef FLOWD_STRMAP_H
#define FLOWD_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct StrMap {
    const char **keys;
    uint64_t *hashes; /* compared before the keys: no pointer chase on a miss */
    uint32_t *values;
    size_t cap; /* a power of two */
    size_t len;
} StrMap;

void strmap_init(StrMap *m, size_t expected);
void strmap_free(StrMap *m);
/* Returns false if the key was already present (its value is unchanged). */
bool strmap_put(StrMap *m, const char *key, uint32_t value);
bool strmap_get(const StrMap *m, const char *key, uint32_t *ret);
/* Returns false if the key was absent. */
bool strmap_del(StrMap *m, const char *key);

#endif
