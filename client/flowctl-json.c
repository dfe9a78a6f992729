/* flowctl's JSON printer. jansson prints reals with 17 significant digits,
 * so 319.4 comes out as 319.39999999999998; people and diff tools expect
 * what the node wrote. This printer writes each real in the shortest form
 * that reads back as the same double, and everything else as jansson
 * would. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/flowctl.h"

static void real_text(double d, char *buf, size_t len)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    /* Keep it a real for readers that care: 2.0, not 2. */
    if (!strpbrk(buf, ".eEni"))
        snprintf(buf + strlen(buf), len - strlen(buf), ".0");
}

static void indent(FILE *f, int depth, int step)
{
    if (step <= 0)
        return;
    fputc('\n', f);
    for (int i = 0; i < depth * step; i++)
        fputc(' ', f);
}

static void dump(const json_t *v, FILE *f, int depth, int step)
{
    char buf[64];
    const char *key;
    json_t *child;
    size_t i, n = 0;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        if (json_object_size(v) == 0) {
            fputs("{}", f);
            return;
        }
        fputc('{', f);
        json_object_foreach ((json_t *)v, key, child) {
            if (n++)
                fputc(',', f);
            indent(f, depth + 1, step);
            json_t *k = json_string(key);
            json_dumpf(k, f, JSON_ENCODE_ANY);
            json_decref(k);
            fputs(step > 0 ? ": " : ":", f);
            dump(child, f, depth + 1, step);
        }
        indent(f, depth, step);
        fputc('}', f);
        return;
    case JSON_ARRAY:
        if (json_array_size(v) == 0) {
            fputs("[]", f);
            return;
        }
        fputc('[', f);
        json_array_foreach (v, i, child) {
            if (i)
                fputc(',', f);
            indent(f, depth + 1, step);
            dump(child, f, depth + 1, step);
        }
        indent(f, depth, step);
        fputc(']', f);
        return;
    case JSON_REAL:
        real_text(json_real_value(v), buf, sizeof(buf));
        fputs(buf, f);
        return;
    default:
        json_dumpf(v, f, JSON_ENCODE_ANY);
    }
}

void fctl_dump_json(const json_t *v, FILE *f, int indent_step) { dump(v, f, 0, indent_step); }
