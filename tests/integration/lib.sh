# lib.sh: helpers for integration tests that start a real flowd and drive it
# with flowctl. Each case prints one TAP line ("ok - name" or "not ok -
# name"); scripts/test counts them. Sourced by the test scripts.
set -uo pipefail

ROOT=${TEST_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/${TEST_WORKSPACE:-}
[[ -n "${TEST_WORKSPACE:-}" ]] || ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FLOWD=${FLOWD:-$ROOT/server/flowd}
FLOWCTL=${FLOWCTL:-$ROOT/client/flowctl}
[[ -x "$FLOWD" ]] || FLOWD=$ROOT/bazel-bin/server/flowd
[[ -x "$FLOWCTL" ]] || FLOWCTL=$ROOT/bazel-bin/client/flowctl
TMP=$(mktemp -d "${TEST_TMPDIR:-/tmp}/flowd-it.XXXXXX")
PASSED=0
FAILED=0
FLOWD_PID=
export NO_COLOR=1

ok() { echo "ok - $1"; PASSED=$((PASSED + 1)); }
not_ok() {
    echo "not ok - $1"
    FAILED=$((FAILED + 1))
    [[ -n "${2:-}" ]] && sed 's/^/#   /' <<<"$2"
    return 0
}
skip() { echo "ok - $1 # SKIP $2"; }

# check NAME CONDITION-COMMAND...: a case passes when the command succeeds.
check() {
    local name=$1
    shift
    local _check_out
    if _check_out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$_check_out"; fi
}

# has PATTERN TEXT / lacks PATTERN TEXT: grep -E on a string.
has() { grep -Ezq -- "$1" <<<"$2"; }
lacks() { ! grep -Ezq -- "$1" <<<"$2"; }

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

need_root() {
    if [[ $(id -u) -ne 0 ]]; then
        skip "$1" "needs root: the sandbox creates cgroups"
        return 1
    fi
}

# start_flowd [VAR=value...]: starts flowd on a free port with a fresh data
# dir, waits until it answers, and exports ADDR and DATA.
start_flowd() {
    PORT=$(free_port)
    ADDR=127.0.0.1:$PORT
    DATA=$TMP/data-$PORT
    mkdir -p "$DATA"
    export FLOWD_ADDR=$ADDR
    env FLOWD_AUTH=none FLOWD_LISTEN="$ADDR" FLOWD_HTTP_LISTEN=127.0.0.1:0 FLOWD_DATA_DIR="$DATA" \
        FLOWD_LOG_FORMAT=json "$@" "$FLOWD" 2>>"$DATA/flowd.log" &
    FLOWD_PID=$!
    for _ in $(seq 1 100); do
        "$FLOWCTL" --addr "$ADDR" health >/dev/null 2>&1 && return 0
        kill -0 "$FLOWD_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "# flowd did not start; its log:" >&2
    sed 's/^/#   /' "$DATA/flowd.log" >&2
    return 1
}

stop_flowd() {
    [[ -n "$FLOWD_PID" ]] || return 0
    kill -TERM "$FLOWD_PID" 2>/dev/null
    for _ in $(seq 1 100); do
        kill -0 "$FLOWD_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$FLOWD_PID" 2>/dev/null
    wait "$FLOWD_PID" 2>/dev/null
    FLOWD_PID=
}

finish() {
    stop_flowd
    echo "# $PASSED passed, $FAILED failed"
    [[ -n "${KEEP:-}" ]] || rm -rf "$TMP"
    [[ $FAILED -eq 0 ]]
}
trap 'stop_flowd' EXIT

# wf FILE JSON: writes a workflow file.
wf() { cat >"$TMP/$1"; echo "$TMP/$1"; }
