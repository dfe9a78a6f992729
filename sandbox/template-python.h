/* template-python.h: the python template for a zygote (see sbx.h,
 * SbxTemplate). Links libpython; a program that wants python attempts to
 * start warm calls sbx_zygote_set_template(&sbx_template_python) before
 * sbx_zygote_maybe_run(). */
#ifndef FLOWD_SANDBOX_TEMPLATE_PYTHON_H
#define FLOWD_SANDBOX_TEMPLATE_PYTHON_H

#include "sandbox/sbx.h"

extern const SbxTemplate sbx_template_python;

#endif
