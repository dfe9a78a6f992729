#!/usr/bin/env bash
# Scrapes the HTTP fixture (every flowd metric family, served by the real
# server/http code) with curl, and parses /metrics with Debian's
# python3-prometheus-client text parser. One TAP line per case.
set -uo pipefail

FIXTURE=${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE/}tests/http/http-fixture
[[ -x "$FIXTURE" ]] || FIXTURE=$(dirname "$0")/http-fixture
TMP=$(mktemp -d "${TEST_TMPDIR:-/tmp}/http-scrape.XXXXXX")
PIDS=()
FAILED=0

ok() { echo "ok - $1"; }
not_ok() {
    echo "not ok - $1"
    FAILED=$((FAILED + 1))
    [[ -n "${2:-}" ]] && sed 's/^/#   /' <<<"$2"
    return 0
}
skip() { echo "ok - $1 # SKIP $2"; }
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# start_fixture VAR [env...]: starts the fixture and sets VAR to its port.
start_fixture() {
    local var=$1 out="$TMP/port-$RANDOM"
    shift
    env "$@" "$FIXTURE" >"$out" 2>"$out.err" &
    PIDS+=($!)
    for _ in $(seq 1 50); do
        [[ -s "$out" ]] && break
        sleep 0.1
    done
    printf -v "$var" '%s' "$(head -1 "$out")"
    [[ -n "${!var}" ]] || { cat "$out.err" >&2; return 1; }
}

if ! command -v curl >/dev/null; then
    skip "http scrape" "curl is not installed"
    exit 0
fi
start_fixture PORT || { not_ok "fixture starts" "no port"; exit 1; }
URL=http://127.0.0.1:$PORT

code=$(curl -sS -o "$TMP/metrics" -D "$TMP/headers" -w '%{http_code}' "$URL/metrics")
ct=$(tr -d '\r' <"$TMP/headers" | sed -n 's/^[Cc]ontent-[Tt]ype: //p')
if [[ $code == 200 && $ct == "text/plain; version=0.0.4; charset=utf-8" ]]; then
    ok "curl GET /metrics: 200, text/plain; version=0.0.4"
else
    not_ok "curl GET /metrics: 200, text/plain; version=0.0.4" "code $code, content type '$ct'"
fi

if ! /usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null; then
    skip "prometheus_client parses /metrics" "python3-prometheus-client is not installed (scripts/deps --test)"
else
    out=$(/usr/bin/python3 - "$TMP/metrics" 2>&1 <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
# The parser names counter families without their _total suffix.
want = {
    "flowd_runs": "counter", "flowd_nodes": "counter", "flowd_node_duration_seconds": "histogram",
    "flowd_sandbox_spawn_seconds": "histogram", "flowd_oom_kills": "counter",
    "flowd_sandbox_violations": "counter", "flowd_node_retries": "counter", "flowd_circuit_state": "gauge",
    "flowd_dead_letters": "counter", "flowd_queue_depth": "gauge", "flowd_running_sandboxes": "gauge",
    "flowd_grpc_requests": "counter", "flowd_grpc_request_duration_seconds": "histogram",
    "flowd_store_write_seconds": "histogram", "process_resident_memory_bytes": "gauge",
    "process_open_fds": "gauge", "flowd_build_info": "gauge", "flowd_ready": "gauge",
}
errors = []
for name, typ in want.items():
    if name not in fams:
        errors.append(f"missing family {name}")
    elif fams[name].type != typ:
        errors.append(f"{name}: type {fams[name].type}, want {typ}")

def value(sample_name, **labels):
    for f in fams.values():
        for s in f.samples:
            if s.name == sample_name and s.labels == labels:
                return s.value
    errors.append(f"no sample {sample_name}{labels}")

# Escaped label values come back as they went in.
if value("flowd_runs_total", tenant='we"ird\\tenant\n', status="succeeded") != 1:
    errors.append("escaped tenant label did not round-trip")
if value("flowd_circuit_state", circuit="payments-api") != 2:
    errors.append("circuit state")
if value("flowd_queue_depth") != 7:
    errors.append("queue depth from the scrape-time callback")
if (value("process_resident_memory_bytes") or 0) <= 0:
    errors.append("resident memory")
# Histograms: buckets cumulative, +Inf equal to _count.
for f in fams.values():
    if f.type != "histogram":
        continue
    series = {}
    for s in f.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, {"b": [], "count": None})
        if s.name.endswith("_bucket"):
            series[key]["b"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_count"):
            series[key]["count"] = s.value
    for key, d in series.items():
        counts = [c for _, c in d["b"]]
        if counts != sorted(counts) or d["b"][-1][0] != float("inf") or counts[-1] != d["count"]:
            errors.append(f"{f.name}{dict(key)}: buckets not cumulative or +Inf != count")
print("\n".join(errors))
sys.exit(1 if errors else 0)
EOF
    )
    if [[ $? -eq 0 ]]; then ok "prometheus_client parses /metrics: every flowd family, escapes, histograms"
    else not_ok "prometheus_client parses /metrics: every flowd family, escapes, histograms" "$out"; fi
fi

body=$(curl -sS -w ' %{http_code}' "$URL/healthz")
[[ $body == "ok"$'\n'" 200" || $body == "ok 200" ]] && ok "curl GET /healthz: 200 ok" ||
    not_ok "curl GET /healthz: 200 ok" "$body"

code=$(curl -sS -o "$TMP/ready" -w '%{http_code}' "$URL/readyz")
if [[ $code == 200 ]] && /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "ready" and d["sandbox_mode"] == "cgroup", d' "$TMP/ready" 2>"$TMP/err"; then
    ok "curl GET /readyz: 200 with a JSON body"
else
    not_ok "curl GET /readyz: 200 with a JSON body" "code $code: $(cat "$TMP/ready" "$TMP/err")"
fi

start_fixture PORT2 FIXTURE_NOT_READY=1 || not_ok "second fixture starts"
code=$(curl -sS -o "$TMP/notready" -w '%{http_code}' "http://127.0.0.1:$PORT2/readyz")
if [[ $code == 503 ]] && /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "not ready", d
assert d["not_ready"] == ["draining (shutting down)"], d
assert d["sandbox_mode"] == "rlimit" and "sandbox_warning" in d, d' "$TMP/notready" 2>"$TMP/err"; then
    ok "curl GET /readyz while draining: 503 naming what is not ready and the sandbox mode"
else
    not_ok "curl GET /readyz while draining: 503 naming what is not ready" "code $code: $(cat "$TMP/notready" "$TMP/err")"
fi

c404=$(curl -sS -o /dev/null -w '%{http_code}' "$URL/nope")
c405=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$URL/metrics")
[[ $c404 == 404 && $c405 == 405 ]] && ok "curl: unknown path 404, POST 405" ||
    not_ok "curl: unknown path 404, POST 405" "got $c404 and $c405"

[[ $FAILED -eq 0 ]]
