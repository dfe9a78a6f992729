/* strmap.h: an open-addressing hash map from strings to uint32 values, for
 * node-id lookups in workflows of up to hundreds of thousands of nodes. Keys
 * are borrowed: they must outlive the map. */
#ifndef FLOWD_STRMAP_H
#define FLOWD_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The entries sit in insertion order and the hash index holds only their
 * positions, so the part a lookup reads at random is 4 bytes a slot: for
 * ids looked up near where they were inserted (a workflow's connections
 * name nearby nodes), the entries it then reads are in cache. */
typedef struct StrMapEntry {
    const char *key;
    uint32_t hash; /* compared before the key: no string compare on a collision */
    uint32_t value;
} StrMapEntry;

typedef struct StrMap {
    uint32_t *index;      /* cap slots: 0 when free, else 1 + an entry's position */
    StrMapEntry *entries; /* room for cap / 2 */
    size_t cap;           /* a power of two */
    size_t len;
} StrMap;

void strmap_init(StrMap *m, size_t expected);
void strmap_free(StrMap *m);
/* Returns false if the key was already present (its value is unchanged). */
bool strmap_put(StrMap *m, const char *key, uint32_t value);
bool strmap_get(const StrMap *m, const char *key, uint32_t *ret);
/* Returns false if the key was absent. */
bool strmap_del(StrMap *m, const char *key);

/* For a batch of lookups known ahead: hash each key and prefetch its slot
 * some lookups before strmap_get_hashed() needs it, so that a map bigger
 * than the cache costs no wait on memory per lookup. */
uint32_t strmap_hash(const char *key);
void strmap_prefetch(const StrMap *m, uint32_t hash);
bool strmap_get_hashed(const StrMap *m, const char *key, uint32_t hash, uint32_t *ret);

#endif
