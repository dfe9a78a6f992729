/* diag.h: validation diagnostics: every problem at once, each with a path
 * into the workflow ("nodes[3].retry.multiplier") and a message that says
 * what is wrong and what to do. */
#ifndef FLOWD_DIAG_H
#define FLOWD_DIAG_H

#include <stddef.h>

#include "server/util/util.h"

typedef struct Diag {
    char *path;
    char *message;
} Diag;

typedef struct Diags {
    Diag *items;
    size_t len;
    size_t cap;
    size_t max; /* further diagnostics are counted, not kept; 0 = 1000 */
    size_t dropped;
} Diags;

void diags_add(Diags *d, const char *path, const char *fmt, ...) _printf_(3, 4);
void diags_free(Diags *d);
/* "path: message; path: message" (with "... and N more" when dropped). */
char *diags_join(const Diags *d, const char *sep);

#endif
