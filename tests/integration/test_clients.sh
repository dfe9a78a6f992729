#!/usr/bin/env bash
# Independent clients (issue 5): grpc-js loading our .proto files drives
# every RPC, and a health probe built from Debian's grpc-go (the client
# library kubelet's grpc probes use) sees SERVING, then NOT_SERVING while
# the server drains.
source "$(dirname "$0")/lib.sh"

need_root "independent clients" || exit 0
start_flowd FLOWD_SHUTDOWN_GRACE_SECONDS=3 || { not_ok "flowd starts"; finish; exit 1; }

modules=${FLOWD_NODE_MODULES:-$ROOT/tests/js/node_modules}
if [[ -d "$modules/@grpc/grpc-js" ]] && command -v node >/dev/null; then
    NODE_PATH=$modules node "$ROOT/tests/js/client.test.js" "$ADDR" "$ROOT" >"$TMP/js.tap" 2>&1
    grep -E '^(ok|not ok)' "$TMP/js.tap" | while read -r line; do echo "$line"; done
    PASSED=$((PASSED + $(grep -c '^ok' "$TMP/js.tap")))
    FAILED=$((FAILED + $(grep -c '^not ok' "$TMP/js.tap")))
    grep '^#' "$TMP/js.tap" | grep -v passed
else
    skip "grpc-js drives every RPC" "no node_modules in $modules (scripts/test runs npm install in tests/js)"
fi

probe=$TMP/hprobe
if command -v go >/dev/null && [[ -d /usr/share/gocode/src/google.golang.org/grpc ]]; then
    (cd "$ROOT/tests/integration/hprobe" && GO111MODULE=off GOPATH=$PWD:/usr/share/gocode GOCACHE=$TMP/gocache \
        GOFLAGS=-mod=mod go build -o "$probe" hprobe) >"$TMP/go.log" 2>&1 || cat "$TMP/go.log" | sed 's/^/# /'
fi
if [[ -x "$probe" ]]; then
    check "the grpc-go health probe gets SERVING" "$probe" -addr "$ADDR"
    check "and SERVING for flowd.v1.WorkflowService" "$probe" -addr "$ADDR" -service flowd.v1.WorkflowService
    "$probe" -addr "$ADDR" -service nope >/dev/null 2>&1
    check "and NOT_FOUND for an unknown service" test $? -eq 3
    slow=$(wf slow.json <<'J'
{"name": "slow", "nodes": [{"id": "s", "kind": "python", "config": {"code": "import time\ntime.sleep(2)\nresult = 1"}}]}
J
)
    "$FLOWCTL" run "$slow" --detach >/dev/null 2>&1
    sleep 0.3
    kill -TERM "$FLOWD_PID"
    sleep 0.3
    out=$("$probe" -addr "$ADDR" 2>&1)
    check "while draining, the probe gets NOT_SERVING" has "NOT_SERVING" "$out"
else
    skip "grpc-go health probe" "golang-go and golang-google-grpc-dev are not installed"
fi
finish
