#include "server/util/strmap.h"

#include <string.h>

#include "server/util/util.h"

uint32_t strmap_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return (uint32_t)h;
}

void strmap_init(StrMap *m, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2)
        cap *= 2;
    *m =
        (StrMap){.index = xcalloc(cap, sizeof(uint32_t)), .entries = xcalloc(cap / 2, sizeof(StrMapEntry)), .cap = cap};
}

void strmap_free(StrMap *m)
{
    free(m->index);
    free(m->entries);
    *m = (StrMap){0};
}

static const StrMapEntry *entry_at(const StrMap *m, size_t slot) { return &m->entries[m->index[slot] - 1]; }

/* The slot holding key, or the free slot where it would go. */
static size_t find_slot_h(const StrMap *m, const char *key, uint32_t h)
{
    size_t i = h & (m->cap - 1);
    while (m->index[i] && (entry_at(m, i)->hash != h || strcmp(entry_at(m, i)->key, key) != 0))
        i = (i + 1) & (m->cap - 1);
    return i;
}

static size_t find_slot(const StrMap *m, const char *key) { return find_slot_h(m, key, strmap_hash(key)); }

/* The first free slot from h's home, for a key known to be absent. */
static size_t free_slot(const StrMap *m, uint32_t h)
{
    size_t i = h & (m->cap - 1);
    while (m->index[i])
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* The slot pointing at entries[pos]. */
static size_t slot_of(const StrMap *m, size_t pos)
{
    size_t i = m->entries[pos].hash & (m->cap - 1);
    while (m->index[i] != pos + 1)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void grow(StrMap *m)
{
    StrMap bigger;
    strmap_init(&bigger, m->cap);
    memcpy(bigger.entries, m->entries, m->len * sizeof(StrMapEntry));
    for (size_t pos = 0; pos < m->len; pos++)
        bigger.index[free_slot(&bigger, m->entries[pos].hash)] = (uint32_t)pos + 1;
    bigger.len = m->len;
    strmap_free(m);
    *m = bigger;
}

bool strmap_put(StrMap *m, const char *key, uint32_t value)
{
    if ((m->len + 1) * 2 > m->cap)
        grow(m);
    uint32_t h = strmap_hash(key);
    size_t i = find_slot_h(m, key, h);
    if (m->index[i])
        return false;
    m->entries[m->len] = (StrMapEntry){key, h, value};
    m->index[i] = (uint32_t)++m->len;
    return true;
}

void strmap_prefetch(const StrMap *m, uint32_t hash)
{
    if (m->cap)
        __builtin_prefetch(&m->index[hash & (m->cap - 1)]);
}

bool strmap_get_hashed(const StrMap *m, const char *key, uint32_t hash, uint32_t *ret)
{
    if (!m->cap)
        return false;
    size_t i = find_slot_h(m, key, hash);
    if (!m->index[i])
        return false;
    *ret = entry_at(m, i)->value;
    return true;
}

bool strmap_get(const StrMap *m, const char *key, uint32_t *ret)
{
    return strmap_get_hashed(m, key, strmap_hash(key), ret);
}

/* Backward-shift deletion keeps linear probing free of tombstones; the last
 * entry moves into the deleted one's place. */
bool strmap_del(StrMap *m, const char *key)
{
    if (!m->cap)
        return false;
    size_t mask = m->cap - 1, i = find_slot(m, key);
    if (!m->index[i])
        return false;
    size_t pos = m->index[i] - 1, last = m->len - 1;
    if (pos != last) {
        m->index[slot_of(m, last)] = (uint32_t)pos + 1;
        m->entries[pos] = m->entries[last];
    }
    m->index[i] = 0;
    m->len--;
    for (size_t j = (i + 1) & mask; m->index[j]; j = (j + 1) & mask) {
        size_t home = entry_at(m, j)->hash & mask;
        /* Move j back into the hole at i unless its home lies in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        m->index[i] = m->index[j];
        m->index[j] = 0;
        i = j;
    }
    return true;
}
