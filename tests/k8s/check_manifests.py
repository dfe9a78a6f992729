#!/usr/bin/python3
"""Checks flowd's rendered manifests against the code they deploy.

  check_manifests.py --config-c server/config.c --met-flowd met-flowd.c
      --operations docs/operations.md --dashboard grafana-dashboard.json
      --monitoring monitoring.yaml NAME=rendered.yaml...

The settings come from server/config.c's table, the metric names from
server/metrics/met-flowd.c's, so a renamed variable or metric fails here.
Prints one TAP line per case; exits 1 when one fails.
"""
import argparse
import json
import re
import sys

import yaml

FAILED = 0


def tap(name, problems):
    global FAILED
    if problems:
        FAILED += 1
        print(f"not ok - {name}")
        for p in problems:
            print(f"#   {p}")
    else:
        print(f"ok - {name}")


# ---- sources of truth ----

VAR_RE = re.compile(
    r'\{"(FLOWD_[A-Z0-9_]+)",\s*(VAR_\w+),\s*S\(\w+\),\s*(NULL|"[^"]*"),\s*(\w+),\s*(\w+),\s*(NULL|"[^"]*")')


def config_vars(path):
    """{name: {type, default, min, max, choices}} from config.c's table."""
    out = {}
    for m in VAR_RE.finditer(open(path).read()):
        name, typ, default, lo, hi, choices = m.groups()
        out[name] = {
            "type": typ,
            "default": None if default == "NULL" else default.strip('"'),
            "min": int(lo.rstrip("uU")),
            "max": int(hi.rstrip("uU")),
            "choices": None if choices == "NULL" else choices.strip('"').split("|"),
        }
    return out


FAMILY_RE = re.compile(r'\.name\s*=\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)",\s*\.type\s*=\s*MET_(COUNTER|GAUGE|HISTOGRAM)')


def declared_series(path):
    """The series names a scrape can hold: histograms give _bucket, _sum, _count."""
    names = set()
    for name, typ in FAMILY_RE.findall(open(path).read()):
        names |= {name + s for s in ("_bucket", "_sum", "_count")} if typ == "HISTOGRAM" else {name}
    return names


# ---- PromQL: the metric names an expression reads ----

KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
            "group_right", "inf", "nan", "Inf", "NaN"}


def metric_names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"'(?:[^'\\]|\\.)*'", "''", e)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    names = set()
    for m in re.finditer(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        if e[m.end():].lstrip().startswith("(") or m.group(0) in KEYWORDS:
            continue
        names.add(m.group(0))
    return names


# ---- helpers over rendered objects ----

def load(path):
    return [d for d in yaml.safe_load_all(open(path)) if d]


def of_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def the_config(docs):
    for cm in of_kind(docs, "ConfigMap"):
        if cm["metadata"]["name"].startswith("flowd-config"):
            return cm.get("data", {})
    return None


def container(docs):
    sts = of_kind(docs, "StatefulSet")
    return sts[0]["spec"]["template"]["spec"]["containers"][0] if sts else None


def addr_port(value):
    m = re.search(r":(\d+)$", value or "")
    return int(m.group(1)) if m else None


def quantity_bytes(q):
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9}
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", str(q))
    return float(m.group(1)) * units.get(m.group(2), 1) if m else None


# ---- the cases ----

def check_statefulset(name, docs):
    sts = of_kind(docs, "StatefulSet")
    problems = []
    if len(sts) != 1:
        problems.append(f"{len(sts)} StatefulSets")
    elif sts[0]["spec"].get("replicas") != 1:
        problems.append(f"replicas {sts[0]['spec'].get('replicas')}: SQLite has one writer")
    elif not sts[0]["spec"].get("volumeClaimTemplates"):
        problems.append("no volumeClaimTemplates for the store")
    tap(f"{name}: one StatefulSet, one replica, a volume claim for the store", problems)


def check_config_keys(name, cfg, vars_):
    if cfg is None:
        return tap(f"{name}: ConfigMap keys are exactly the FLOWD_* variables of server/config.c", ["no flowd-config"])
    missing = sorted(set(vars_) - set(cfg))
    extra = sorted(set(cfg) - set(vars_))
    problems = [f"missing {m}" for m in missing] + [f"not in config.c: {x}" for x in extra]
    tap(f"{name}: ConfigMap keys are exactly the {len(vars_)} FLOWD_* variables of server/config.c", problems)


def value_problem(var, v, value):
    if value == "":
        return None  # the entrypoint unsets it: the default applies
    if v["type"] == "VAR_UINT":
        if not value.isdigit() or not v["min"] <= int(value) <= v["max"]:
            return f"{var}={value!r}: want a whole number from {v['min']} to {v['max']}"
    elif v["type"] == "VAR_CHOICE" and value not in v["choices"]:
        return f"{var}={value!r}: want one of {'|'.join(v['choices'])}"
    elif v["type"] == "VAR_ADDR" and not value.startswith("unix:") and addr_port(value) is None:
        return f"{var}={value!r}: want host:port"
    return None


def check_config_values(name, cfg, vars_):
    cfg = cfg or {}
    problems = [p for var, v in vars_.items() if var in cfg for p in [value_problem(var, v, cfg[var])] if p]
    if bool(cfg.get("FLOWD_TLS_CERT")) != bool(cfg.get("FLOWD_TLS_KEY")):
        problems.append("FLOWD_TLS_CERT and FLOWD_TLS_KEY go together")
    if cfg.get("FLOWD_TLS_CLIENT_CA") and not cfg.get("FLOWD_TLS_CERT"):
        problems.append("FLOWD_TLS_CLIENT_CA needs FLOWD_TLS_CERT")
    if cfg.get("FLOWD_AUTH", "token") == "token" and not cfg.get("FLOWD_TOKENS_FILE"):
        problems.append("FLOWD_AUTH=token without FLOWD_TOKENS_FILE: flowd would refuse to start")
    tap(f"{name}: every ConfigMap value is one server/config.c accepts", problems)


def port_ok(port, ports):
    return port in ports.values() or port in ports


def check_probes(name, c):
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    problems = []
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = c.get(kind)
        if not probe:
            problems.append(f"no {kind}")
            continue
        for handler in ("grpc", "httpGet", "tcpSocket"):
            if handler in probe and not port_ok(probe[handler].get("port"), ports):
                problems.append(f"{kind} {handler} port {probe[handler].get('port')} is not a container port {ports}")
    tap(f"{name}: every probe's port is a container port", problems)
    problems = []
    for kind in ("livenessProbe", "readinessProbe"):
        if "grpc" not in (c.get(kind) or {}):
            problems.append(f"{kind} is not a native grpc probe")
    if (c.get("readinessProbe") or {}).get("grpc", {}).get("service") != "flowd.v1.WorkflowService":
        problems.append("readiness does not check service flowd.v1.WorkflowService")
    tap(f"{name}: liveness and readiness are gRPC probes, readiness for flowd.v1.WorkflowService", problems)


def check_listeners(name, cfg, c):
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    want = {"FLOWD_LISTEN": "grpc", "FLOWD_HTTP_LISTEN": "metrics"}
    problems = [f"{var} port {addr_port(cfg.get(var))} != container port {pn} ({ports.get(pn)})"
                for var, pn in want.items() if addr_port(cfg.get(var)) != ports.get(pn)]
    probe_port = (c.get("readinessProbe") or {}).get("grpc", {}).get("port")
    probe_port = ports.get(probe_port, probe_port)
    listeners = {addr_port(cfg.get(v)) for v in ("FLOWD_LISTEN", "FLOWD_HEALTH_LISTEN") if cfg.get(v)}
    if probe_port not in listeners:
        problems.append(f"the gRPC probes' port {probe_port} is neither FLOWD_LISTEN nor FLOWD_HEALTH_LISTEN")
    if cfg.get("FLOWD_TLS_CERT") and probe_port != addr_port(cfg.get("FLOWD_HEALTH_LISTEN")):
        problems.append("TLS is on, so the probes (plaintext only) must use FLOWD_HEALTH_LISTEN")
    for var in ("FLOWD_LISTEN", "FLOWD_HTTP_LISTEN", "FLOWD_HEALTH_LISTEN"):
        if cfg.get(var, "").startswith("127."):
            problems.append(f"{var}={cfg[var]} is loopback: the Service and the kubelet cannot reach it")
    tap(f"{name}: the ConfigMap's listeners match the container ports and the probes", problems)


def check_services(name, docs, c):
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    problems = []
    for svc in of_kind(docs, "Service"):
        for p in svc["spec"]["ports"]:
            if not port_ok(p.get("targetPort", p["port"]), ports):
                problems.append(f"Service {svc['metadata']['name']} port {p['name']} targets {p.get('targetPort')}")
    names = {p["port"] for s in of_kind(docs, "Service") for p in s["spec"]["ports"]}
    if not {50051, 9090} <= names:
        problems.append(f"Service ports {sorted(names)}: want 50051 (gRPC) and 9090 (metrics)")
    tap(f"{name}: Services expose 50051 and 9090 and target container ports", problems)


def check_grace(name, docs, cfg):
    sts = of_kind(docs, "StatefulSet")
    tgps = sts[0]["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30) if sts else 0
    grace = int(cfg.get("FLOWD_SHUTDOWN_GRACE_SECONDS") or 30)
    tap(f"{name}: terminationGracePeriodSeconds ({tgps}) above FLOWD_SHUTDOWN_GRACE_SECONDS ({grace})",
        [] if tgps > grace else ["the kubelet would SIGKILL flowd while nodes still drain"])


SANDBOX_CAPS = {"CHOWN", "DAC_OVERRIDE", "KILL", "SETGID", "SETUID"}


def check_security(name, docs, c):
    sc = c.get("securityContext", {})
    pod = of_kind(docs, "StatefulSet")[0]["spec"]["template"]["spec"]
    problems = []
    caps = sc.get("capabilities", {})
    if caps.get("drop") != ["ALL"]:
        problems.append(f"drop {caps.get('drop')}: want ['ALL']")
    if set(caps.get("add", [])) != SANDBOX_CAPS:
        problems.append(f"add {caps.get('add')}: want exactly {sorted(SANDBOX_CAPS)}")
    for key, want in (("privileged", False), ("allowPrivilegeEscalation", False), ("readOnlyRootFilesystem", True)):
        if sc.get(key) != want:
            problems.append(f"{key}: {sc.get(key)}, want {want}")
    seccomp = (sc.get("seccompProfile") or pod.get("securityContext", {}).get("seccompProfile") or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        problems.append(f"seccompProfile {seccomp}: want RuntimeDefault or Localhost")
    for key in ("hostPID", "hostIPC", "hostNetwork"):
        if pod.get(key):
            problems.append(f"{key} is set")
    if any("hostPath" in v for v in pod.get("volumes", [])):
        problems.append("a hostPath volume")
    if pod.get("automountServiceAccountToken") is not False:
        problems.append("the service account token is mounted")
    tap(f"{name}: securityContext drops ALL, adds only {' '.join(sorted(SANDBOX_CAPS))}, read-only root", problems)


def under(path, mounts):
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)


def check_volumes(name, docs, cfg, c):
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    problems = []
    for path in (cfg.get("FLOWD_DATA_DIR") or "/var/lib/flowd", "/tmp"):
        if path not in mounts or mounts[path].get("readOnly"):
            problems.append(f"{path} is not a writable volume (the root filesystem is read-only)")
    store = cfg.get("FLOWD_STORE", "")
    if store.startswith("sqlite:") and not under(store[7:], [cfg.get("FLOWD_DATA_DIR", "")]):
        problems.append(f"FLOWD_STORE {store} is outside FLOWD_DATA_DIR's volume")
    for var in ("FLOWD_TOKENS_FILE", "FLOWD_TENANTS_FILE", "FLOWD_SECRETS_DIR", "FLOWD_TLS_CERT", "FLOWD_TLS_KEY",
                "FLOWD_TLS_CLIENT_CA", "FLOWD_PLUGIN_DIR"):
        if cfg.get(var) and not under(cfg[var], mounts):
            problems.append(f"{var}={cfg[var]} is under no volume mount")
    claims = {t["metadata"]["name"] for s in of_kind(docs, "StatefulSet") for t in s["spec"].get("volumeClaimTemplates", [])}
    vols = {v["name"] for v in of_kind(docs, "StatefulSet")[0]["spec"]["template"]["spec"].get("volumes", [])} | claims
    problems += [f"mount {m['name']} has no volume" for m in mounts.values() if m["name"] not in vols]
    cms = {cm["metadata"]["name"] for cm in of_kind(docs, "ConfigMap")}
    for v in of_kind(docs, "StatefulSet")[0]["spec"]["template"]["spec"].get("volumes", []):
        if "configMap" in v and v["configMap"]["name"] not in cms and not v["configMap"].get("optional"):
            problems.append(f"volume {v['name']} uses ConfigMap {v['configMap']['name']}, which is not rendered")
    for ref in c.get("envFrom", []):
        if "configMapRef" in ref and ref["configMapRef"]["name"] not in cms:
            problems.append(f"envFrom ConfigMap {ref['configMapRef']['name']} is not rendered")
    tap(f"{name}: data, /tmp and every configured path are volumes", problems)


def check_memory(name, cfg, c):
    limit = quantity_bytes(c.get("resources", {}).get("limits", {}).get("memory", "0"))
    workers = int(cfg.get("FLOWD_MAX_WORKERS") or 0)
    per_node = int(cfg.get("FLOWD_MEMORY_LIMIT_MB") or 512) * 2**20
    problems = []
    if workers == 0:
        problems.append("FLOWD_MAX_WORKERS=0 sizes by the node's CPUs, not the pod's")
    elif not limit or workers * per_node >= limit:
        problems.append(f"{workers} workers x {per_node >> 20} MiB do not fit the memory limit {limit}")
    res = c.get("resources", {})
    if res.get("requests", {}).get("memory") != res.get("limits", {}).get("memory"):
        problems.append("memory request != limit (not Guaranteed QoS)")
    tap(f"{name}: the memory limit holds FLOWD_MAX_WORKERS x FLOWD_MEMORY_LIMIT_MB", problems)


def check_overlay(name, path, vars_):
    docs = load(path)
    cfg = the_config(docs)
    c = container(docs)
    check_statefulset(name, docs)
    check_config_keys(name, cfg, vars_)
    if cfg is None or c is None:
        return
    check_config_values(name, cfg, vars_)
    check_probes(name, c)
    check_listeners(name, cfg, c)
    check_services(name, docs, c)
    check_grace(name, docs, cfg)
    check_security(name, docs, c)
    check_volumes(name, docs, cfg, c)
    check_memory(name, cfg, c)


def slug(heading):
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def check_monitoring(path, declared, operations, dashboard, base_path):
    docs = load(path)
    rules = [r for pr in of_kind(docs, "PrometheusRule") for g in pr["spec"]["groups"] for r in g["rules"]]
    problems = [f"{r.get('alert')}: {n} is not declared" for r in rules for n in sorted(metric_names(r["expr"]))
                if n not in declared]
    tap(f"alert rules ({len(rules)}) use only metric names declared in server/metrics/met-flowd.c",
        problems if rules else ["no rules"])

    anchors = {slug(m) for m in re.findall(r"^#+\s+(.*)$", open(operations).read(), re.M)}
    problems = []
    for r in rules:
        url = r.get("annotations", {}).get("runbook_url", "")
        if r.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
            problems.append(f"{r['alert']}: no severity")
        if not r.get("annotations", {}).get("summary"):
            problems.append(f"{r['alert']}: no summary")
        if "#" not in url or url.split("#")[1] not in anchors:
            problems.append(f"{r['alert']}: runbook {url!r} has no heading in docs/operations.md")
    tap("every alert has a severity, a summary and a runbook section in docs/operations.md", problems)

    wanted = {"error rate": "flowd_runs_total", "dead letters": "flowd_dead_letters_total",
              "OOM kills": "flowd_oom_kills_total", "circuit open": "flowd_circuit_state",
              "queue backlog": "flowd_queue_depth", "not ready": "flowd_ready"}
    used = set().union(*[metric_names(r["expr"]) for r in rules]) if rules else set()
    tap("alerts cover error rate, dead letters, OOM kills, open circuits, queue backlog, not ready",
        [f"no alert on {what} ({m})" for what, m in wanted.items() if m not in used])

    dash = json.load(open(dashboard))
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    problems = [f"{n} is not declared" for e in exprs for n in sorted(metric_names(e)) if n not in declared]
    tap(f"the Grafana dashboard's queries ({len(exprs)}) use only declared metric names",
        problems if exprs else ["no queries"])

    base = load(base_path)
    sm = of_kind(docs, "ServiceMonitor")
    problems = []
    for m in sm:
        sel = m["spec"]["selector"]["matchLabels"]
        svcs = [s for s in of_kind(base, "Service") if sel.items() <= s["metadata"].get("labels", {}).items()]
        ports = {p["name"] for s in svcs for p in s["spec"]["ports"]}
        for ep in m["spec"]["endpoints"]:
            if ep.get("port") not in ports:
                problems.append(f"endpoint port {ep.get('port')} is not a port of {[s['metadata']['name'] for s in svcs]}")
    tap("the ServiceMonitor scrapes a port of the flowd Service", problems if sm else ["no ServiceMonitor"])


def check_docs(operations, vars_, met_flowd):
    text = open(operations).read()
    tap("docs/operations.md documents every FLOWD_* variable of server/config.c",
        [f"{v} is not mentioned" for v in vars_ if f"`{v}`" not in text])
    families = [name for name, _ in FAMILY_RE.findall(open(met_flowd).read())]
    tap(f"docs/operations.md documents every metric family ({len(families)}) of met-flowd.c",
        [f"{f} is not mentioned" for f in families if f"`{f}`" not in text])


def main():
    ap = argparse.ArgumentParser()
    for opt in ("config-c", "met-flowd", "operations", "dashboard", "monitoring"):
        ap.add_argument("--" + opt, required=True)
    ap.add_argument("rendered", nargs="+", help="NAME=FILE of a rendered overlay")
    a = ap.parse_args()
    vars_ = config_vars(a.config_c)
    declared = declared_series(a.met_flowd)
    tap(f"server/config.c's table parsed ({len(vars_)} FLOWD_* variables)", [] if len(vars_) >= 20 else ["too few"])
    tap(f"server/metrics/met-flowd.c's families parsed ({len(declared)} series names)",
        [] if "flowd_runs_total" in declared else ["flowd_runs_total not found"])
    overlays = dict(r.split("=", 1) for r in a.rendered)
    for name, path in overlays.items():
        check_overlay(name, path, vars_)
    check_monitoring(a.monitoring, declared, a.operations, a.dashboard, next(iter(overlays.values())))
    check_docs(a.operations, vars_, a.met_flowd)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
