#!/usr/bin/env bash
# The walking skeleton end to end: a real flowd, real cgroups and seccomp,
# driven by flowctl (issue 2).
source "$(dirname "$0")/lib.sh"

need_root "skeleton" || exit 0
start_flowd || { not_ok "flowd starts"; finish; exit 1; }
ok "flowd starts and answers health"

two=$(wf two.json <<'J'
{"name": "two", "nodes": [
  {"id": "a", "kind": "python", "config": {"code": "result = {'items': [1, 2, 3], 'label': 'abc'}"}},
  {"id": "b", "kind": "python", "config": {"function": "f", "code": "def f(values, label):\n    return {'sum': sum(values), 'label': label.upper()}\n"}}],
 "connections": [{"from": "a", "to": "b", "mapping": {"items": "values", "label": "label"}}]}
J
)
out=$("$FLOWCTL" run "$two" --output json 2>&1)
rc=$?
check "two-node workflow with a mapping succeeds (exit 0)" test $rc -eq 0
check "its outputs carry the mapped data" grep -q '"sum": *6' <<<"$out"
check "the mapped string reached the second node" grep -q 'ABC' <<<"$out"
seqs=$(grep -o '"seq": *[0-9]*' <<<"$out" | grep -o '[0-9]*$' | tr '\n' ' ')
check "events are numbered from 1 without gaps" test "$seqs" = "$(seq -s ' ' 1 $(wc -w <<<"$seqs")) "

cyc=$(wf cycle.json <<'J'
{"name": "cyc", "nodes": [{"id": "x", "kind": "noop"}, {"id": "y", "kind": "noop"}, {"id": "z", "kind": "noop"}],
 "connections": [{"from": "x", "to": "y"}, {"from": "y", "to": "z"}, {"from": "z", "to": "x"}]}
J
)
out=$("$FLOWCTL" validate "$cyc" 2>&1)
rc=$?
check "a cyclic workflow is rejected (exit 2)" test $rc -eq 2
check "the rejection names the cycle's nodes" grep -Eq 'cycle: ([xyz]) -> ([xyz]) -> ([xyz]) -> \1' <<<"$out"
out=$("$FLOWCTL" run "$cyc" 2>&1)
check "running a cyclic workflow fails with exit 2" test $? -eq 2

raise=$(wf raise.json <<'J'
{"name": "raise", "nodes": [{"id": "boom", "kind": "python", "config": {"function": "f", "code": "def f():\n    raise ValueError('customer list is empty')\n"}}]}
J
)
out=$("$FLOWCTL" run "$raise" 2>&1)
rc=$?
check "a python node that raises fails the run (exit 1)" test $rc -eq 1
check "the failure message carries the exception" grep -q "ValueError: customer list is empty" <<<"$out"

oom=$(wf oom.json <<'J'
{"name": "oom", "nodes": [{"id": "hog", "kind": "python", "resources": {"memory_mb": 64}, "config": {"code": "x = bytearray(512 * 1024 * 1024)\nresult = len(x)"}}]}
J
)
out=$("$FLOWCTL" run "$oom" 2>&1)
check "a node allocating past its memory limit is OOM_KILLED" grep -q "OOM_KILLED" <<<"$out"

sock=$(wf sock.json <<'J'
{"name": "sock", "nodes": [{"id": "net", "kind": "python", "config": {"code": "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\ns.connect(('1.1.1.1', 80))\nresult = 1"}}]}
J
)
out=$("$FLOWCTL" run "$sock" 2>&1)
check "a node opening a socket is SANDBOX_VIOLATION" grep -q "SANDBOX_VIOLATION" <<<"$out"

out=$("$FLOWCTL" run "$two" 2>&1)
check "the server is unharmed after hostile nodes" test $? -eq 0

# The python runner reads and writes JSON without the json module; these
# are the values where that could go wrong (deep nesting comes from an
# upstream node: run inputs are limited to 64 levels).
/usr/bin/python3 -c '
import json
print(json.dumps({"echo": {"s": "tab\t quote\" back\\ \u00e9 \U0001F600 nul\u0001", "n": [1, 2.5, -0.0, 2**62, -2**63, True, None]}}))
' >"$TMP/tricky.input.json"
echo_wf=$(wf echo.json <<'J'
{"name": "echo", "nodes": [
  {"id": "deepen", "kind": "python", "config": {"code": "deep = x = {}\nfor i in range(150):\n    x['d'] = {}\n    x = x['d']\nresult = {'deep': deep}"}},
  {"id": "echo", "kind": "python", "config": {"function": "f", "code": "def f(s, n, deep):\n    return {'s': s, 'n': n, 'deep': deep}\n"}}],
 "connections": [{"from": "deepen", "to": "echo"}]}
J
)
out=$("$FLOWCTL" run "$echo_wf" --input "$TMP/tricky.input.json" --output json 2>&1)
same=$(/usr/bin/python3 -c '
import json, sys
want = json.load(open(sys.argv[1]))["echo"]
deep = x = {}
for i in range(150):
    x["d"] = {}
    x = x["d"]
want["deep"] = deep
for line in sys.stdin:
    ev = json.loads(line)
    if ev.get("type") == "RUN_SUCCEEDED":
        print(ev["output"]["echo"] == want)
' "$TMP/tricky.input.json" <<<"$out" 2>&1)
check "python nodes round-trip strings, numbers and deep nesting exactly" test "$same" = True
nan=$(wf nan.json <<'J'
{"name": "nan", "nodes": [{"id": "bad", "kind": "python", "config": {"code": "result = float('nan')"}}]}
J
)
out=$("$FLOWCTL" run "$nan" 2>&1)
check "an output that is not JSON (NaN) is INVALID_OUTPUT" has 'INVALID_OUTPUT' "$out"

finish
