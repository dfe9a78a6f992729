#!/usr/bin/env bash
# Every example in examples/ runs against a real flowd and does what its
# description says (issues 4 and 7).
source "$(dirname "$0")/lib.sh"

need_root "examples" || exit 0
# The sandbox uid must reach the plugin directory: not under the test's
# private temp dir.
plugins=$(mktemp -d /tmp/flowd-plugins.XXXXXX)
chmod 755 "$plugins"
trap 'stop_flowd; rm -rf "$plugins"' EXIT
for so in "$ROOT/examples/plugins/word_count.so" "$ROOT/bazel-bin/examples/plugins/word_count.so"; do
    [[ -s "$so" ]] && { cp "$so" "$plugins/"; break; }
done
start_flowd FLOWD_PLUGIN_DIR="$plugins" || { not_ok "flowd starts"; finish; exit 1; }
mkdir -p "$DATA/files"
cp "$ROOT/examples/data/orders.csv" "$DATA/files/"
ex=$ROOT/examples

out=$("$FLOWCTL" run "$ex/production-etl.json" --input "$ex/production-etl.input.json" --output json 2>&1)
check "production-etl succeeds" has '"type":"RUN_SUCCEEDED"' "$out"
check "production-etl reports progress" has '"type":"NODE_PROGRESS"' "$out"
check "production-etl validates 10 records into tiers" has '"records":10,"tiers"' "$out"

out=$("$FLOWCTL" run "$ex/fanout-batch.json" --output json 2>&1)
final=$(grep RUN_SUCCEEDED <<<"$out")
check "fanout-batch succeeds" test -n "$final"
check "fanout-batch scored 10,000 records in 10 chunks" has '"scored":10000,"batch":\{"chunks":10' "$final"
check "fanout-batch skipped the untaken switch branch" has '"type":"NODE_SKIPPED","node_id":"nothing"' "$out"
check "fanout-batch joined both branches (10,000 records aggregated)" \
    test "$(/usr/bin/python3 -c 'import json,sys; g=json.loads(sys.stdin.read())["output"]["per_region"]["groups"]; print(sum(x["count"] for x in g))' <<<"$final")" = 10000
report=$(ls "$DATA"/files/reports/revenue_*Z.csv 2>/dev/null | head -1)
check "fanout-batch wrote a timestamped CSV report" test -s "$report"
check "the report has a header and 5 regions" test "$(wc -l <"${report:-/dev/null}")" -eq 6

out=$("$FLOWCTL" run "$ex/flaky-api.json" --output json 2>&1)
check "flaky-api succeeds, degraded" has '"type":"RUN_SUCCEEDED".*degraded' "$out"
check "flaky-api retried the pricing call twice" test "$(grep -o '"type":"NODE_RETRYING","node_id":"price"' <<<"$out" | wc -l)" -eq 2
check "flaky-api priced every item after the retries" has '"amount":150.25,"priced":true' "$out"
check "flaky-api fell back for the inventory call" has '"stock":\{"in_stock":null,"status":"degraded","fallback_applied":true\}' "$out"

out=$("$FLOWCTL" run "$ex/pii-masking.json" --input "$ex/pii-masking.input.json" --output json 2>&1)
final=$(grep RUN_SUCCEEDED <<<"$out")
check "pii-masking succeeds" test -n "$final"
for secret in 'ada@example.com' '4111 1111 1111 1111' '123-45-6789' 'Ada Lovelace' '555.867.5309'; do
    check "pii-masking removed \"$secret\" from the shared records" \
        lacks "$secret" "$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.read())["output"]["share"]))' <<<"$final")"
done
check "pii-masking kept what is not personal data" has 'order 2024-05-01 total 1234.50' "$final"

if [[ -n "${ASAN_OPTIONS:-}" ]]; then
    skip "plugin-wordcount" "sanitizer builds: the ASan runtime in the plugin helper calls setrlimit, which the sandbox forbids"
elif [[ -s "$plugins/word_count.so" ]]; then
    out=$("$FLOWCTL" run "$ex/plugin-wordcount.json" --output json 2>&1)
    has '"type":"RUN_SUCCEEDED"' "$out" || tail -5 <<<"$out" | sed 's/^/#   /'
    check "plugin-wordcount succeeds" has '"type":"RUN_SUCCEEDED"' "$out"
    check "the plugin counted the words" has '\{"word":"the","count":3\}' "$out"
    # Plugins run in flowd-node, which can load shared libraries; the
    # compute zygote is static (cheaper forks) and must not be asked to.
    bin=$(dirname "$FLOWD")
    check "flowd found flowd-node and flowd-zygote next to it" lacks 'is not next to' "$(cat "$DATA/flowd.log")"
    check "flowd-node is dynamically linked" has 'INTERP' "$(readelf -l "$bin/flowd-node" 2>&1)"
    check "flowd-zygote is statically linked" lacks 'INTERP' "$(readelf -l "$bin/flowd-zygote" 2>&1)"
else
    skip "plugin-wordcount" "examples/plugins:word_count.so was not built"
fi
finish
