/* met-test.h: the metrics tests' shared declarations (one cmocka binary,
 * cases in several files). */
#ifndef FLOWD_MET_TEST_H
#define FLOWD_MET_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/metrics/met-flowd.h"
#include "server/metrics/met.h"

/* Each runs its file's group; returns the number of failed cases. */
int run_registry_tests(void);
int run_flowd_tests(void);

/* Renders r and returns the text (free it). */
char *render(MetRegistry *r);
/* Counts the lines of text that start with prefix. */
size_t count_lines(const char *text, const char *prefix);

#endif
