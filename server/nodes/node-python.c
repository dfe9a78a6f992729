/* The python kind: Debian's python3 (or FLOWD_PYTHON) runs a small runner
 * that reads the envelope on fd 0, runs the node's code, and writes the
 * output object on fd 1. The user's print() goes to stderr, so it shows up as
 * NODE_LOG events and cannot corrupt the output. The runner imports only
 * json, os and sys on the success path: python_chain measures its cost. */
#include <jansson.h>
#include <string.h>

#include "server/nodes/nodes.h"

const char node_python_runner[] =
    "import json, os, sys\n"
    "def _flowd_error(out, kind, exc):\n"
    "    import traceback\n"
    "    tb = traceback.extract_tb(exc.__traceback__)\n"
    "    line = 0\n"
    "    for fr in tb:\n"
    "        if fr.filename.startswith('<node'):\n"
    "            line = fr.lineno\n"
    "    user_tb = exc.__traceback__\n"
    "    while user_tb is not None and not user_tb.tb_frame.f_code.co_filename.startswith('<node'):\n"
    "        user_tb = user_tb.tb_next\n"
    "    traceback.print_exception(type(exc), exc, user_tb or exc.__traceback__, file=sys.stderr)\n"
    "    err = {'type': kind or type(exc).__name__, 'message': str(exc), 'line': line}\n"
    "    out.write(json.dumps({'__flowd_error__': err}))\n"
    "    out.flush()\n"
    "    os._exit(1)\n"
    "def _flowd_args(f, inputs):\n"
    "    code = getattr(f, '__code__', None)\n"
    "    if code is None or code.co_flags & 0x08:\n"
    "        return inputs\n"
    "    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]\n"
    "    return {k: v for k, v in inputs.items() if k in names}\n"
    "def _flowd_main():\n"
    "    out = os.fdopen(os.dup(1), 'w', encoding='utf-8')\n"
    "    os.dup2(2, 1)\n"
    "    try:\n"
    "        prog = os.fdopen(3, 'w', buffering=1, encoding='utf-8')\n"
    "    except OSError:\n"
    "        prog = None\n"
    "    env = json.loads(sys.stdin.buffer.read() or b'{}')\n"
    "    cfg = env.get('config') or {}\n"
    "    inputs = env.get('inputs') or {}\n"
    "    def report_progress(current, total=None, message=''):\n"
    "        if prog is None:\n"
    "            return\n"
    "        frac = float(current) / float(total) if total else float(current)\n"
    "        frac = 0.0 if frac != frac else max(0.0, min(1.0, frac))\n"
    "        prog.write(json.dumps({'progress': frac, 'message': str(message)}) + '\\n')\n"
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
    "        text = json.dumps(result, allow_nan=False)\n"
    "    except (TypeError, ValueError) as e:\n"
    "        e.args = ('output is not JSON-serializable: %s' % e,)\n"
    "        _flowd_error(out, 'InvalidOutput', e)\n"
    "    out.write(text)\n"
    "    out.flush()\n"
    "    os._exit(0)\n"
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
