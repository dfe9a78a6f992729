// Bad input corpus against a running flowd (docs/reliability.md). Each case
// sends something malformed or hostile and expects a clear status; after
// each, the gRPC health service must still answer SERVING and the server
// process must be alive. Usage:
//   node bad_input.js ADDR REPO_ROOT FLOWD_PID
// Prints one TAP line per case, plus "# " lines with timings and the
// server's memory.
'use strict';
const fs = require('fs');
const net = require('net');
const http2 = require('http2');
const path = require('path');
const modules = process.env.FLOWD_NODE_MODULES || path.join(__dirname, '../js/node_modules');
const grpc = require(path.join(modules, '@grpc/grpc-js'));
const loader = require(path.join(modules, '@grpc/proto-loader'));
const protobuf = require(path.join(modules, 'protobufjs'));

const [addr, root, pidArg] = process.argv.slice(2);
const pid = Number(pidArg);
const opts = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };
const pkg = grpc.loadPackageDefinition(loader.loadSync(
  [path.join(root, 'proto/flowd/v1/service.proto'), 'grpc/health/v1/health.proto'],
  { ...opts, includeDirs: [path.join(root, 'proto'), '/usr/share/grpc-proto'] }));
const chanOpts = {
  'grpc.max_send_message_length': 64 << 20,
  'grpc.max_receive_message_length': 64 << 20,
  // Let a long status message through, to see how long it is.
  'grpc.max_metadata_size': 4 << 20,
};
const creds = grpc.credentials.createInsecure();
const health = new pkg.grpc.health.v1.Health(addr, creds);
// Every case gets channels of its own (a distinct option keeps grpc-js from
// sharing the connection): one wedged HTTP/2 session must not fail the cases
// after it.
let svc, raw, caseNo = 0;
function freshChannels() {
  if (svc) { svc.close(); raw.close(); }
  const o = { ...chanOpts, 'flowd.test.case': ++caseNo };
  svc = new pkg.flowd.v1.WorkflowService(addr, creds, o);
  raw = new grpc.Client(addr, creds, o);
}
freshChannels();
const pbRoot = new protobuf.Root();
pbRoot.resolvePath = (origin, target) => path.join(root, 'proto', target);
pbRoot.loadSync('flowd/v1/service.proto', { keepCase: true });
const Submit = pbRoot.lookupType('flowd.v1.SubmitRunRequest');

let passed = 0, failed = 0;
const ok = (name) => { console.log(`ok - ${name}`); passed++; };
const notOk = (name, why) => {
  console.log(`not ok - ${name}`);
  if (why) for (const l of String(why).split('\n').slice(0, 8)) console.log(`#   ${l}`);
  failed++;
};
const S = grpc.status;
const codeName = (c) => Object.keys(S).find((k) => S[k] === c) || String(c);
const DEADLINE_S = 30;
// A grpc C-core client (flowctl) refuses a status message above 8 KiB
// (grpc.max_metadata_size): it sees RESOURCE_EXHAUSTED and loses the text.
const MAX_STATUS = 8192;
const dl = () => ({ deadline: Date.now() + DEADLINE_S * 1000 });

const unary = (m, req) => new Promise((res) => {
  const t = Date.now();
  svc[m](req, dl(), (err, r) => res({ err, r, ms: Date.now() - t }));
});
// Sends BYTES as the request message of METHOD (framed by grpc-js).
const rawCall = (method, bytes) => new Promise((res) => {
  const t = Date.now();
  raw.makeUnaryRequest(`/flowd.v1.WorkflowService/${method}`, (b) => b, (b) => b, bytes, dl(),
    (err, r) => res({ err, r, ms: Date.now() - t }));
});

function vmField(field) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch (e) {
    return 0;
  }
}
function alive() {
  try { process.kill(pid, 0); return true; } catch (e) { return false; }
}

async function serving() {
  const r = await new Promise((res) => health.Check({ service: 'flowd.v1.WorkflowService' },
    { deadline: Date.now() + 10000 }, (err, m) => res({ err, m })));
  return alive() && !r.err && r.m.status === 'SERVING';
}

// expect(name, promise-of-{err,r}, codes[, extra check]): the answer's code
// is one of codes; the server still serves afterwards.
async function expect(name, call, codes, extra) {
  freshChannels();
  let r;
  try {
    r = await call();
  } catch (e) {
    r = { err: { code: -1, details: String(e) } };
  }
  const code = r.err ? r.err.code : S.OK;
  const details = r.err ? String(r.err.details || '') : '';
  const why = [];
  if (!codes.includes(code))
    why.push(`got ${codeName(code)} (${details.slice(0, 300)}), wanted ${codes.map(codeName).join('|')}`);
  if (Buffer.byteLength(details) > MAX_STATUS)
    why.push(`the status message is ${Buffer.byteLength(details)} bytes: a grpc C-core client (flowctl) gets RESOURCE_EXHAUSTED instead`);
  if (extra) {
    const e = extra(r, details);
    if (e) why.push(e);
  }
  const up = await serving();
  if (!up) why.push('the server no longer answers Health.Check with SERVING');
  const label = `${name} -> ${codeName(code)}${r.ms !== undefined ? ` in ${r.ms} ms` : ''}`;
  why.length ? notOk(label, why.join('\n')) : ok(label);
  return { ...r, up };
}

// ---- message builders ----
const node = (id, kind, config) => ({ id, kind: kind || 'noop', config_json: config === undefined ? '' : config });
const wfOf = (nodes, connections) => ({ name: 'bad-input', nodes, connections: connections || [] });
const encode = (req) => Buffer.from(Submit.encode(Submit.fromObject(req)).finish());
// Replaces the first occurrence of the ASCII marker in buf by bytes (same
// length, so no length prefix changes).
function patch(buf, marker, bytes) {
  const i = buf.indexOf(Buffer.from(marker));
  if (i < 0 || bytes.length !== marker.length) throw new Error('bad patch');
  const out = Buffer.from(buf);
  bytes.copy(out, i);
  return out;
}
let seed = 12345;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const randomBytes = (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
const varint = (n) => {
  const b = [];
  while (n > 127) { b.push((n & 127) | 128); n = Math.floor(n / 128); }
  b.push(n);
  return Buffer.from(b);
};
// field 1 (workflow) of SubmitRunRequest around a raw Workflow body.
const inWorkflow = (body) => Buffer.concat([Buffer.from([0x0a]), varint(body.length), body]);

// A raw HTTP/2 gRPC call with hand-made frames; resolves with grpc-status.
function h2call(method, frames, headersExtra) {
  return new Promise((res) => {
    const t = Date.now();
    const session = http2.connect(`http://${addr}`);
    let done = false;
    const finish = (code, details) => {
      if (done) return;
      done = true;
      session.close();
      res({ err: code === 0 ? null : { code, details }, ms: Date.now() - t });
    };
    session.on('error', (e) => finish(-1, `session error ${e.message}`));
    const req = session.request({
      ':method': 'POST', ':path': `/flowd.v1.WorkflowService/${method}`,
      'content-type': 'application/grpc', te: 'trailers', ...(headersExtra || {}),
    });
    let status = null, message = '';
    req.on('response', (h) => {
      if (h['grpc-status'] !== undefined) { status = Number(h['grpc-status']); message = h['grpc-message'] || ''; }
    });
    req.on('trailers', (h) => { status = Number(h['grpc-status']); message = decodeURIComponent(h['grpc-message'] || ''); });
    req.on('data', () => {});
    req.on('end', () => finish(status === null ? -1 : status, message));
    req.on('error', (e) => finish(status === null ? -1 : status, `stream error ${e.message}`));
    req.setTimeout(30000, () => finish(-1, 'timeout'));
    for (const f of frames) req.write(f);
    req.end();
  });
}
const grpcFrame = (body, len, flags) => {
  const h = Buffer.alloc(5);
  h[0] = flags || 0;
  h.writeUInt32BE(len === undefined ? body.length : len, 1);
  return Buffer.concat([h, body]);
};

const INVALID = [S.INVALID_ARGUMENT];
const TOO_BIG = [S.RESOURCE_EXHAUSTED];
const NOT_OK = [S.INVALID_ARGUMENT, S.INTERNAL, S.RESOURCE_EXHAUSTED, S.UNIMPLEMENTED, S.UNKNOWN, S.CANCELLED];
const mentions = (re) => (r, d) => (re.test(d) ? null : `the message does not say why (${d.slice(0, 200)})`);

async function main() {
  if (!(await serving())) {
    notOk('the server serves before the bad input', 'Health.Check is not SERVING');
    return;
  }
  const rss0 = vmField('VmRSS');
  const valid = encode({ workflow: wfOf([node('a'), node('b')], [{ from: 'a', to: 'b' }]) });

  // ---- bytes that are not a SubmitRunRequest ----
  for (const n of [1, 7, 100, 4096]) {
    await expect(`garbage: ${n} random bytes to SubmitRun`, () => rawCall('SubmitRun', randomBytes(n)), INVALID);
  }
  await expect('garbage: 64 KiB of 0xff to ValidateWorkflow', () => rawCall('ValidateWorkflow', Buffer.alloc(65536, 0xff)), INVALID);
  await expect('empty SubmitRunRequest (no workflow)', () => rawCall('SubmitRun', Buffer.alloc(0)), INVALID,
    mentions(/workflow/));
  await expect('truncated message: a valid request cut in half', () => rawCall('SubmitRun', valid.subarray(0, valid.length >> 1)), INVALID);
  await expect('truncated message: a length prefix past the end', () =>
    rawCall('SubmitRun', Buffer.concat([Buffer.from([0x0a]), varint(1000), Buffer.alloc(10)])), INVALID);
  await expect('wrong wire type for workflow (varint)', () => rawCall('SubmitRun', Buffer.from([0x08, 0x01])), INVALID);
  await expect('varint of 11 bytes', () => rawCall('SubmitRun', Buffer.from([0x10, ...Array(10).fill(0xff), 0x01])), INVALID);
  await expect('a group wire type (deprecated start group)', () => rawCall('SubmitRun', Buffer.from([0x0b, 0x0c])), NOT_OK);
  await expect('unknown fields only (field 99, 1 KiB)', () =>
    rawCall('SubmitRun', Buffer.concat([varint((99 << 3) | 2), varint(1024), Buffer.alloc(1024, 0x41)])), INVALID);

  // ---- gRPC framing, by hand over HTTP/2 ----
  await expect('framing: length prefix larger than the body', () =>
    h2call('SubmitRun', [grpcFrame(valid, valid.length + 100)]), NOT_OK);
  // libgrpc's own choices (it takes the first message, and treats an
  // unflagged encoding as identity): any answer will do, as long as the
  // server keeps serving.
  await expect('framing: compressed flag without grpc-encoding (answered, any status)', () =>
    h2call('SubmitRun', [grpcFrame(valid, undefined, 1)]), [S.OK, ...NOT_OK]);
  await expect('framing: two messages on a unary call (answered, any status)', () =>
    h2call('SubmitRun', [grpcFrame(valid), grpcFrame(valid)]), [S.OK, ...NOT_OK]);
  await expect('framing: 3 stray bytes, no frame header', () =>
    h2call('SubmitRun', [Buffer.from([0, 0, 1])]), NOT_OK);
  await expect('framing: unknown method', () => h2call('NoSuchMethod', [grpcFrame(valid)]), [S.UNIMPLEMENTED]);

  // ---- oversize ----
  const big = encode({ workflow: wfOf([node('a', 'noop', JSON.stringify({ pad: 'x'.repeat(17 << 20) }))]) });
  await expect('oversize: a 17 MiB request (limit FLOWD_MAX_MESSAGE_MB=16)', () => rawCall('SubmitRun', big), TOO_BIG);
  const cfg5 = encode({ workflow: wfOf([node('a', 'noop', JSON.stringify({ pad: 'x'.repeat(5 << 20) }))]) });
  await expect('oversize: a 5 MiB config_json (limit 4 MiB per document)', () => rawCall('SubmitRun', cfg5), INVALID,
    mentions(/limit/));
  await expect('oversize: a 10 MiB node kind', () => unary('ValidateWorkflow', { workflow: wfOf([node('a', 'k'.repeat(10 << 20))]) }),
    [S.OK], (r, d) => {
      const msg = r.r ? JSON.stringify(r.r.diagnostics) : d;
      return r.r && r.r.valid ? 'a 10 MiB kind was accepted as valid'
        : msg.length > 64 * 1024 ? `the diagnostics are ${msg.length} bytes long (the kind is quoted in full)` : null;
    });

  // ---- invalid UTF-8 in strings ----
  const marker = 'UTF8MARKER';
  const bad8 = Buffer.from([0x41, 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xe2, 0x28]); // 10 bytes
  const utf8Cases = [
    ['node id', { workflow: wfOf([node(marker)]) }, INVALID],
    ['node kind', { workflow: wfOf([node('a', marker)]) }, INVALID],
    ['config_json', { workflow: wfOf([node('a', 'noop', `{"k": "${marker}"}`)]) }, INVALID],
    ['inputs_json', { workflow: wfOf([node('a')]), inputs_json: `{"a": {"k": "${marker}"}}` }, INVALID],
    ['workflow name', { workflow: { ...wfOf([node('a')]), name: marker } }, INVALID],
    ['label value', { workflow: wfOf([node('a')]), labels: { team: marker } }, INVALID],
    ['idempotency key', { workflow: wfOf([node('a')]), idempotency_key: marker }, INVALID],
  ];
  for (const [where, req, codes] of utf8Cases) {
    const bytes = patch(encode(req), marker, bad8);
    await expect(`invalid UTF-8 in ${where}`, () => rawCall('SubmitRun', bytes), codes);
  }

  // ---- deep JSON ----
  const deep = (n) => '{"a": '.repeat(n) + '1' + '}'.repeat(n);
  const deepArr = (n) => '['.repeat(n) + ']'.repeat(n);
  await expect('deep JSON: config_json nested 65 levels (limit 64)', () =>
    unary('SubmitRun', { workflow: wfOf([node('a', 'noop', deep(65))]) }), INVALID, mentions(/deep|nest/));
  await expect('deep JSON: config_json nested 100,000 levels', () =>
    unary('SubmitRun', { workflow: wfOf([node('a', 'noop', deepArr(100000))]) }), INVALID);
  await expect('deep JSON: inputs_json nested 100 levels', () =>
    unary('SubmitRun', { workflow: wfOf([node('a')]), inputs_json: `{"a": ${deep(100)}}` }), INVALID);
  await expect('deep JSON: inputs_json nested 1,000,000 levels', () =>
    unary('SubmitRun', { workflow: wfOf([node('a')]), inputs_json: `{"a": ${deepArr(1000000)}}` }), INVALID);
  await expect('deep JSON: fallback_json nested 100,000 levels', () =>
    unary('SubmitRun', { workflow: wfOf([{ ...node('a'), on_error: 'fallback', fallback_json: deepArr(100000) }]) }), INVALID);

  // ---- duplicate keys ----
  await expect('duplicate node ids', () => unary('SubmitRun', { workflow: wfOf([node('a'), node('a')]) }), INVALID,
    mentions(/duplicate/));
  await expect('duplicate keys in config_json', () =>
    unary('SubmitRun', { workflow: wfOf([node('a', 'noop', '{"params": {"x": 1}, "params": {"x": 2}}')]) }), INVALID);
  await expect('duplicate keys in inputs_json', () =>
    unary('SubmitRun', { workflow: wfOf([node('a')]), inputs_json: '{"a": {"x": 1}, "a": {"x": 2}}' }), INVALID);
  await expect('duplicate keys in fallback_json', () =>
    unary('SubmitRun', { workflow: wfOf([{ ...node('a'), on_error: 'fallback', fallback_json: '{"r": 1, "r": 2}' }]) }), INVALID);
  await expect('the same input key mapped twice', () =>
    unary('SubmitRun', { workflow: wfOf([node('a'), node('b'), node('c')],
      [{ from: 'a', to: 'c', mapping: { x: 'k' } }, { from: 'b', to: 'c', mapping: { y: 'k' } }]) }), INVALID);

  // ---- NaN and Infinity ----
  for (const lit of ['NaN', 'Infinity', '-Infinity', '1e999']) {
    await expect(`${lit} in config_json`, () =>
      unary('SubmitRun', { workflow: wfOf([node('a', 'noop', `{"params": {"x": ${lit}}}`)]) }), INVALID);
  }
  await expect('NaN in inputs_json', () => unary('SubmitRun', { workflow: wfOf([node('a')]), inputs_json: '{"a": {"x": NaN}}' }), INVALID);
  await expect('retry.multiplier = NaN (a protobuf double)', () =>
    unary('SubmitRun', { workflow: wfOf([{ ...node('a'), retry: { max_attempts: 2, multiplier: NaN } }]) }), INVALID,
    mentions(/multiplier/));
  await expect('retry.jitter = Infinity', () =>
    unary('SubmitRun', { workflow: wfOf([{ ...node('a'), retry: { max_attempts: 2, jitter: Infinity } }]) }), INVALID,
    mentions(/jitter/));

  // ---- size of graphs ----
  const chain = (n) => {
    const nodes = [], conns = [];
    for (let i = 0; i < n; i++) {
      nodes.push(node(`n${i}`));
      if (i) conns.push({ from: `n${i - 1}`, to: `n${i}` });
    }
    return wfOf(nodes, conns);
  };
  const hwm = () => vmField('VmHWM');
  let r = await expect('100,000-node chain: ValidateWorkflow', () => unary('ValidateWorkflow', { workflow: chain(100000) }), [S.OK],
    (x) => (x.r && x.r.valid ? null : `not valid: ${x.r && JSON.stringify(x.r.diagnostics).slice(0, 200)}`));
  console.log(`#   validated in ${r.ms} ms; server peak RSS ${hwm()} kB`);
  const fan = { ...wfOf([node('root')]) };
  for (let i = 0; i < 100000; i++) {
    fan.nodes.push(node(`c${i}`));
    fan.connections.push({ from: 'root', to: `c${i}` });
  }
  r = await expect('fan-out: one node feeding 100,000 (ValidateWorkflow)', () => unary('ValidateWorkflow', { workflow: fan }), [S.OK],
    (x) => (x.r && x.r.valid ? null : 'not valid'));
  const fanIn = { ...wfOf([node('sink')]) };
  for (let i = 0; i < 100000; i++) {
    fanIn.nodes.push(node(`s${i}`));
    fanIn.connections.push({ from: `s${i}`, to: 'sink', mapping: { out: 'same' } });
  }
  await expect('fan-in: 100,000 connections mapping to one input key', () => unary('SubmitRun', { workflow: fanIn }), INVALID);
  await expect('250,000 nodes (limit 200,000)', () => unary('SubmitRun', { workflow: chain(250000) }), INVALID,
    mentions(/limit/));
  const manyBad = wfOf(Array.from({ length: 3000 }, (_, i) => node(`b${i}`, `k${i}-${'z'.repeat(3000)}`)));
  await expect('3,000 unknown kinds of 3 KB each', () => unary('SubmitRun', { workflow: manyBad }), INVALID);
  await expect('100 unknown kinds (100 diagnostics in one status)', () =>
    unary('SubmitRun', { workflow: wfOf(Array.from({ length: 100 }, (_, i) => node(`u${i}`, `nokind${i}`))) }), INVALID);

  // Repeated fields cost memory per element: 16 MiB of empty nodes.
  const emptyNodes = Buffer.alloc((16 << 20) - 64);
  for (let i = 0; i + 1 < emptyNodes.length; i += 2) { emptyNodes[i] = 0x1a; emptyNodes[i + 1] = 0x00; }
  // The server's peak RSS may grow by at most MEM_BUDGET_KB for one request
  // of the largest size it accepts (16 MiB).
  const MEM_BUDGET_KB = 256 * 1024;
  let hwmBefore = hwm();
  const peak = (what) => () => {
    const grew = hwm() - hwmBefore;
    console.log(`#   ${what}: server peak RSS ${hwmBefore} -> ${hwm()} kB`);
    return grew > MEM_BUDGET_KB ? `the server's peak RSS grew by ${grew} kB for one 16 MiB request (budget ${MEM_BUDGET_KB} kB)` : null;
  };
  await expect('8 million empty nodes in a 16 MiB request', () => rawCall('SubmitRun', inWorkflow(emptyNodes)), INVALID,
    peak('empty nodes'));
  const emptyConns = Buffer.alloc((16 << 20) - 64);
  for (let i = 0; i + 1 < emptyConns.length; i += 2) { emptyConns[i] = 0x22; emptyConns[i + 1] = 0x00; }
  hwmBefore = hwm();
  await expect('8 million empty connections in a 16 MiB request', () => rawCall('SubmitRun', inWorkflow(emptyConns)), INVALID,
    peak('empty connections'));

  // ---- many connections ----
  const socks = [];
  await new Promise((res) => {
    let n = 0;
    for (let i = 0; i < 2000; i++) {
      const s = net.connect({ host: addr.split(':')[0], port: Number(addr.split(':')[1]) }, () => { if (++n === 2000) res(); });
      s.on('error', () => { if (++n === 2000) res(); });
      socks.push(s);
    }
    setTimeout(res, 15000);
  });
  await expect('2,000 idle TCP connections open: Health still answers', async () => ({ err: null }), [S.OK]);
  socks.forEach((s) => s.destroy());
  await new Promise((res) => setTimeout(res, 500));
  await expect('after they close: a normal submission still works', () =>
    unary('SubmitRun', { workflow: wfOf([node('a'), node('b')], [{ from: 'a', to: 'b' }]) }), [S.OK]);

  console.log(`# server RSS ${rss0} kB before, ${vmField('VmRSS')} kB after, peak ${vmField('VmHWM')} kB; fds ${fs.readdirSync(`/proc/${pid}/fd`).length}`);
}

main().then(() => {
  svc.close(); health.close(); raw.close();
  console.log(`# bad input: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}, (e) => { notOk('bad_input.js', e.stack || e); process.exit(1); });
