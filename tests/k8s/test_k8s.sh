#!/usr/bin/env bash
# flowd's Kubernetes manifests, offline (no cluster): kustomize renders each
# overlay; every object validates against the Kubernetes schemas
# (kubernetes-models, from `npm install` in tests/k8s); the manifests agree
# with server/config.c and server/metrics/met-flowd.c (check_manifests.py);
# yamllint passes; the image entrypoint and scripts/image behave. One TAP
# line per case.
set -uo pipefail

RUN=${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE}
[[ -n "$RUN" ]] || RUN=$(cd "$(dirname "$0")/../.." && pwd)
# The source tree, for what no Bazel package exports (config.c, docs,
# Containerfile, scripts) and for node_modules: found through a runfile's
# symlink.
SRC=$(cd "$(dirname "$(readlink -f "$RUN/tests/k8s/package.json")")/../.." && pwd)
NODE_MODULES=${FLOWD_K8S_NODE_MODULES:-$SRC/tests/k8s/node_modules}
TMP=$(mktemp -d "${TEST_TMPDIR:-/tmp}/k8s-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
FAILED=0

ok() { echo "ok - $1"; }
not_ok() {
    echo "not ok - $1"
    FAILED=$((FAILED + 1))
    [[ -n "${2:-}" ]] && sed 's/^/#   /' <<<"$2" | head -40
    return 0
}
skip() { echo "ok - $1 # SKIP $2"; }

# kustomize refuses files that resolve outside the kustomization root, and
# runfiles are symlinks: work on a dereferenced copy.
cp -rL "$RUN/k8s" "$TMP/k8s"

rendered=()
if ! command -v kubectl >/dev/null; then
    skip "kubectl kustomize renders the overlays" "kubectl is not installed"
else
    for dir in base overlays/dev overlays/prod monitoring; do
        name=${dir#overlays/}
        if out=$(kubectl kustomize "$TMP/k8s/$dir" 2>&1 >"$TMP/$name.yaml"); then
            ok "kubectl kustomize k8s/$dir renders ($(grep -c '^kind:' "$TMP/$name.yaml") objects)"
            [[ $name != monitoring ]] && rendered+=("$name=$TMP/$name.yaml")
        else
            not_ok "kubectl kustomize k8s/$dir renders" "$out"
        fi
    done
fi

if [[ ${#rendered[@]} -gt 0 ]]; then
    if ! command -v node >/dev/null; then
        skip "objects validate against the Kubernetes schemas" "node is not installed"
    elif [[ ! -d "$NODE_MODULES/kubernetes-models" ]]; then
        skip "objects validate against the Kubernetes schemas" \
            "no $NODE_MODULES: run npm install in tests/k8s (scripts/test does)"
    else
        out=$(NODE_PATH="$NODE_MODULES" node "$RUN/tests/k8s/validate.js" "${rendered[@]}" \
            "monitoring=$TMP/monitoring.yaml" 2>&1)
        rc=$?
        echo "$out"
        [[ $rc -eq 0 ]] || grep -q '^not ok' <<<"$out" || not_ok "schema validation ran" "$out"
        FAILED=$((FAILED + $(grep -c '^not ok' <<<"$out")))
    fi

    if ! /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
        skip "manifests agree with server/config.c and met-flowd.c" "python3-yaml is not installed"
    elif [[ ! -f "$SRC/docs/operations.md" ]]; then
        not_ok "docs/operations.md exists (the alert runbook)"
    else
        out=$(/usr/bin/python3 "$RUN/tests/k8s/check_manifests.py" \
            --config-c "$SRC/server/config.c" --met-flowd "$RUN/server/metrics/met-flowd.c" \
            --operations "$SRC/docs/operations.md" --dashboard "$TMP/k8s/monitoring/grafana-dashboard.json" \
            --monitoring "$TMP/monitoring.yaml" "${rendered[@]}" 2>&1)
        echo "$out"
        grep -q '^ok' <<<"$out" || not_ok "check_manifests.py ran" "$out"
        FAILED=$((FAILED + $(grep -c '^not ok' <<<"$out")))
    fi
fi

if ! command -v yamllint >/dev/null; then
    skip "yamllint passes on k8s/" "yamllint is not installed"
elif out=$(cd "$TMP" && yamllint -f parsable -c k8s/.yamllint k8s 2>&1); then
    ok "yamllint passes on k8s/ (k8s/.yamllint)"
else
    not_ok "yamllint passes on k8s/ (k8s/.yamllint)" "$out"
fi

if /usr/bin/python3 -m json.tool "$TMP/k8s/monitoring/grafana-dashboard.json" >/dev/null 2>"$TMP/err"; then
    ok "the Grafana dashboard is valid JSON"
else
    not_ok "the Grafana dashboard is valid JSON" "$(cat "$TMP/err")"
fi

# The entrypoint removes empty FLOWD_* variables (a ConfigMap key that is
# off) and keeps the rest; a stand-in prints the environment flowd would get.
sed 's#^exec /usr/local/bin/flowd#exec env#' "$TMP/k8s/image/flowd-entrypoint" >"$TMP/entrypoint"
env_out=$(env -i PATH=/usr/bin:/bin FLOWD_TLS_CERT= FLOWD_PLUGIN_DIR= FLOWD_LISTEN=0.0.0.0:50051 OTHER= \
    sh "$TMP/entrypoint" 2>&1)
if grep -qx 'FLOWD_LISTEN=0.0.0.0:50051' <<<"$env_out" && grep -qx 'OTHER=' <<<"$env_out" &&
    ! grep -q '^FLOWD_TLS_CERT\|^FLOWD_PLUGIN_DIR' <<<"$env_out"; then
    ok "the image entrypoint unsets empty FLOWD_* variables and keeps the others"
else
    not_ok "the image entrypoint unsets empty FLOWD_* variables and keeps the others" "$env_out"
fi

out=$(CONTAINER_ENGINE=none "$SRC/scripts/image" 2>&1)
rc=$?
if [[ $rc -eq 0 ]] && grep -q "no working container engine" <<<"$out"; then
    ok "scripts/image without a container engine says so and exits 0"
else
    not_ok "scripts/image without a container engine says so and exits 0" "rc $rc: $out"
fi

cf=$SRC/Containerfile
problems=""
[[ $(grep -c '^FROM ' "$cf") -eq 2 ]] || problems+="not two stages (build, runtime); "
runtime=$(sed -n '/^FROM .*debian:12-slim/,$p' "$cf" | grep -v '^ *#')
[[ -n "$runtime" ]] || problems+="the runtime stage is not debian:12-slim; "
grep -q 'python3' <<<"$runtime" || problems+="no python3 in the runtime stage; "
grep -q -- '-dev\b' <<<"$runtime" && problems+="a -dev package in the runtime stage; "
grep -q 'bazel' <<<"$runtime" && problems+="bazel in the runtime stage; "
grep -q 'ENTRYPOINT.*tini.*flowd-entrypoint' <<<"$runtime" || problems+="ENTRYPOINT is not tini + flowd-entrypoint; "
for port in 50051 50052 9090; do
    grep -q "EXPOSE.*$port" <<<"$runtime" || problems+="port $port not exposed; "
done
if [[ -z "$problems" ]]; then
    ok "Containerfile: Bazel build stage, debian:12-slim runtime with shared libraries and python3"
else
    not_ok "Containerfile: Bazel build stage, debian:12-slim runtime with shared libraries and python3" "$problems"
fi

[[ $FAILED -eq 0 ]]
