/* template-python.c: python attempts forked from a warm interpreter.
 *
 * `python3 -I -S -c CODE` spends ~10 ms starting an interpreter before it
 * runs a line of CODE; a fork of one that has started costs ~0.5 ms. So a
 * general zygote is a python3 process (python-zygote.c: the pool starts
 * `python3 -I -S -c` and it loads this module), and a child whose argv is
 * exactly that command runs CODE in its inherited interpreter after the
 * same setup (cgroup, ids, fds, Landlock, seccomp) a child that calls
 * execve gets. It is python3 itself, not libpython embedded in our own
 * program: Debian's shared libpython runs python code 10-20% slower than
 * the python3 executable (measured: fib(27) 27.1 ms against 24.3 ms; the
 * static libpython3.11.a 26.8 ms). What the code sees is kept the same as in
 * a started python3 (tests/sandbox/sbx_template_test.c compares them):
 *   sys.argv, sys.orig_argv, sys.executable, sys.path, sys.flags;
 *   os.environ: the attempt's environment;
 *   the locale: python starts as under LANG=C.UTF-8, the environment
 *     flowd gives every node, and claims only attempts whose environment
 *     names that locale (a C locale, or another, makes python choose other
 *     encodings or flags: such attempts start python3);
 *   stdio objects built over pipes (the pool starts the zygote with pipes
 *     on fds 0-2, so buffering and seekability are a pipe's);
 *   SIGPIPE and SIGXFSZ ignored and SIGINT raising KeyboardInterrupt;
 *   exit status: SystemExit's code, 1 after an uncaught exception.
 * What differs: every child of one zygote shares its str hash seed (a
 * started python draws its own), and modules the interpreter imported at
 * start are already in sys.modules (as they are in a started python). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/template-python.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define TEMPLATE_LOCALE "C.UTF-8"

extern char **environ;

static char interp_real[PATH_MAX]; /* realpath of the python3 this zygote is */
static char last_ok[PATH_MAX];     /* the last argv[0] found to be it */
static char *cached_text;          /* the last CODE compiled in the zygote */
static PyObject *cached_code;

/* What every child would otherwise do again: import _signal (its start
 * reads all 64 dispositions), and move every object to gc's permanent
 * generation, so that a collection in a child does not walk (and copy the
 * pages of) the zygote's objects. */
static int settle(void)
{
    PyObject *m = PyImport_ImportModule("_signal");
    PyObject *gc = PyImport_ImportModule("gc");
    PyObject *r = m && gc ? PyObject_CallMethod(gc, "freeze", NULL) : NULL;
    Py_XDECREF(r);
    Py_XDECREF(gc);
    Py_XDECREF(m);
    if (r)
        return 0;
    PyErr_Clear();
    return -1;
}

/* The zygote is python3 itself, started by the pool as `python3 -I -S -c`
 * under LANG=C.UTF-8 with pipes for stdio: its interpreter is already the
 * one a started python3 has. */
static int python_warm(void)
{
    if (!Py_IsInitialized() || !realpath("/proc/self/exe", interp_real))
        return -1;
    return settle();
}

/* LC_CTYPE as setlocale(LC_CTYPE, "") finds it: the first of LC_ALL,
 * LC_CTYPE and LANG that is set and not empty. */
static const char *ctype_locale(const char *const *env)
{
    static const char *const vars[] = {"LC_ALL=", "LC_CTYPE=", "LANG="};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        for (const char *const *e = env; e && *e; e++)
            if (!strncmp(*e, vars[i], strlen(vars[i])) && (*e)[strlen(vars[i])])
                return *e + strlen(vars[i]);
    return "";
}

static bool is_interpreter(const char *path)
{
    if (last_ok[0] && !strcmp(path, last_ok))
        return true;
    char real[PATH_MAX];
    if (strlen(path) >= sizeof(last_ok) || !realpath(path, real) || strcmp(real, interp_real))
        return false;
    strcpy(last_ok, path);
    return true;
}

static bool python_claims(const char *const *argv, const char *const *env)
{
    for (int i = 0; i < 5; i++)
        if (!argv[i])
            return false;
    return !strcmp(argv[1], "-I") && !strcmp(argv[2], "-S") && !strcmp(argv[3], "-c") &&
           !strcmp(ctype_locale(env), TEMPLATE_LOCALE) && is_interpreter(argv[0]);
}

/* In the zygote, before the fork: CODE is compiled once and every child
 * inherits the code object. (CODE is the server's runner, not node code,
 * and compiling runs none of it. Being kept, it is seen by later children:
 * secrets belong in the environment, never in argv; see SbxTemplate.) */
static void python_prepare(const char *const *argv)
{
    if (cached_text && !strcmp(cached_text, argv[4]))
        return;
    Py_CLEAR(cached_code);
    if (cached_text)
        explicit_bzero(cached_text, strlen(cached_text));
    free(cached_text);
    cached_text = NULL;
    PyObject *code = Py_CompileString(argv[4], "<string>", Py_file_input);
    if (!code) {
        PyErr_Clear(); /* the child compiles it again and reports the error as python would */
        return;
    }
    if (!(cached_text = strdup(argv[4]))) {
        Py_DECREF(code);
        return;
    }
    cached_code = code;
    (void)settle();
}

static PyObject *str_list(const char *const *v)
{
    PyObject *l = PyList_New(0);
    for (; l && *v; v++) {
        PyObject *s = PyUnicode_DecodeFSDefault(*v);
        if (!s || PyList_Append(l, s) < 0) {
            Py_XDECREF(s);
            Py_CLEAR(l);
            break;
        }
        Py_DECREF(s);
    }
    return l;
}

static int set_sys_list(const char *name, const char *const *v)
{
    PyObject *l = str_list(v);
    int r = l ? PySys_SetObject(name, l) : -1;
    Py_XDECREF(l);
    return r;
}

static int put_env(PyObject *d, const char *entry)
{
    const char *eq = strchr(entry, '=');
    if (!eq || eq == entry)
        return 0;
    PyObject *k = PyBytes_FromStringAndSize(entry, eq - entry);
    PyObject *v = PyBytes_FromString(eq + 1);
    int r = k && v ? PyDict_SetItem(d, k, v) : -1;
    Py_XDECREF(k);
    Py_XDECREF(v);
    return r;
}

/* posix.environ is os.environ's (and os.environb's) data: refilled in
 * place, both see the attempt's environment. */
static int set_environ(void)
{
    PyObject *posix = PyImport_ImportModule("posix");
    PyObject *d = posix ? PyObject_GetAttrString(posix, "environ") : NULL;
    int r = d && PyDict_Check(d) ? 0 : -1;
    if (r == 0)
        PyDict_Clear(d);
    for (char **e = environ; r == 0 && e && *e; e++)
        r = put_env(d, *e);
    Py_XDECREF(d);
    Py_XDECREF(posix);
    return r;
}

static int set_signal(PyObject *m, int sig, const char *handler)
{
    PyObject *h = PyObject_GetAttrString(m, handler);
    PyObject *r = h ? PyObject_CallMethod(m, "signal", "iO", sig, h) : NULL;
    Py_XDECREF(h);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

/* What python's start sets (the zygote's interpreter set none: they would
 * have been the zygote's own), through _signal so that its table agrees. */
static int set_signals(void)
{
    PyObject *m = PyImport_ImportModule("_signal"); /* imported while warming */
    int r = m && set_signal(m, SIGPIPE, "SIG_IGN") == 0 && set_signal(m, SIGXFSZ, "SIG_IGN") == 0 &&
                    set_signal(m, SIGINT, "default_int_handler") == 0
                ? 0
                : -1;
    Py_XDECREF(m);
    return r;
}

static int set_process(const char *const *argv)
{
    PyObject *exe = PyUnicode_DecodeFSDefault(argv[0]);
    int r = exe ? 0 : -1;
    if (r == 0)
        r = PySys_SetObject("executable", exe) < 0 || PySys_SetObject("_base_executable", exe) < 0 ? -1 : 0;
    Py_XDECREF(exe);
    const char *const dash_c[] = {"-c", NULL};
    if (r == 0 && (set_sys_list("orig_argv", argv) < 0 || set_sys_list("argv", dash_c) < 0))
        r = -1;
    /* argv[5...] follow "-c" in sys.argv, as python puts them. */
    PyObject *sa = r == 0 ? PySys_GetObject("argv") : NULL; /* borrowed */
    PyObject *rest = sa ? str_list(argv + 5) : NULL;
    if (rest && PyList_SetSlice(sa, 1, 1, rest) < 0)
        r = -1;
    Py_XDECREF(rest);
    if (r == 0 && (!sa || set_environ() < 0 || set_signals() < 0))
        r = -1;
    return r;
}

/* What python does with an exception that ends the program. */
static int exit_status(void)
{
    if (!PyErr_ExceptionMatches(PyExc_SystemExit)) {
        PyErr_Print();
        return 1;
    }
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *code = value ? PyObject_GetAttrString(value, "code") : NULL;
    int status = 0;
    if (code && code != Py_None) {
        if (PyLong_Check(code)) {
            status = (int)PyLong_AsLong(code);
        } else {
            PyObject *err = PySys_GetObject("stderr"); /* borrowed */
            if (err && PyFile_WriteObject(code, err, Py_PRINT_RAW) == 0)
                PyFile_WriteString("\n", err);
            status = 1;
        }
    }
    PyErr_Clear();
    Py_XDECREF(code);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return status;
}

static _Noreturn void python_run(const char *const *argv)
{
    PyOS_AfterFork_Child();
    if (set_process(argv) < 0) {
        PyErr_Print();
        _exit(120);
    }
    PyObject *code = cached_text && !strcmp(cached_text, argv[4])
                         ? Py_NewRef(cached_code)
                         : Py_CompileString(argv[4], "<string>", Py_file_input);
    PyObject *main_mod = PyImport_AddModule("__main__"); /* borrowed */
    PyObject *g = main_mod ? PyModule_GetDict(main_mod) : NULL;
    PyObject *res = code && g ? PyEval_EvalCode(code, g, g) : NULL;
    int status = res ? 0 : exit_status();
    Py_XDECREF(res);
    Py_XDECREF(code);
    if (Py_FinalizeEx() < 0 && status == 0)
        status = 120;
    _exit(status);
}

const SbxTemplate sbx_template_python = {
    .name = "python" STR(PY_MAJOR_VERSION) "." STR(PY_MINOR_VERSION),
    .warm = python_warm,
    .claims = python_claims,
    .prepare = python_prepare,
    .run = python_run,
};
