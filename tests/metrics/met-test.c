/* The metrics module's tests: the registry and renderer
 * (met-test-registry.c) and flowd's families (met-test-flowd.c). */
#include "tests/metrics/met-test.h"

#include <stdlib.h>
#include <string.h>

char *render(MetRegistry *r)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(met_render(r, &text, &len), 0);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

size_t count_lines(const char *text, const char *prefix)
{
    size_t n = 0, len = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, len) == 0)
            n++;
    return n;
}

int main(void)
{
    int failed = run_registry_tests();
    failed += run_flowd_tests();
    return failed ? 1 : 0;
}
