#!/usr/bin/env bash
# The multi-user service (issue 5): tokens and roles, tenant isolation,
# quotas, secrets that reach a node and appear nowhere else, the audit log,
# TLS, the plaintext health-only port, configuration errors.
source "$(dirname "$0")/lib.sh"

need_root "service" || exit 0

# --- configuration is validated at start ---
out=$(env FLOWD_MAX_WORKERS=lots FLOWD_DATA_DIR=$TMP/x "$FLOWD" 2>&1)
check "a bad setting stops the start (exit 2)" test $? -eq 2
check "the message names the variable, the value and what is allowed" \
    grep -q 'FLOWD_MAX_WORKERS="lots" is not valid: expected a whole number' <<<"$out"
out=$(env -u FLOWD_AUTH -u FLOWD_TOKENS_FILE FLOWD_DATA_DIR=$TMP/x "$FLOWD" 2>&1)
check "no tokens file means flowd refuses to start" grep -q "no tokens: set FLOWD_TOKENS_FILE" <<<"$out"
check "flowd --help lists the settings with defaults" sh -c "'$FLOWD' --help | grep -q 'FLOWD_LISTEN.*default: 127.0.0.1:50051'"

# --- tokens ---
tokens=$TMP/tokens.jsonl
admin=$("$FLOWD" token create --user root --tenant ops --role admin --tokens-file "$tokens" 2>/dev/null)
alice=$("$FLOWD" token create --user alice --tenant team-a --role submitter --tokens-file "$tokens" 2>/dev/null)
bob=$("$FLOWD" token create --user bob --tenant team-b --role submitter --tokens-file "$tokens" 2>/dev/null)
viewer=$("$FLOWD" token create --user vic --tenant team-a --role viewer --tokens-file "$tokens" 2>/dev/null)
check "flowd token create prints a token" grep -Eq '^fwd_[0-9a-f]{64}$' <<<"$alice"
check "the tokens file holds hashes, never the token" sh -c "! grep -q '${alice#fwd_}' '$tokens' && grep -q sha256 '$tokens'"
out=$("$FLOWD" token create --user x --tenant y --role wizard --tokens-file "$tokens" 2>&1)
check "an unknown role is refused" grep -q 'unknown role "wizard"' <<<"$out"

cat >"$TMP/tenants.json" <<J
{"tenants": {
  "team-a": {"max_concurrent_runs": 4, "max_queued_runs": 10, "max_memory_mb": 256, "secrets": ["FLOWD_TEST_API_KEY"]},
  "team-b": {"max_memory_mb": 128},
  "ops": {}}}
J
export FLOWD_TEST_API_KEY=sk-test-9f8e7d6c5b4a
start_flowd FLOWD_AUTH=token FLOWD_TOKENS_FILE="$tokens" FLOWD_TENANTS_FILE="$TMP/tenants.json" \
    FLOWD_AUDIT_LOG="$TMP/audit.jsonl" || { not_ok "flowd starts with tokens"; finish; exit 1; }
ok "flowd starts with tokens, tenants, audit log"

noop=$(wf noop.json <<'J'
{"name": "noop", "nodes": [{"id": "n", "kind": "noop", "config": {"params": {"x": 1}}}]}
J
)
"$FLOWCTL" run "$noop" >/dev/null 2>&1
check "no token: exit 4 (UNAUTHENTICATED)" test $? -eq 4
"$FLOWCTL" --token fwd_0000 run "$noop" >/dev/null 2>&1
check "a bad token: exit 4" test $? -eq 4
out=$("$FLOWCTL" --token "$viewer" run "$noop" 2>&1)
check "a viewer may not submit: exit 4" test $? -eq 4
check "the refusal names the role" has 'submitter role' "$out"
out=$("$FLOWCTL" --token "$alice" run "$noop" --output json 2>&1)
check "a submitter runs a workflow" test $? -eq 0
run_a=$(grep -o '"run_id":"[^"]*"' <<<"$out" | head -1 | cut -d'"' -f4)
"$FLOWCTL" --token "$viewer" get "$run_a" >/dev/null 2>&1
check "a viewer of the same tenant sees the run" test $? -eq 0
out=$("$FLOWCTL" --token "$bob" get "$run_a" 2>&1)
check "another tenant's run is NOT_FOUND" grep -qi "not found" <<<"$out"
out=$("$FLOWCTL" --token "$bob" list 2>&1)
check "another tenant's runs are not listed" lacks "$run_a" "$out"
"$FLOWCTL" --token "$admin" get "$run_a" >/dev/null 2>&1
check "an admin sees every tenant" test $? -eq 0
"$FLOWCTL" --token "$alice" dlq list >/dev/null 2>&1
check "dead letters need the admin role (exit 4)" test $? -eq 4

# --- quotas: node ceilings ---
big=$(wf big.json <<'J'
{"name": "big", "nodes": [{"id": "n", "kind": "noop", "resources": {"memory_mb": 4096}}]}
J
)
out=$("$FLOWCTL" --token "$bob" run "$big" 2>&1)
check "a node asking for more memory than the quota is refused (exit 2)" test $? -eq 2
check "the refusal names the path and the quota" grep -q "resources.memory_mb: asks for 4096 MiB, more than the quota's 128 MiB" <<<"$out"

# --- secrets ---
sec=$(wf secret.json <<'J'
{"name": "secret", "nodes": [{"id": "use", "kind": "python", "secrets": ["FLOWD_TEST_API_KEY"], "on_error": "continue",
  "config": {"code": "import os\nkey = os.environ.get('FLOWD_TEST_API_KEY', '')\nprint('using key', key)\nresult = {'len': len(key), 'echo': key, 'other': os.environ.get('HOME', 'unset')}"}}]}
J
)
out=$("$FLOWCTL" --token "$alice" run "$sec" --output json 2>&1)
check "a granted secret reaches the node" grep -q '"len": *20' <<<"$out"
check "the secret value appears in no event or output" lacks 'sk-test-9f8e7d6c5b4a' "$out"
check "it is shown scrubbed" grep -q '\*\*\*' <<<"$out"
out=$("$FLOWCTL" --token "$bob" run "$sec" --output json 2>&1)
check "a tenant without the secret's grant does not get it" grep -q '"len": *0' <<<"$out"
check "nor does the server log hold the value" sh -c "! grep -q 'sk-test-9f8e7d6c5b4a' '$DATA/flowd.log'"

# --- audit log ---
check "the audit log has a line per RPC" test "$(wc -l <"$TMP/audit.jsonl")" -ge 10
check "audit lines name user, tenant, method, decision and code" \
    grep -q '"user":"alice","tenant":"team-a","method":"ExecuteRun".*"decision":"allow","code":"OK"' "$TMP/audit.jsonl"
check "denied calls are audited as deny" grep -q '"decision":"deny","code":"UNAUTHENTICATED"' "$TMP/audit.jsonl"
check "the audit log never holds the secret" sh -c "! grep -q 'sk-test-9f8e7d6c5b4a' '$TMP/audit.jsonl'"
stop_flowd

# --- TLS and the health-only plaintext port ---
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=flowd-test-ca \
    -keyout "$TMP/ca.key" -out "$TMP/ca.crt" >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout "$TMP/srv.key" -out "$TMP/srv.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$TMP/ext.cnf"
openssl x509 -req -in "$TMP/srv.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" -CAcreateserial -days 2 \
    -extfile "$TMP/ext.cnf" -out "$TMP/srv.crt" >/dev/null 2>&1
hport=$(free_port)
PORT=$(free_port)
ADDR=127.0.0.1:$PORT
DATA=$TMP/tls
mkdir -p "$DATA"
env FLOWD_AUTH=none FLOWD_LISTEN=$ADDR FLOWD_DATA_DIR=$DATA FLOWD_TLS_CERT=$TMP/srv.crt FLOWD_TLS_KEY=$TMP/srv.key \
    FLOWD_HEALTH_LISTEN=127.0.0.1:$hport "$FLOWD" 2>"$DATA/flowd.log" &
FLOWD_PID=$!
for _ in $(seq 1 50); do "$FLOWCTL" --addr 127.0.0.1:$hport health >/dev/null 2>&1 && break; sleep 0.1; done
check "the plaintext health port answers SERVING" sh -c "'$FLOWCTL' --addr 127.0.0.1:$hport health | grep -q SERVING"
"$FLOWCTL" --addr 127.0.0.1:$hport run "$noop" >/dev/null 2>&1
check "the health port serves nothing else" test $? -ne 0
"$FLOWCTL" --addr $ADDR --ca "$TMP/ca.crt" run "$noop" >/dev/null 2>&1
check "a TLS client with the CA runs a workflow" test $? -eq 0
"$FLOWCTL" --addr $ADDR run "$noop" >/dev/null 2>&1
check "a plaintext client cannot talk to the TLS port" test $? -ne 0
stop_flowd

finish
