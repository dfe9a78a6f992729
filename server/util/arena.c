#include "server/util/arena.h"

#include <stdint.h>
#include <string.h>

#include "server/util/util.h"

#define ARENA_BLOCK (64u << 10)
#define ARENA_ALIGN 8u

struct ArenaBlock {
    ArenaBlock *prev;
    _Alignas(ARENA_ALIGN) char data[];
};

/* size bytes at an address that is a multiple of align (a power of two). */
static void *bump(Arena *a, size_t size, size_t align)
{
    size_t pad = -(uintptr_t)a->next & (align - 1);
    if (!a->blocks || pad + size > a->left) {
        size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
        ArenaBlock *b = xcalloc(1, sizeof(ArenaBlock) + cap);
        b->prev = a->blocks;
        *a = (Arena){.blocks = b, .next = b->data, .left = cap};
        pad = 0;
    }
    void *p = a->next + pad;
    a->next += pad + size;
    a->left -= pad + size;
    return p;
}

void *arena_alloc(Arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        abort(); /* no allocation could hold n * size */
    return bump(a, n * size, ARENA_ALIGN);
}

char *arena_strdup(Arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t len = strlen(s) + 1;
    return memcpy(bump(a, len, 1), s, len);
}

void arena_free(Arena *a)
{
    while (a->blocks) {
        ArenaBlock *prev = a->blocks->prev;
        free(a->blocks);
        a->blocks = prev;
    }
    *a = (Arena){0};
}
