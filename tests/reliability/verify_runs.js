// Checks the runs a load test got acknowledged, through grpc-js (an
// independent gRPC stack). Usage:
//   node verify_runs.js ADDR REPO_ROOT ACKED_FILE [--wait SECONDS]
// ACKED_FILE has one line per acknowledged submission: "RUN_ID KIND KEY".
// KIND says what the run must end as:
//   ok, fast -> SUCCEEDED; fail -> FAILED with NONZERO_EXIT;
//   oom -> FAILED with OOM_KILLED; timeout -> FAILED with TIMEOUT.
// Prints TAP lines (summaries with counts and the first offenders, not one
// line per run).
'use strict';
const fs = require('fs');
const path = require('path');
const modules = process.env.FLOWD_NODE_MODULES || path.join(__dirname, '../js/node_modules');
const grpc = require(path.join(modules, '@grpc/grpc-js'));
const loader = require(path.join(modules, '@grpc/proto-loader'));

const [addr, root, ackedFile, ...rest] = process.argv.slice(2);
const waitSeconds = rest[0] === '--wait' ? Number(rest[1]) : 120;
const opts = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };
const pkg = grpc.loadPackageDefinition(loader.loadSync(
  [path.join(root, 'proto/flowd/v1/service.proto')], { ...opts, includeDirs: [path.join(root, 'proto')] }));
const svc = new pkg.flowd.v1.WorkflowService(addr, grpc.credentials.createInsecure(),
  { 'grpc.max_receive_message_length': 64 << 20 });

let passed = 0, failed = 0;
const ok = (name) => { console.log(`ok - ${name}`); passed++; };
const notOk = (name, lines) => {
  console.log(`not ok - ${name}`);
  for (const l of (lines || []).slice(0, 10)) console.log(`#   ${l}`);
  if (lines && lines.length > 10) console.log(`#   ... and ${lines.length - 10} more`);
  failed++;
};
const check = (name, bad) => (bad.length ? notOk(`${name} (${bad.length} wrong)`, bad) : ok(name));
const deadline = (s) => ({ deadline: Date.now() + s * 1000 });
const unary = (m, req, s = 30) => new Promise((res) =>
  svc[m](req, deadline(s), (err, r) => res({ err, r })));
const watch = (runId, s = 60) => new Promise((res) => {
  const events = [];
  const call = svc.WatchRun({ run_id: runId, after_seq: 0 }, deadline(s));
  call.on('data', (e) => events.push(e));
  call.on('error', (err) => res({ events, err }));
  call.on('end', () => res({ events, err: null }));
});
const TERMINAL_RUN = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const TERMINAL_EV = new Set(['RUN_SUCCEEDED', 'RUN_FAILED', 'RUN_CANCELLED']);
const EXPECT = {
  ok: ['SUCCEEDED'], fast: ['SUCCEEDED'],
  fail: ['FAILED', 'NONZERO_EXIT'], oom: ['FAILED', 'OOM_KILLED'], timeout: ['FAILED', 'TIMEOUT'],
};

async function pool(items, n, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) { const k = i++; await fn(items[k], k); }
  }));
}

async function listAll() {
  const runs = [];
  let token = '';
  for (let pages = 0; pages < 1000; pages++) {
    const { err, r } = await unary('ListRuns', { page_size: 500, page_token: token });
    if (err) throw err;
    runs.push(...r.runs);
    token = r.next_page_token;
    if (!token) break;
  }
  return runs;
}

async function main() {
  const acked = fs.readFileSync(ackedFile, 'utf8').split('\n').filter(Boolean).map((l) => {
    const [id, kind, key] = l.split(' ');
    return { id, kind, key };
  });

  // 1. Every acknowledged run reaches a terminal state (wait for stragglers).
  const t0 = Date.now();
  let pending = acked;
  const runs = new Map();
  while (pending.length && Date.now() - t0 < waitSeconds * 1000) {
    const still = [];
    await pool(pending, 16, async (a) => {
      const { err, r } = await unary('GetRun', { run_id: a.id });
      if (!err && TERMINAL_RUN.has(r.status)) runs.set(a.id, r);
      else still.push(a);
    });
    pending = still;
    if (pending.length) await new Promise((res) => setTimeout(res, 1000));
  }
  check(`every acknowledged run (${acked.length}) is terminal within ${waitSeconds} s of the end of the load`,
    pending.map((a) => `${a.id} (${a.kind}) is not terminal`));

  // 2. Each ends as its workflow says.
  const wrong = [];
  for (const a of acked) {
    const r = runs.get(a.id);
    if (!r) continue;
    const [status, kind] = EXPECT[a.kind] || ['?'];
    const failures = (r.nodes || []).map((n) => n.failure && n.failure.kind).filter((k) => k && k !== 'KIND_UNSPECIFIED');
    if (r.status !== status || (kind && !failures.includes(kind)))
      wrong.push(`${a.id} (${a.kind}): ${r.status}, node failures [${failures}] ${r.failure ? r.failure.message : ''}`);
  }
  check('every run ends as its workflow must (succeeded, failed, OOM-killed, timed out)', wrong);

  // 3. Events: seq 1..N without gaps, exactly one terminal event, the last one,
  //    and it agrees with GetRun.
  const badEvents = [];
  let nEvents = 0;
  await pool(acked, 16, async (a) => {
    const { events, err } = await watch(a.id);
    nEvents += events.length;
    const why = [];
    if (err) why.push(`WatchRun ended with ${err.code} ${err.details}`);
    events.forEach((e, i) => { if (Number(e.seq) !== i + 1) why.push(`event ${i} has seq ${e.seq}`); });
    const terms = events.filter((e) => TERMINAL_EV.has(e.type));
    if (terms.length !== 1) why.push(`${terms.length} terminal events`);
    if (events.length && !TERMINAL_EV.has(events[events.length - 1].type)) why.push('the last event is not terminal');
    const r = runs.get(a.id);
    if (r && terms.length === 1 && terms[0].type !== `RUN_${r.status}`) why.push(`${terms[0].type} but GetRun says ${r.status}`);
    if (events.length && events[0].type !== 'RUN_QUEUED') why.push(`the first event is ${events[0].type}`);
    // Per node: every NODE_STARTED is closed (succeeded, failed, or retrying
    // after an interrupted attempt) before the node starts again, and the
    // last attempt ends before the run does.
    const open = new Map();
    for (const e of events) {
      if (e.type === 'NODE_STARTED') {
        if (open.get(e.node_id)) why.push(`node ${e.node_id} started again at seq ${e.seq} without an end`);
        open.set(e.node_id, true);
      } else if (['NODE_SUCCEEDED', 'NODE_FAILED', 'NODE_RETRYING'].includes(e.type)) {
        if (!open.get(e.node_id) && e.type !== 'NODE_FAILED')
          why.push(`${e.type} of ${e.node_id} at seq ${e.seq} without a NODE_STARTED since its last end`);
        open.set(e.node_id, false);
      }
    }
    for (const [n, o] of open) if (o) why.push(`node ${n} started but never ended`);
    if (why.length) badEvents.push(`${a.id} (${a.kind}): ${why.slice(0, 3).join('; ')}`);
  });
  check(`WatchRun from 0 replays every run with no gap and exactly one terminal event (${nEvents} events)`, badEvents);

  // 4. ListRuns: no duplicate run per submission key, nothing left running.
  let all = [];
  try {
    all = await listAll();
  } catch (e) {
    notOk('ListRuns pages through every run', [`${e.code} ${e.details}`]);
  }
  const byKey = new Map();
  for (const r of all) {
    const key = r.labels && r.labels.lf_key;
    if (key) byKey.set(key, (byKey.get(key) || []).concat(r.run_id));
  }
  const dups = [...byKey].filter(([, ids]) => ids.length > 1).map(([k, ids]) => `${k}: ${ids.join(' ')}`);
  check(`one run per submission key in ListRuns (${all.length} runs listed, ${byKey.size} keys)`, dups);
  const ids = new Set(all.map((r) => r.run_id));
  check('ListRuns lists every acknowledged run', acked.filter((a) => !ids.has(a.id)).map((a) => a.id));
  const ackedKeyIds = new Map(acked.map((a) => [a.key, a.id]));
  check('an acknowledged key maps to the run the client was told',
    acked.filter((a) => byKey.has(a.key) && !byKey.get(a.key).includes(ackedKeyIds.get(a.key))).map((a) => a.key));
  check('no run is left queued or running', all.filter((r) => !TERMINAL_RUN.has(r.status)).map((r) => `${r.run_id} ${r.status}`));
  const counts = {};
  for (const r of runs.values()) counts[r.status] = (counts[r.status] || 0) + 1;
  console.log(`# statuses: ${JSON.stringify(counts)}`);
  svc.close();
}

main().then(() => process.exit(failed ? 1 : 0), (e) => { notOk('verify_runs', [String(e.stack || e)]); process.exit(1); });
