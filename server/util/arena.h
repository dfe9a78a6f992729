/* arena.h: a bump allocator for the many small blocks of one object that are
 * freed together (a workflow's ids, strings and adjacency lists): one malloc
 * per 64 KiB instead of one per block, and one free of everything. */
#ifndef FLOWD_ARENA_H
#define FLOWD_ARENA_H

#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;

typedef struct Arena {
    ArenaBlock *blocks; /* newest first */
    char *next;
    size_t left; /* bytes free at next */
} Arena;

/* Zeroed memory, aligned for pointers, integers and doubles; never NULL
 * (aborts on out-of-memory like xcalloc). */
void *arena_alloc(Arena *a, size_t n, size_t size);
/* NULL for NULL. */
char *arena_strdup(Arena *a, const char *s);
void arena_free(Arena *a);

#endif
