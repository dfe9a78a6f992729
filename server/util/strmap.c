#include "server/util/strmap.h"

#include <string.h>

#include "server/util/util.h"

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void strmap_init(StrMap *m, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2)
        cap *= 2;
    *m = (StrMap){.keys = xcalloc(cap, sizeof(char *)),
                  .hashes = xcalloc(cap, sizeof(uint64_t)),
                  .values = xcalloc(cap, sizeof(uint32_t)),
                  .cap = cap};
}

void strmap_free(StrMap *m)
{
    free(m->keys);
    free(m->hashes);
    free(m->values);
    *m = (StrMap){0};
}

static size_t find_slot_h(const StrMap *m, const char *key, uint64_t h)
{
    size_t i = h & (m->cap - 1);
    while (m->keys[i] && (m->hashes[i] != h || strcmp(m->keys[i], key) != 0))
        i = (i + 1) & (m->cap - 1);
    return i;
}

static size_t find_slot(const StrMap *m, const char *key) { return find_slot_h(m, key, hash_str(key)); }

static void grow(StrMap *m)
{
    StrMap bigger;
    strmap_init(&bigger, m->cap);
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i])
            strmap_put(&bigger, m->keys[i], m->values[i]);
    strmap_free(m);
    *m = bigger;
}

bool strmap_put(StrMap *m, const char *key, uint32_t value)
{
    if ((m->len + 1) * 2 > m->cap)
        grow(m);
    uint64_t h = hash_str(key);
    size_t i = find_slot_h(m, key, h);
    if (m->keys[i])
        return false;
    m->keys[i] = key;
    m->hashes[i] = h;
    m->values[i] = value;
    m->len++;
    return true;
}

bool strmap_get(const StrMap *m, const char *key, uint32_t *ret)
{
    if (!m->cap)
        return false;
    size_t i = find_slot(m, key);
    if (!m->keys[i])
        return false;
    *ret = m->values[i];
    return true;
}

/* Backward-shift deletion keeps linear probing free of tombstones. */
bool strmap_del(StrMap *m, const char *key)
{
    if (!m->cap)
        return false;
    size_t mask = m->cap - 1, i = find_slot(m, key);
    if (!m->keys[i])
        return false;
    m->keys[i] = NULL;
    m->len--;
    for (size_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
        size_t home = m->hashes[j] & mask;
        /* Move j back into the hole at i unless its home lies in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        m->keys[i] = m->keys[j];
        m->hashes[i] = m->hashes[j];
        m->values[i] = m->values[j];
        m->keys[j] = NULL;
        i = j;
    }
    return true;
}
