#!/usr/bin/env bash
# Every flowctl command against a real flowd (issue 7): exit codes and
# output, plain and --output json.
source "$(dirname "$0")/lib.sh"

need_root "flowctl commands" || exit 0
start_flowd || { not_ok "flowd starts"; finish; exit 1; }

ok1=$(wf ok.json <<'J'
{"name": "cmds", "nodes": [{"id": "say", "kind": "python", "config": {"code": "print('hello from the node')\nresult = {'n': 1}"}}]}
J
)
bad=$(wf bad.json <<'J'
{"name": "cmds-bad", "nodes": [{"id": "boom", "kind": "python", "config": {"params": {"k": 7}, "code": "raise RuntimeError('nope')"}}]}
J
)
out=$("$FLOWCTL" version 2>&1)
check "version names flowctl and the server" has 'flowctl [0-9.]+.*server +[0-9.]+' "$out"
out=$("$FLOWCTL" info 2>&1)
check "info shows the sandbox and the node kinds" has 'cgroup.*python|python.*cgroup' "$out"
out=$("$FLOWCTL" health 2>&1)
check "health says SERVING (exit 0)" has 'SERVING' "$out"
out=$("$FLOWCTL" validate "$ok1" 2>&1)
check "validate of a good workflow exits 0" test $? -eq 0
run=$("$FLOWCTL" run "$ok1" --detach --label team=data 2>/dev/null)
check "run --detach prints the run id" has '^r-' "$run"
out=$("$FLOWCTL" watch "$run" 2>&1)
check "watch follows the run to its end (exit 0)" has 'RUN_SUCCEEDED' "$out"
out=$("$FLOWCTL" watch "$run" --from 2 --output json 2>&1)
check "watch --from skips what was seen" lacks '"seq":[12],' "$out"
out=$("$FLOWCTL" get "$run" 2>&1)
check "get shows the run's status and nodes" has 'SUCCEEDED.*say|say.*SUCCEEDED' "$out"
out=$("$FLOWCTL" get "$run" --outputs 2>&1)
check "get --outputs prints the outputs" has '"n": 1' "$out"
out=$("$FLOWCTL" get "$run" --output json 2>&1)
check "get --output json carries the label" has '"team": *"data"' "$out"
out=$("$FLOWCTL" logs "$run" 2>&1)
check "logs prints what the node wrote" has 'hello from the node' "$out"
out=$("$FLOWCTL" list --limit 5 2>&1)
check "list shows the run in a table" has "RUN.*STATUS.*$run|$run" "$out"
out=$("$FLOWCTL" list --status failed 2>&1)
check "list --status filters" lacks "$run" "$out"
"$FLOWCTL" run "$bad" >/dev/null 2>&1
check "a failed run exits 1" test $? -eq 1
out=$("$FLOWCTL" dlq list --output json 2>&1)
dl=$(grep -o '"id": *"dl-[^"]*"' <<<"$out" | head -1 | cut -d'"' -f4)
check "dlq list shows the dead letter" test -n "$dl"
out=$("$FLOWCTL" dlq retry "$dl" 2>&1)
check "dlq retry re-runs the node with its stored inputs" has 'r-' "$out"
slow=$(wf slow.json <<'J'
{"name": "slow", "nodes": [{"id": "s", "kind": "python", "config": {"code": "import time\ntime.sleep(30)"}}]}
J
)
srun=$("$FLOWCTL" run "$slow" --detach 2>/dev/null)
sleep 0.3
out=$("$FLOWCTL" cancel "$srun" --reason "test" 2>&1)
check "cancel ends the run CANCELLED" has 'CANCELLED' "$out"
"$FLOWCTL" --addr 127.0.0.1:1 health >/dev/null 2>&1
check "an unreachable server exits 3" test $? -eq 3
"$FLOWCTL" get 2>/dev/null
check "a usage error exits 2" test $? -eq 2
out=$("$FLOWCTL" run --help 2>&1)
check "run --help teaches with an example" has 'Example' "$out"
finish
