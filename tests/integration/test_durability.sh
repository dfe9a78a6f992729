#!/usr/bin/env bash
# Nothing acknowledged is lost (issue 6): kill -9 in the middle of a run of
# many nodes, restart, and the run finishes with the right outputs; its
# events replay once each, in order; idempotency keys and dead letters
# survive; SIGTERM ends open streams cleanly and the run resumes.
source "$(dirname "$0")/lib.sh"

need_root "durability" || exit 0

# restart_flowd: same port, same data dir.
restart_flowd() {
    env FLOWD_AUTH=none FLOWD_LISTEN="$ADDR" FLOWD_HTTP_LISTEN=127.0.0.1:0 FLOWD_DATA_DIR="$DATA" \
        FLOWD_LOG_FORMAT=json "$@" "$FLOWD" \
        2>>"$DATA/flowd.log" &
    FLOWD_PID=$!
    for _ in $(seq 1 100); do
        "$FLOWCTL" health >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# A chain of 12 python nodes, each adding 1 after a short sleep.
{
    echo '{"name": "chain", "nodes": ['
    for i in $(seq 1 12); do
        sep=$([[ $i -lt 12 ]] && echo ,)
        echo "{\"id\": \"n$i\", \"kind\": \"python\", \"config\": {\"params\": {\"v\": 0}, \"code\": \"import time\\ntime.sleep(0.15)\\nresult = {'v': v + 1}\"}}$sep"
    done
    echo '], "connections": ['
    for i in $(seq 1 11); do
        sep=$([[ $i -lt 11 ]] && echo ,)
        echo "{\"from\": \"n$i\", \"to\": \"n$((i + 1))\"}$sep"
    done
    echo ']}'
} >"$TMP/chain.json"

start_flowd || { not_ok "flowd starts"; finish; exit 1; }
run=$("$FLOWCTL" run "$TMP/chain.json" --detach 2>/dev/null)
check "SubmitRun acknowledges the run" has '^r-' "$run"
dedup=$("$FLOWCTL" run "$TMP/chain.json" --detach --idempotency-key nightly-1 2>/dev/null)
sleep 1.2
kill -KILL "$FLOWD_PID"
wait "$FLOWD_PID" 2>/dev/null
check "the server was killed mid-run" sh -c "'$FLOWCTL' get '$run' >/dev/null 2>&1; test \$? -eq 3"

restart_flowd || { not_ok "flowd restarts"; finish; exit 1; }
ok "flowd restarts on the same store"
out=$(timeout 60 "$FLOWCTL" watch "$run" --output json 2>&1)
check "the interrupted run finishes after the restart" has '"type":"RUN_SUCCEEDED"' "$out"
check "its outputs are right (12 increments)" has '"n12":\{"v":12\}' "$(grep RUN_SUCCEEDED <<<"$out")"
seqs=$(grep -o '"seq":[0-9]*' <<<"$out" | cut -d: -f2 | tr '\n' ' ')
n=$(wc -w <<<"$seqs")
check "WatchRun(after_seq=0) replays every event once, in order" test "$seqs" = "$(seq -s ' ' 1 "$n") "
check "an event says why the interrupted attempt ran again" has 'interrupted by a server restart' "$out"
again=$("$FLOWCTL" run "$TMP/chain.json" --detach --idempotency-key nightly-1 2>/dev/null)
check "an idempotency key survives the restart" test "$again" = "$dedup"

fail=$(wf fail.json <<'J'
{"name": "dl", "nodes": [{"id": "bad", "kind": "python", "config": {"params": {"customer": "C042"}, "code": "raise RuntimeError('upstream said no')"}}]}
J
)
"$FLOWCTL" run "$fail" >/dev/null 2>&1
kill -KILL "$FLOWD_PID"
wait "$FLOWD_PID" 2>/dev/null
restart_flowd
out=$("$FLOWCTL" dlq list --output json 2>&1)
check "a dead letter is still there after kill -9, with its inputs" has 'C042' "$out"

# SIGTERM with a live stream: the stream ends, the run resumes at the next start.
slow=$(wf slow.json <<'J'
{"name": "slow", "nodes": [{"id": "a", "kind": "python", "config": {"code": "import time\ntime.sleep(2.5)\nresult = 'a'"}},
                           {"id": "b", "kind": "noop"}],
 "connections": [{"from": "a", "to": "b"}]}
J
)
kill -TERM "$FLOWD_PID"
wait "$FLOWD_PID" 2>/dev/null
restart_flowd FLOWD_SHUTDOWN_GRACE_SECONDS=1
"$FLOWCTL" run "$slow" --output json >"$TMP/stream.out" 2>&1 &
client=$!
sleep 0.6
kill -TERM "$FLOWD_PID"
for _ in $(seq 1 60); do kill -0 $client 2>/dev/null || break; sleep 0.1; done
check "SIGTERM ends the open stream (the client is not left hanging)" sh -c "! kill -0 $client 2>/dev/null"
wait "$FLOWD_PID" 2>/dev/null
srun=$(grep -o '"run_id":"[^"]*"' "$TMP/stream.out" | head -1 | cut -d'"' -f4)
restart_flowd
out=$(timeout 30 "$FLOWCTL" watch "$srun" --output json 2>&1)
check "the run resumes after the restart and succeeds" has '"type":"RUN_SUCCEEDED"' "$out"

# Disk full: a data dir on a 2 MiB tmpfs. Submissions fail with a clear
# UNAVAILABLE, nothing half-written is visible, reads keep working.
stop_flowd
small=$TMP/small
mkdir -p "$small"
if mount -t tmpfs -o size=2m tmpfs "$small" 2>/dev/null; then
    chmod 755 "$small"
    DATA=$small
    restart_flowd
    first=$("$FLOWCTL" run "$TMP/chain.json" --detach 2>/dev/null)
    check "a run is accepted before the disk fills" has '^r-' "$first"
    big=$(/usr/bin/python3 -c 'import json; print(json.dumps({"n": {"blob": "x" * 200000}}))')
    echo "$big" >"$TMP/big.json"
    one=$(wf one.json <<'J'
{"name": "one", "nodes": [{"id": "n", "kind": "noop"}]}
J
)
    err=
    for _ in $(seq 1 40); do
        out=$("$FLOWCTL" run "$one" --input "$TMP/big.json" --detach 2>&1) || { err=$out; break; }
    done
    check "when the disk is full a submission fails cleanly" test -n "$err"
    check "the error says the run was not stored and to retry" has 'could not be stored.*retry|UNAVAILABLE' "$err"
    check "the server keeps serving reads" sh -c "'$FLOWCTL' get '$first' >/dev/null"
    check "the server is still alive" kill -0 "$FLOWD_PID" || true
    kill -0 "$FLOWD_PID" 2>/dev/null || tail -5 "$DATA/flowd.log" | sed 's/^/#   /' 
    stop_flowd
    umount "$small"
else
    skip "disk full" "cannot mount a tmpfs here"
fi
finish
