// Drives a running flowd with grpc-js (an independent gRPC implementation:
// pure JavaScript HTTP/2) loading flowd's own .proto files at run time.
// Usage: node client.test.js HOST:PORT REPO_ROOT
// Prints one TAP line per case.
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const [addr, root] = process.argv.slice(2);
const opts = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };
const pkg = grpc.loadPackageDefinition(loader.loadSync(
  [path.join(root, 'proto/flowd/v1/service.proto'), 'grpc/health/v1/health.proto'],
  { ...opts, includeDirs: [path.join(root, 'proto'), '/usr/share/grpc-proto'] }));
const creds = grpc.credentials.createInsecure();
const svc = new pkg.flowd.v1.WorkflowService(addr, creds);
const health = new pkg.grpc.health.v1.Health(addr, creds);

let passed = 0, failed = 0;
function ok(name) { console.log(`ok - ${name}`); passed++; }
function notOk(name, why) { console.log(`not ok - ${name}`); console.log(`#   ${why}`); failed++; }
function check(name, cond, why) { cond ? ok(name) : notOk(name, why || 'condition false'); }
const unary = (client, m, req) => new Promise((res) => client[m](req, (err, r) => res({ err, r })));
const collect = (call) => new Promise((res) => {
  const events = [];
  call.on('data', (e) => events.push(e));
  call.on('error', (err) => res({ events, err }));
  call.on('end', () => res({ events, err: null }));
});

const node = (id, kind, config) => ({ id, kind, config_json: JSON.stringify(config || {}) });
const chain = {
  name: 'js-chain',
  nodes: [node('a', 'noop', { params: { n: 1 } }),
    node('b', 'python', { code: "import time\nfor i in range(5):\n    report_progress(i + 1, 5, 'step')\n    time.sleep(0.05)\nresult = n + 1" }),
    node('c', 'noop')],
  connections: [{ from: 'a', to: 'b', mapping: {} }, { from: 'b', to: 'c', mapping: { result: 'value' } }],
};

function seqsContiguous(events, from) {
  return events.every((e, i) => Number(e.seq) === from + i);
}

async function main() {
  let r = await unary(health, 'Check', { service: '' });
  check('Health.Check("") is SERVING', !r.err && r.r.status === 'SERVING', r.err && r.err.message);
  r = await unary(health, 'Check', { service: 'flowd.v1.WorkflowService' });
  check('Health.Check(flowd.v1.WorkflowService) is SERVING', !r.err && r.r.status === 'SERVING');
  r = await unary(health, 'Check', { service: 'nope' });
  check('Health.Check(unknown) is NOT_FOUND', r.err && r.err.code === grpc.status.NOT_FOUND);

  const watch = health.Watch({ service: 'flowd.v1.WorkflowService' });
  const watched = await new Promise((res) => {
    watch.on('data', (m) => res(m.status));
    watch.on('error', () => res('error'));
  });
  watch.cancel();
  check('Health.Watch streams the current status', watched === "SERVING", watched);

  r = await unary(svc, 'ValidateWorkflow', { workflow: { name: 'bad', nodes: [node('x', 'nope'), node('x', 'noop')] } });
  check('ValidateWorkflow reports every problem', !r.err && !r.r.valid && r.r.diagnostics.length === 2,
    JSON.stringify(r.r || r.err));
  check('each diagnostic has a path', !r.err && r.r.diagnostics.every((d) => d.path.startsWith('nodes[')));

  r = await unary(svc, 'SubmitRun', { workflow: { name: 'bad', nodes: [] } });
  check('SubmitRun of an invalid workflow is INVALID_ARGUMENT', r.err && r.err.code === grpc.status.INVALID_ARGUMENT);

  const ex = await collect(svc.ExecuteRun({ workflow: chain, inputs_json: '' }));
  const types = ex.events.map((e) => e.type);
  check('ExecuteRun streams to RUN_SUCCEEDED', !ex.err && types[types.length - 1] === 'RUN_SUCCEEDED',
    ex.err ? ex.err.message : types.join(','));
  check('ExecuteRun seq starts at 1 without gaps', seqsContiguous(ex.events, 1));
  check('NODE_PROGRESS events arrive from the python node', types.includes('NODE_PROGRESS'));
  const last = ex.events[ex.events.length - 1];
  const outputs = last ? JSON.parse(last.output_json) : {};
  check('the data flowed through the mapping', outputs.c && outputs.c.value === 2, last && last.output_json);
  const runId = ex.events.length ? ex.events[0].run_id : '';

  r = await unary(svc, 'GetRun', { run_id: runId });
  check('GetRun returns the finished run with its nodes', !r.err && r.r.status === 'SUCCEEDED' && r.r.nodes.length === 3);
  r = await unary(svc, 'GetRun', { run_id: 'r-doesnotexist' });
  check('GetRun of an unknown run is NOT_FOUND', r.err && r.err.code === grpc.status.NOT_FOUND);

  // Resume: drop the client after a few events, then WatchRun from the last seq seen.
  const call = svc.ExecuteRun({ workflow: chain, inputs_json: '' });
  const first = await new Promise((res) => {
    const got = [];
    call.on('data', (e) => { got.push(e); if (got.length === 4) { call.cancel(); res(got); } });
    call.on('error', () => res(got));
  });
  const after = Number(first[first.length - 1].seq);
  const w = await collect(svc.WatchRun({ run_id: first[0].run_id, after_seq: after }));
  const all = first.concat(w.events);
  check('WatchRun(after_seq) resumes a dropped stream', !w.err && w.events.length > 0, w.err && w.err.message);
  check('no gap and no duplicate across the reconnect', seqsContiguous(all, 1), all.map((e) => e.seq).join(','));
  check('the resumed stream ends with the terminal event', all[all.length - 1].type === 'RUN_SUCCEEDED');

  r = await unary(svc, 'ListRuns', { page_size: 2, page_token: 'r-nosuchrun' });
  check('a bad page token is INVALID_ARGUMENT', r.err && r.err.code === grpc.status.INVALID_ARGUMENT,
    r.err && r.err.message);

  // Paging.
  for (let i = 0; i < 3; i++) await unary(svc, 'SubmitRun', { workflow: { name: 'page', nodes: [node('n', 'noop')] } });
  const p1 = await unary(svc, 'ListRuns', { page_size: 2 });
  const p2 = await unary(svc, 'ListRuns', { page_size: 2, page_token: p1.r.next_page_token });
  check('ListRuns pages with an opaque token', !p1.err && p1.r.runs.length === 2 && p1.r.next_page_token !== '' &&
    !p2.err && p2.r.runs.length === 2 && p2.r.runs[0].run_id !== p1.r.runs[1].run_id);

  // Idempotency.
  const idem = { workflow: { name: 'idem', nodes: [node('n', 'noop')] }, idempotency_key: `k-${Date.now()}` };
  const s1 = await unary(svc, 'SubmitRun', idem);
  const s2 = await unary(svc, 'SubmitRun', idem);
  check('SubmitRun with a seen idempotency key returns the same run, deduplicated',
    !s1.err && !s2.err && s1.r.run_id === s2.r.run_id && s2.r.deduplicated && !s1.r.deduplicated);

  r = await unary(svc, 'GetServerInfo', {});
  check('GetServerInfo names the caller and the node kinds', !r.err && r.r.caller.user === 'local' &&
    r.r.node_kinds.includes('python') && r.r.sandbox_mode !== '');

  // Raw calls: an unknown method, garbage bytes, an oversized message.
  const raw = new grpc.Client(addr, creds);
  const rawCall = (method, buf) => new Promise((res) => raw.makeUnaryRequest(method, (x) => x, (x) => x, buf,
    (err, resp) => res({ err, resp })));
  r = await rawCall('/flowd.v1.WorkflowService/NoSuchMethod', Buffer.from([]));
  check('an unknown method is UNIMPLEMENTED naming it', r.err && r.err.code === grpc.status.UNIMPLEMENTED &&
    r.err.details.includes('NoSuchMethod'));
  r = await rawCall('/flowd.v1.WorkflowService/GetRun', Buffer.from([0xff, 0xff, 0xff, 0x07, 0x01]));
  check('garbage bytes are INVALID_ARGUMENT', r.err && r.err.code === grpc.status.INVALID_ARGUMENT);
  r = await rawCall('/flowd.v1.WorkflowService/GetRun', Buffer.alloc(20 * 1024 * 1024, 0x41));
  check('an oversized message is RESOURCE_EXHAUSTED', r.err && r.err.code === grpc.status.RESOURCE_EXHAUSTED);
  r = await unary(health, 'Check', { service: '' });
  check('the server still serves after bad input', !r.err && r.r.status === 'SERVING');

  // Cancel.
  const slow = { name: 'slow', nodes: [node('s', 'python', { code: 'import time\ntime.sleep(30)\nresult = 1' })] };
  const sub = await unary(svc, 'SubmitRun', { workflow: slow });
  await new Promise((res) => setTimeout(res, 300));
  r = await unary(svc, 'CancelRun', { run_id: sub.r.run_id, reason: 'test' });
  check('CancelRun ends a running run CANCELLED', !r.err && r.r.status === 'CANCELLED', r.err ? r.err.message : r.r.status);

  console.log(`# ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
main().catch((e) => { console.log(`not ok - unexpected error\n#   ${e.stack}`); process.exit(1); });
