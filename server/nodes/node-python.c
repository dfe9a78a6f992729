/* The python kind: Debian's python3 (or FLOWD_PYTHON) runs a small runner
 * that reads the envelope on fd 0, runs the node's code, and writes the
 * output object on fd 1. The user's print() goes to stderr, so it shows up as
 * NODE_LOG events and cannot corrupt the output.
 *
 * Start-up cost matters (python_chain measures it): on the success path the
 * runner imports nothing. `json` alone costs more than the interpreter's own
 * start (it pulls in re and enum), so the envelope, which the server writes
 * as plain JSON with jansson, is read by eval() with true/false/null bound
 * and no builtins (JSON literals are Python literals then; it is the node's
 * own sandboxed process, so this grants nothing the node's code does not
 * have), and outputs are written by a small encoder. Deep nesting and
 * unusual values fall back to the json module. */
#include <jansson.h>
#include <string.h>

#include "server/nodes/nodes.h"

const char node_python_runner[] =
    "import sys, posix\n"
    "_ESC = {i: '\\\\u%04x' % i for i in range(32)}\n"
    "_ESC.update({34: '\\\\\"', 92: '\\\\\\\\', 10: '\\\\n', 13: '\\\\r', 9: '\\\\t'})\n"
    "_INF = float('inf')\n"
    "def _enc(o):\n"
    "    if o is None:\n"
    "        return 'null'\n"
    "    if o is True:\n"
    "        return 'true'\n"
    "    if o is False:\n"
    "        return 'false'\n"
    "    if isinstance(o, str):\n"
    "        return '\"' + o.translate(_ESC) + '\"'\n"
    "    if isinstance(o, int):\n"
    "        return int.__repr__(o)\n"
    "    if isinstance(o, float):\n"
    "        if o != o or o == _INF or o == -_INF:\n"
    "            raise ValueError('Out of range float values are not JSON compliant: %r' % o)\n"
    "        return float.__repr__(o)\n"
    "    if isinstance(o, dict):\n"
    "        return '{' + ','.join(_enc(_key(k)) + ':' + _enc(v) for k, v in o.items()) + '}'\n"
    "    if isinstance(o, (list, tuple)):\n"
    "        return '[' + ','.join(_enc(v) for v in o) + ']'\n"
    "    raise TypeError('Object of type %s is not JSON serializable' % type(o).__name__)\n"
    "def _key(k):\n"
    "    if isinstance(k, str):\n"
    "        return k\n"
    "    if k is None or isinstance(k, (bool, int, float)):\n"
    "        return _enc(k)\n"
    "    raise TypeError('keys must be str, int, float, bool or None, not %s' % type(k).__name__)\n"
    "def _dumps(o):\n"
    "    try:\n"
    "        return _enc(o)\n"
    "    except RecursionError:\n"
    "        import json\n"
    "        return json.dumps(o, allow_nan=False)\n"
    "def _loads(b):\n"
    "    # The server writes the envelope with jansson: plain JSON, UTF-8, no \"\\/\".\n"
    "    # Its literals are Python literals once true/false/null have names, and\n"
    "    # evaluating them needs no import; deep nesting falls back to json.\n"
    "    try:\n"
    "        return eval(b.decode('utf-8'), {'__builtins__': {}, 'true': True, 'false': False, 'null': None})\n"
    "    except (SyntaxError, MemoryError, RecursionError, ValueError):\n"
    "        import json\n"
    "        return json.loads(b)\n"
    "def _read_all(fd):\n"
    "    parts = []\n"
    "    while True:\n"
    "        b = posix.read(fd, 1 << 20)\n"
    "        if not b:\n"
    "            return b''.join(parts)\n"
    "        parts.append(b)\n"
    "def _flowd_error(out, kind, exc):\n"
    "    import traceback\n"
    "    line = 0\n"
    "    for fr in traceback.extract_tb(exc.__traceback__):\n"
    "        if fr.filename.startswith('<node'):\n"
    "            line = fr.lineno\n"
    "    user_tb = exc.__traceback__\n"
    "    while user_tb is not None and not user_tb.tb_frame.f_code.co_filename.startswith('<node'):\n"
    "        user_tb = user_tb.tb_next\n"
    "    traceback.print_exception(type(exc), exc, user_tb or exc.__traceback__, file=sys.stderr)\n"
    "    err = {'type': kind or type(exc).__name__, 'message': str(exc), 'line': line}\n"
    "    out.write(_dumps({'__flowd_error__': err}))\n"
    "    out.flush()\n"
    "    _flush_std()\n"
    "    posix._exit(1)\n"
    "def _flush_std():\n"
    "    # posix._exit skips interpreter shutdown: flush what print() buffered\n"
    "    # (-I ignores PYTHONUNBUFFERED), so it reaches the log.\n"
    "    for f in (sys.stdout, sys.stderr):\n"
    "        try:\n"
    "            f.flush()\n"
    "        except Exception:\n"
    "            pass\n"
    "def _flowd_args(f, inputs):\n"
    "    code = getattr(f, '__code__', None)\n"
    "    if code is None or code.co_flags & 0x08:\n"
    "        return inputs\n"
    "    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]\n"
    "    return {k: v for k, v in inputs.items() if k in names}\n"
    "def _flowd_main():\n"
    "    out = open(posix.dup(1), 'w', encoding='utf-8')\n"
    "    posix.dup2(2, 1)\n"
    "    try:\n"
    "        prog = open(3, 'w', buffering=1, encoding='utf-8')\n"
    "    except OSError:\n"
    "        prog = None\n"
    "    env = _loads(_read_all(0) or b'{}')\n"
    "    cfg = env.get('config') or {}\n"
    "    inputs = env.get('inputs') or {}\n"
    "    def report_progress(current, total=None, message=''):\n"
    "        if prog is None:\n"
    "            return\n"
    "        frac = float(current) / float(total) if total else float(current)\n"
    "        frac = 0.0 if frac != frac else max(0.0, min(1.0, frac))\n"
    "        prog.write(_dumps({'progress': frac, 'message': str(message)}) + '\\n')\n"
    "    name = '<node %s>' % env.get('node', '?')\n"
    "    g = {'__name__': '__flowd_node__', 'report_progress': report_progress,\n"
    "         'flowd_attempt': env.get('attempt', 1), 'flowd_chunk': env.get('chunk')}\n"
    "    fn = cfg.get('function')\n"
    "    try:\n"
    "        prog_code = compile(cfg.get('code', ''), name, 'exec')\n"
    "        if fn:\n"
    "            exec(prog_code, g)\n"
    "            f = g.get(fn)\n"
    "            if not callable(f):\n"
    "                raise NameError('function %r is not defined by the node code' % fn)\n"
    "            result = f(**_flowd_args(f, inputs))\n"
    "        else:\n"
    "            g.update(inputs)\n"
    "            exec(prog_code, g)\n"
    "            result = g.get('result')\n"
    "    except BaseException as e:\n"
    "        _flowd_error(out, None, e)\n"
    "    if not isinstance(result, dict):\n"
    "        result = {'result': result}\n"
    "    try:\n"
    "        text = _dumps(result)\n"
    "    except (TypeError, ValueError) as e:\n"
    "        e.args = ('output is not JSON-serializable: %s' % e,)\n"
    "        _flowd_error(out, 'InvalidOutput', e)\n"
    "    out.write(text)\n"
    "    out.flush()\n"
    "    _flush_std()\n"
    "    posix._exit(0)\n"
    "_flowd_main()\n";

static void python_check(const json_t *config, const char *path, Diags *d)
{
    const json_t *code = json_object_get(config, "code");
    const json_t *fn = json_object_get(config, "function");

    if (!code)
        diags_add(d, path, "a python node needs \"code\": the source to run (and optionally \"function\" to call)");
    else if (!json_is_string(code))
        diags_add(d, path, "\"code\" must be a string of Python source");
    if (fn && (!json_is_string(fn) || !*json_string_value(fn)))
        diags_add(d, path, "\"function\" must be the name of a function defined by \"code\"");
    if (json_is_string(code) && json_is_string(fn) && !strstr(json_string_value(code), json_string_value(fn)))
        diags_add(d, path, "\"function\" names %s, which \"code\" does not define", json_string_value(fn));
}

const NodeKind node_kind_python = {
    .name = "python",
    .summary = "runs Python code (\"code\"), or calls \"function\" from it with the inputs as keyword arguments",
    .check = python_check,
    .profile = SBX_PROFILE_INTERPRETER,
    .python = true,
};
