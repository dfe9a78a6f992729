#!/usr/bin/env bash
# The engine's failure handling and flow (issue 4), against a real flowd:
# retries, fallback, circuit breakers, dead letters, batch, cache, cancel,
# the continue policy, parallel scheduling.
source "$(dirname "$0")/lib.sh"

need_root "engine" || exit 0
start_flowd FLOWD_CIRCUIT_THRESHOLD=2 FLOWD_CIRCUIT_COOLDOWN_SECONDS=60 FLOWD_MAX_WORKERS=4 ||
    { not_ok "flowd starts"; finish; exit 1; }

flaky=$(wf flaky.json <<'J'
{"name": "flaky", "nodes": [{"id": "call", "kind": "python",
  "retry": {"max_attempts": 3, "initial_backoff_ms": 50, "multiplier": 2.0, "max_backoff_ms": 1000},
  "config": {"code": "if flowd_attempt < 3:\n    raise ConnectionError('upstream timed out')\nresult = {'ok': flowd_attempt}"}}]}
J
)
out=$("$FLOWCTL" run "$flaky" --output json 2>&1)
check "a node that fails twice succeeds on its third attempt" has '"type":"RUN_SUCCEEDED"' "$out"
check "two NODE_RETRYING events say the delay and the reason" \
    test "$(grep -c '"type":"NODE_RETRYING".*retrying in [0-9]* ms.*upstream timed out' <<<"$(sed 's/},/}\n/g' <<<"$out")")" -ge 1
check "the retries are counted: NODE_RETRYING twice" test "$(grep -o '"type":"NODE_RETRYING"' <<<"$out" | wc -l)" -eq 2
check "the output comes from attempt 3" has '"ok":3' "$out"

fb=$(wf fallback.json <<'J'
{"name": "fallback", "nodes": [
  {"id": "enrich", "kind": "python", "on_error": "fallback", "fallback": {"result": [], "status": "degraded"},
   "config": {"params": {"customer": "C7"}, "code": "raise RuntimeError('enrichment service down')"}},
  {"id": "after", "kind": "noop"}],
 "connections": [{"from": "enrich", "to": "after"}]}
J
)
out=$("$FLOWCTL" run "$fb" --output json 2>&1)
check "a failing node with on_error fallback lets the run succeed" has '"type":"RUN_SUCCEEDED"' "$out"
check "its output is the fallback with fallback_applied: true" has '"fallback_applied":true' "$out"
check "dependents receive the fallback" has '"after":\{"result":\[\],"status":"degraded","fallback_applied":true\}' "$out"
out=$("$FLOWCTL" get "$(grep -o '"run_id":"[^"]*"' <<<"$out" | head -1 | cut -d'"' -f4)" --output json 2>&1)
check "the run is marked degraded" has '"degraded": *true' "$out"
out=$("$FLOWCTL" dlq list --output json 2>&1)
check "the failed node was written to the dead-letter queue with its inputs" has 'enrich.*C7|C7.*enrich' "$out"

cont=$(wf continue.json <<'J'
{"name": "continue", "nodes": [
  {"id": "optional", "kind": "python", "on_error": "continue", "config": {"code": "raise ValueError('no data today')"}},
  {"id": "needs_it", "kind": "noop"}, {"id": "independent", "kind": "noop"}],
 "connections": [{"from": "optional", "to": "needs_it"}]}
J
)
out=$("$FLOWCTL" run "$cont" --output json 2>&1)
check "on_error continue: the run ends SUCCEEDED" has '"type":"RUN_SUCCEEDED"' "$out"
check "on_error continue: the dependent is skipped" has '"type":"NODE_SKIPPED","node_id":"needs_it"' "$out"
check "on_error continue: the run is degraded" has 'degraded' "$out"

circ=$(wf circuit.json <<'J'
{"name": "circuit", "nodes": [
  {"id": "c1", "kind": "python", "circuit": "payments", "on_error": "fallback", "fallback": {"paid": false}, "config": {"code": "raise ConnectionError('payments API 503')"}},
  {"id": "c2", "kind": "python", "circuit": "payments", "on_error": "fallback", "fallback": {"paid": false}, "config": {"code": "raise ConnectionError('payments API 503')"}},
  {"id": "c3", "kind": "python", "circuit": "payments", "on_error": "fallback", "fallback": {"paid": false}, "config": {"code": "raise ConnectionError('payments API 503')"}},
  {"id": "c4", "kind": "python", "circuit": "payments", "on_error": "fallback", "fallback": {"paid": false}, "config": {"code": "raise ConnectionError('payments API 503')"}}],
 "connections": [{"from": "c1", "to": "c2"}, {"from": "c2", "to": "c3"}, {"from": "c3", "to": "c4"}]}
J
)
out=$("$FLOWCTL" run "$circ" --output json 2>&1)
check "after the threshold the circuit opens and nodes fail fast with CIRCUIT_OPEN" has '"kind":"CIRCUIT_OPEN"' "$out"
check "a fast failure names the circuit" has 'circuit \\"payments\\" is open after 2 consecutive failures' "$out"
check "fast failures still use the fallback" has '"type":"RUN_SUCCEEDED"' "$out"

recs=$(/usr/bin/python3 -c 'import json; print(json.dumps({"double": {"records": list(range(10000))}}))')
echo "$recs" >"$TMP/records.json"
batch=$(wf batch.json <<'J'
{"name": "batch", "nodes": [{"id": "double", "kind": "python", "batch": {"input": "records", "size": 1000},
  "config": {"function": "f", "code": "def f(records):\n    return {'items': [r * 2 for r in records], 'count': len(records)}\n"}}]}
J
)
out=$("$FLOWCTL" run "$batch" --input "$TMP/records.json" --output json 2>&1)
final=$(grep RUN_SUCCEEDED <<<"$out")
check "a batch over 10,000 records succeeds" test -n "$final"
check "it ran as 10 chunks" has '"chunks":10' "$final"
n=$(/usr/bin/python3 -c 'import json,sys; o=json.loads(sys.stdin.read())["output"]["double"]; print(len(o["items"]), o["count"], o["items"][:3] == [0,2,4], o["items"][-1])' <<<"$final" 2>&1)
check "chunk outputs are concatenated in order and counts summed" test "$n" = "10000 10000 True 19998"

cached=$(wf cache.json <<'J'
{"name": "cache", "nodes": [{"id": "expensive", "kind": "python", "cache": {"ttl_seconds": 60},
  "config": {"params": {"x": 21}, "code": "import time\ntime.sleep(0.3)\nresult = {'answer': x * 2}"}}]}
J
)
"$FLOWCTL" run "$cached" >/dev/null 2>&1
out=$("$FLOWCTL" run "$cached" --output json 2>&1)
check "the second run is a cache hit" has '"message":"cached"' "$out"
check "the cached output is the same" has '"answer":42' "$out"

par=$(wf par.json <<'J'
{"name": "parallel", "nodes": [
  {"id": "p1", "kind": "python", "config": {"code": "import time\ntime.sleep(0.5)\nresult = 1"}},
  {"id": "p2", "kind": "python", "config": {"code": "import time\ntime.sleep(0.5)\nresult = 2"}},
  {"id": "p3", "kind": "python", "config": {"code": "import time\ntime.sleep(0.5)\nresult = 3"}},
  {"id": "p4", "kind": "python", "config": {"code": "import time\ntime.sleep(0.5)\nresult = 4"}}]}
J
)
start=$(date +%s%N)
"$FLOWCTL" run "$par" >/dev/null 2>&1
ms=$((($(date +%s%N) - start) / 1000000))
check "independent nodes run in parallel (4 x 0.5 s in well under 2 s: ${ms} ms)" test $ms -lt 1800

slow=$(wf slow.json <<'J'
{"name": "slow", "nodes": [{"id": "sleepy", "kind": "python", "config": {"code": "import time\ntime.sleep(60)"}},
                           {"id": "sleepy2", "kind": "python", "config": {"code": "import time\ntime.sleep(60)"}}]}
J
)
run=$("$FLOWCTL" run "$slow" --detach 2>/dev/null)
sleep 0.5
zygotes=$(pgrep -P "$FLOWD_PID" | tr '\n' ',')
kids=$(for z in ${zygotes//,/ }; do pgrep -P "$z"; done | tr '\n' ' ')
check "the run's nodes are running before the cancel" test -n "$kids"
"$FLOWCTL" cancel "$run" >/dev/null 2>&1
out=$("$FLOWCTL" get "$run" --output json 2>&1)
check "cancel ends the run CANCELLED" has '"status": *"CANCELLED"' "$out"
sleep 0.3
check "cancel leaves no child process behind" sh -c "for p in $kids; do kill -0 \$p 2>/dev/null && exit 1; done; exit 0"
finish
