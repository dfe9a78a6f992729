/* store-sqlite-row.c: binding parameters and reading columns. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "store-sqlite.h"

int64_t store_i64(uint64_t v) { return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v; }

void store_bind_text(StoreBind *b, int i, const char *v)
{
    if (b->rc != SQLITE_OK)
        return;
    b->rc = v ? sqlite3_bind_text(b->st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(b->st, i);
}

void store_bind_str(StoreBind *b, int i, const char *v) { store_bind_text(b, i, v ? v : ""); }

void store_bind_key(StoreBind *b, int i, const char *v) { store_bind_text(b, i, v && *v ? v : NULL); }

void store_bind_blob(StoreBind *b, int i, const StoreBlob *v)
{
    if (b->rc != SQLITE_OK)
        return;
    if (!v || !v->data || v->len == 0)
        b->rc = sqlite3_bind_null(b->st, i);
    else
        b->rc = sqlite3_bind_blob64(b->st, i, v->data, v->len, SQLITE_STATIC);
}

void store_bind_int(StoreBind *b, int i, int64_t v)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_int64(b->st, i, v);
}

void store_bind_u64(StoreBind *b, int i, uint64_t v) { store_bind_int(b, i, store_i64(v)); }

char *store_col_text(StoreCols *c, int i)
{
    const unsigned char *v;
    char *copy;

    if (c->r < 0 || sqlite3_column_type(c->st, i) == SQLITE_NULL)
        return NULL;
    v = sqlite3_column_text(c->st, i);
    copy = v ? strdup((const char *)v) : NULL;
    if (!copy)
        c->r = -ENOMEM;
    return copy;
}

/* A zero-length blob reads back as empty, the same as NULL. */
StoreBlob store_col_blob(StoreCols *c, int i)
{
    StoreBlob b = {0};
    const void *v;
    int n;

    if (c->r < 0 || sqlite3_column_type(c->st, i) == SQLITE_NULL)
        return b;
    v = sqlite3_column_blob(c->st, i);
    n = sqlite3_column_bytes(c->st, i);
    if (!v || n <= 0)
        return b;
    b.data = malloc((size_t)n);
    if (!b.data) {
        c->r = -ENOMEM;
        return b;
    }
    memcpy(b.data, v, (size_t)n);
    b.len = (size_t)n;
    return b;
}

uint64_t store_col_u64(sqlite3_stmt *st, int i)
{
    int64_t v = sqlite3_column_int64(st, i);
    return v < 0 ? 0 : (uint64_t)v;
}

int store_strdup(const char *s, char **ret)
{
    char *copy = strdup(s);

    if (!copy)
        return -ENOMEM;
    *ret = copy;
    return 0;
}

int store_grow(void **array, size_t elem, size_t n, size_t *cap)
{
    size_t new_cap;
    void *p;

    if (n < *cap)
        return 0;
    new_cap = *cap ? *cap * 2 : 16;
    p = reallocarray(*array, new_cap, elem);
    if (!p)
        return -ENOMEM;
    memset((char *)p + n * elem, 0, (new_cap - n) * elem);
    *array = p;
    *cap = new_cap;
    return 0;
}
