// Validates every object of rendered manifests against the Kubernetes
// OpenAPI schemas, offline, with kubernetes-models (and its Prometheus
// Operator package for ServiceMonitor and PrometheusRule).
//   node validate.js NAME=FILE...     one TAP line per file
// Exit status 1 when an object is invalid or of a kind with no schema.
"use strict";

const fs = require("fs");
const yaml = require("js-yaml");

// apiVersion "apps/v1" -> module "kubernetes-models/apps/v1"; core "v1" ->
// "kubernetes-models/v1"; CRDs from their own packages.
const crdPackages = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

function modelFor(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const pkg = crdPackages[group] || "kubernetes-models";
  const mod = require(`${pkg}/${apiVersion}/${kind}`);
  return mod[kind] || mod.default;
}

function validateObject(obj) {
  if (!obj || !obj.apiVersion || !obj.kind) return "an object without apiVersion or kind";
  let Model;
  try {
    Model = modelFor(obj.apiVersion, obj.kind);
  } catch (e) {
    return `${obj.apiVersion} ${obj.kind}: no schema (${e.code || e.message})`;
  }
  try {
    new Model(obj).validate();
    return null;
  } catch (e) {
    const details = (e.errors || []).map((x) => `${x.instancePath} ${x.message}`).join("; ");
    return `${obj.kind}/${obj.metadata && obj.metadata.name}: ${details || e.message}`;
  }
}

let failed = 0;
for (const arg of process.argv.slice(2)) {
  const eq = arg.indexOf("=");
  const name = arg.slice(0, eq);
  const docs = yaml.loadAll(fs.readFileSync(arg.slice(eq + 1), "utf8")).filter((d) => d);
  const problems = docs.map(validateObject).filter((p) => p);
  if (problems.length === 0 && docs.length > 0) {
    console.log(`ok - ${name}: all ${docs.length} objects valid against the Kubernetes schemas`);
  } else {
    failed++;
    console.log(`not ok - ${name}: objects valid against the Kubernetes schemas`);
    for (const p of problems.length ? problems : ["no objects"]) console.log(`#   ${p}`);
  }
}
process.exit(failed ? 1 : 0);
