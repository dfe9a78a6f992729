#include "server/util/diag.h"

#include <stdarg.h>
#include <stdio.h>

void diags_add(Diags *d, const char *path, const char *fmt, ...)
{
    size_t max = d->max ? d->max : 1000;
    va_list ap;
    char *msg = NULL;

    if (d->len >= max) {
        d->dropped++;
        return;
    }
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = xstrdup("(out of memory)");
    va_end(ap);
    if (d->len == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->items = xrealloc(d->items, d->cap * sizeof(Diag));
    }
    d->items[d->len++] = (Diag){.path = xstrdup(path ? path : ""), .message = msg};
}

void diags_free(Diags *d)
{
    for (size_t i = 0; i < d->len; i++) {
        free(d->items[i].path);
        free(d->items[i].message);
    }
    free(d->items);
    *d = (Diags){.max = d->max};
}

char *diags_join(const Diags *d, const char *sep)
{
    StrBuf b = {0};
    for (size_t i = 0; i < d->len; i++) {
        if (i)
            sb_puts(&b, sep);
        if (*d->items[i].path)
            sb_printf(&b, "%s: %s", d->items[i].path, d->items[i].message);
        else
            sb_puts(&b, d->items[i].message);
    }
    if (d->dropped)
        sb_printf(&b, "%s... and %zu more", sep, d->dropped);
    return sb_take(&b);
}
