#!/usr/bin/env bash
# Observability (issue 8) on a real flowd: /metrics parsed by a real
# exposition-format parser after a workload, with counters that match what
# ran; /healthz and /readyz, which flips to 503 while draining; JSON log
# lines that parse and carry run, node and tenant ids.
source "$(dirname "$0")/lib.sh"

need_root "observability" || exit 0
hport=$(free_port)
start_flowd FLOWD_HTTP_LISTEN=127.0.0.1:$hport FLOWD_SHUTDOWN_GRACE_SECONDS=3 || { not_ok "flowd starts"; finish; exit 1; }
base=http://127.0.0.1:$hport

ok3=$(wf ok3.json <<'J'
{"name": "ok3", "nodes": [{"id": "a", "kind": "noop"}, {"id": "b", "kind": "noop"}, {"id": "c", "kind": "python", "config": {"code": "result = 1"}}],
 "connections": [{"from": "a", "to": "b"}]}
J
)
bad=$(wf bad.json <<'J'
{"name": "bad", "nodes": [{"id": "hog", "kind": "python", "resources": {"memory_mb": 48}, "config": {"code": "x = bytearray(400 * 1024 * 1024)"}}]}
J
)
for _ in 1 2 3; do "$FLOWCTL" run "$ok3" >/dev/null 2>&1; done
"$FLOWCTL" run "$bad" >/dev/null 2>&1

metrics=$(curl -sf -D "$TMP/headers" "$base/metrics")
check "/metrics answers with the Prometheus text content type" grep -qi 'content-type: text/plain; version=0.0.4' "$TMP/headers"
echo "$metrics" >"$TMP/m.txt"
parsed=$(/usr/bin/python3 - "$TMP/m.txt" <<'PY' 2>&1
import sys
from prometheus_client.parser import text_string_to_metric_families
vals = {}
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        vals[s.name + "{" + ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) + "}"] = s.value
g = lambda k: vals.get(k, 0)
print("runs_ok", int(g("flowd_runs_total{status=succeeded,tenant=local}")))
print("runs_failed", int(g("flowd_runs_total{status=failed,tenant=local}")))
print("noop_ok", int(g("flowd_nodes_total{kind=noop,status=succeeded}")))
print("oom", int(g("flowd_oom_kills_total{}")))
print("grpc_ok", int(sum(v for k, v in vals.items() if k.startswith("flowd_grpc_requests_total{") and "code=OK" in k)))
print("rss", int(g("process_resident_memory_bytes{}") > 0))
PY
)
check "the exposition parses with prometheus_client" has 'runs_ok' "$parsed"
check "runs by status match what ran (3 succeeded, 1 failed)" has 'runs_ok 3.runs_failed 1' "$(tr '\n' '.' <<<"$parsed")"
check "nodes by kind match (6 noop nodes succeeded)" has 'noop_ok 6' "$parsed"
check "the OOM kill is counted" has 'oom 1' "$parsed"
check "gRPC requests are counted by method and code" has 'grpc_ok [1-9]' "$parsed"
check "process RSS is exported" has 'rss 1' "$parsed"
check "no run id is ever a label" lacks 'r-[0-9a-f]{21}' "$metrics"

check "/healthz is 200" test "$(curl -s -o /dev/null -w '%{http_code}' "$base/healthz")" = 200
check "/readyz is 200 when ready" test "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200
slow=$(wf slow.json <<'J'
{"name": "slow", "nodes": [{"id": "s", "kind": "python", "config": {"code": "import time\ntime.sleep(2)\nresult = 1"}}]}
J
)
"$FLOWCTL" run "$slow" --detach >/dev/null 2>&1
sleep 0.3
kill -TERM "$FLOWD_PID"
sleep 0.3
code=$(curl -s -o "$TMP/ready.json" -w '%{http_code}' "$base/readyz")
check "/readyz flips to 503 while draining" test "$code" = 503
check "and says why" grep -q '"draining":true' "$TMP/ready.json"
wait "$FLOWD_PID" 2>/dev/null
FLOWD_PID=

logs=$(/usr/bin/python3 - "$DATA/flowd.log" <<'PY'
import json, sys
n = bad = ids = 0
for line in open(sys.argv[1]):
    n += 1
    try:
        j = json.loads(line)
    except ValueError:
        bad += 1
        continue
    if not all(k in j for k in ("time", "level", "msg")):
        bad += 1
    if j.get("run") and j.get("tenant"):
        ids += 1
print(n, bad, ids)
PY
)
read -r nlines nbad nids <<<"$logs"
check "every log line is JSON with time, level and msg ($nlines lines)" test "$nbad" = 0
check "log lines about runs carry run and tenant ids" test "$nids" -ge 1
finish
