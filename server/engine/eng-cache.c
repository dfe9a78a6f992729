/* The node cache: an output reused for the same kind, config and inputs
 * within the node's cache TTL. The key is the SHA-256 of the three in
 * canonical JSON (sorted keys); entries live in the store, so they survive
 * restarts and are shared by runs and replicas. */
#include <openssl/evp.h>
#include <string.h>

#include "server/engine/eng-internal.h"

char *eng_cache_key(const EngNode *n, const json_t *inputs)
{
    json_t *doc = json_pack("{s:s,s:O,s:O}", "kind", n->kind->name, "config", n->config, "inputs", inputs);
    _cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char md[32];
    unsigned int len = 0;
    char *key = xcalloc(1, 65);

    json_decref(doc);
    EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(key + 2 * i, 3, "%02x", md[i]);
    return key;
}

char *eng_cache_lookup(Engine *e, const char *key)
{
    char *out = NULL;

    for (size_t i = e->n_cache_puts; i-- > 0;)
        if (strcmp(e->cache_puts[i].key, key) == 0)
            return xstrdup(e->cache_puts[i].output);
    if (e->cfg.store->ops->cache_get(e->cfg.store, key, now_unix_ns(), &out) < 0)
        return NULL;
    return out;
}

void eng_cache_store(Engine *e, const char *key, const char *output, uint32_t ttl_s)
{
    if (e->n_cache_puts == e->cache_puts_cap) {
        e->cache_puts_cap = e->cache_puts_cap ? e->cache_puts_cap * 2 : 8;
        e->cache_puts = xrealloc(e->cache_puts, e->cache_puts_cap * sizeof(EngCachePut));
    }
    e->cache_puts[e->n_cache_puts++] = (EngCachePut){
        .key = xstrdup(key),
        .output = xstrdup(output),
        .expires_ns = now_unix_ns() + (uint64_t)ttl_s * 1000000000ull,
    };
}

int eng_cache_flush(Engine *e, StoreError *err)
{
    for (size_t i = 0; i < e->n_cache_puts; i++) {
        const EngCachePut *p = &e->cache_puts[i];
        int r = e->cfg.store->ops->cache_put(e->cfg.store, p->key, p->output, p->expires_ns, err);
        if (r < 0)
            return r;
    }
    return 0;
}

void eng_cache_clear(Engine *e)
{
    for (size_t i = 0; i < e->n_cache_puts; i++) {
        free(e->cache_puts[i].key);
        free(e->cache_puts[i].output);
    }
    e->n_cache_puts = 0;
}
