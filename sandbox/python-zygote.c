/* python-zygote.c: flowd_sbx_python.so, the python module that turns a
 * python3 process into a general zygote with the python template.
 *
 * The pool starts general zygotes as
 *   python3 -I -S -c BOOT --flowd-sbx-zygote DIR FALLBACK
 * with the socket on fd 3 (sbx-pool.c). BOOT imports this module from DIR;
 * its init never returns: it becomes the zygote. If the import fails (a
 * python3 of another version, say), BOOT executes FALLBACK, the ordinary
 * zygote program, and python attempts are started by execve. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include "sandbox/sbx-internal.h"
#include "sandbox/template-python.h"

#define STR_(x) #x
#define STR(x) STR_(x)

PyMODINIT_FUNC PyInit_flowd_sbx_python(void);

PyMODINIT_FUNC PyInit_flowd_sbx_python(void)
{
    const char *want = STR(PY_MAJOR_VERSION) "." STR(PY_MINOR_VERSION) ".";
    if (strncmp(Py_GetVersion(), want, strlen(want)) != 0) {
        PyErr_Format(PyExc_ImportError, "flowd_sbx_python is built for python %s, not %s", want, Py_GetVersion());
        return NULL;
    }
    /* BOOT put DIR first on sys.path: node code must not see it. */
    PyObject *path = PySys_GetObject("path"); /* borrowed */
    if (path && PyList_Check(path) && PyList_Size(path) > 0 && PySequence_DelItem(path, 0) < 0)
        return NULL;
    sbx_zygote_set_template(&sbx_template_python);
    char *argv[] = {"flowd-zygote", SBX_ZYGOTE_FLAG, NULL};
    sbx_zygote_maybe_run(2, argv, NULL, 0);
    PyErr_SetString(PyExc_ImportError, "flowd_sbx_python: not started as a zygote");
    return NULL;
}
