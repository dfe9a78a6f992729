// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).
// The seeds are checked in; rerun this after a format change:
//   node tests/fuzz/make-seeds.js
// Needs tests/js/node_modules (protobufjs, through @grpc/proto-loader).
'use strict';
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '../..');
const protobuf = require(path.join(root, 'tests/js/node_modules/protobufjs'));

const corpus = (t) => {
  const d = path.join(__dirname, 'corpus', t);
  fs.mkdirSync(d, { recursive: true });
  return d;
};
const write = (t, name, data) => fs.writeFileSync(path.join(corpus(t), name), data);

// ---- workflow documents (the file format of DESIGN.md §4) ----
const etl = JSON.parse(fs.readFileSync(path.join(root, 'examples/production-etl.json'), 'utf8'));
const etlInputs = fs.readFileSync(path.join(root, 'examples/production-etl.input.json'), 'utf8');
const full = {
  name: 'every-field', description: 'all keys once',
  timeout_seconds: 60,
  nodes: [
    { id: 'src', kind: 'python', config: { code: 'result = {"items": [1, 2, 3]}', params: { n: 1 } },
      resources: { memory_mb: 64, cpu_millis: 500, pids: 16 }, timeout_seconds: 5,
      retry: { max_attempts: 3, initial_backoff_ms: 10, multiplier: 2.0, max_backoff_ms: 100, jitter: 0.1 },
      on_error: 'fallback', fallback: { items: [] }, secrets: ['API_KEY'], circuit: 'api',
      cache: { ttl_seconds: 60 } },
    { id: 'sw', kind: 'switch', config: { on: 'kind', cases: { a: 'left' }, default: 'right' } },
    { id: 'left', kind: 'noop', batch: { input: 'items', size: 2 }, on_error: 'continue' },
    { id: 'right', kind: 'noop', on_error: 'fail' },
  ],
  connections: [
    { from: 'src', to: 'sw', mapping: { 'items.0': 'kind', 'items': 'items' } },
    { from: 'sw', to: 'left', port: 'left' },
    { from: 'sw', to: 'right', port: 'right' },
  ],
};
const chain = {
  name: 'chain',
  nodes: [{ id: 'a', kind: 'noop', config: { params: { x: 1 } } }, { id: 'b', kind: 'noop' }, { id: 'c', kind: 'noop' }],
  connections: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c', mapping: { x: 'y' } }],
};
const cycle = { name: 'cycle', nodes: [{ id: 'a', kind: 'noop' }, { id: 'b', kind: 'noop' }],
  connections: [{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }] };
const bad = { name: 1, nodes: [{ id: 'a', kind: 'noop', typo: 1, retry: { multiplier: 'x' } }, 'x'], extra: true };
const docs = { 'production-etl': etl, 'every-field': full, chain, cycle, 'bad-types': bad };

for (const [name, wf] of Object.entries(docs))
  write('workflow_json', name + '.json', JSON.stringify(wf, null, 1));
write('workflow_json', 'production-etl-with-inputs', JSON.stringify(etl) + '\0' + etlInputs);
write('workflow_json', 'chain-with-inputs', JSON.stringify(chain) + '\0' + '{"a": {"x": 2}, "zz": {}}');
write('workflow_json', 'duplicate-keys.json', '{"name": "a", "name": "b", "nodes": []}');
write('workflow_json', 'not-object.json', '[1, 2, {"nodes": null}]');

// ---- SubmitRunRequest bytes ----
const pbRoot = new protobuf.Root();
pbRoot.resolvePath = (origin, target) => path.join(root, 'proto', target);
const pb = pbRoot.loadSync('flowd/v1/service.proto', { keepCase: true });
const Submit = pb.lookupType('flowd.v1.SubmitRunRequest');
function toMessage(wf) {
  return {
    name: wf.name, description: wf.description, timeout_seconds: wf.timeout_seconds,
    nodes: (wf.nodes || []).map((n) => ({
      id: n.id, kind: n.kind, config_json: n.config ? JSON.stringify(n.config) : '',
      resources: n.resources, timeout_seconds: n.timeout_seconds, retry: n.retry,
      on_error: n.on_error, fallback_json: n.fallback ? JSON.stringify(n.fallback) : '',
      secrets: n.secrets, circuit: n.circuit, cache: n.cache, batch: n.batch,
    })),
    connections: (wf.connections || []).map((c) => ({ from: c.from, to: c.to, mapping: c.mapping || {}, port: c.port })),
  };
}
function submit(name, wf, inputs, extra) {
  const msg = Submit.fromObject({ workflow: toMessage(wf), inputs_json: inputs || '', ...(extra || {}) });
  write('submit_request', name + '.pb', Buffer.from(Submit.encode(msg).finish()));
}
submit('production-etl', etl, etlInputs, { idempotency_key: 'k1', labels: { team: 'a' } });
submit('every-field', full, '{"src": {"n": 2}}');
submit('chain', chain, '{"a": {"x": 2}}');
submit('cycle', cycle, '');
submit('unknown-input-node', chain, '{"nope": {}}');
submit('inputs-not-object', chain, '[1]');
submit('bad-fields', { name: 'b', nodes: [{ id: 'a b', kind: 'nope', retry: { multiplier: 1000 }, resources: { memory_mb: 1 } },
  { id: 'x', kind: 'noop', on_error: 'fallback' }], connections: [{ from: 'x', to: 'q', mapping: { 'a..b': '' } }] }, '{');
const fan = { name: 'fan', nodes: [{ id: 'root', kind: 'noop' }], connections: [] };
for (let i = 0; i < 50; i++) {
  fan.nodes.push({ id: 'n' + i, kind: 'noop' });
  fan.connections.push({ from: 'root', to: 'n' + i, mapping: { ['out.' + i]: 'in' } });
}
submit('fan-out', fan, '');

// ---- mapping paths and input assembly (see fuzz-path-inputs.c) ----
const pi = (name, maps, params, run, out) => write('path_inputs', name, [maps, params, run, out].join('\n'));
pi('simple', 'result>value', '{"a": 1}', '', '{"result": 42}');
pi('nested', 'result.items.0.id>first|result.items>items|status', '{"items": []}', '{"first": 0}',
  '{"result": {"items": [{"id": 7}, {"id": 8}]}, "status": "ok"}');
pi('missing', 'result.nope>x', '', '', '{"result": {"a": 1, "b": 2}}');
pi('array-index', 'rows.10>r|rows.-1>n|rows.01>z|rows.1x>w', '', '', '{"rows": [0,1,2,3,4,5,6,7,8,9,10,11]}');
pi('passthrough', '', '{"p": true}', '{"q": null}', '{"a": 1, "b": [1, 2], "c": {"d": "e"}}');
pi('collision', 'a>k|b>k', '', '', '{"a": 1, "b": 2}');
pi('scalar-output', 'x', '', '', '"just a string"');
pi('bad-paths', '.a|a.|a..b||x>', '', '', '{"a": {"": 1}}');

// ---- zygote frames (see sandbox/sbx-frame.h) ----
class W {
  constructor() { this.parts = []; }
  u8(v) { this.parts.push(Buffer.from([v & 255])); return this; }
  u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.parts.push(b); return this; }
  u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.parts.push(b); return this; }
  bytes(s) { const b = Buffer.from(s); this.u32(b.length); this.parts.push(b, Buffer.from([0])); return this; }
  strv(v) { this.u32(v.length); v.forEach((s) => this.bytes(s)); return this; }
  limits() { return this.u64(64 << 20).u32(500).u32(16).u32(5000).u64(1 << 20).u64(1 << 20).u32(64).u32(65536); }
  frame(type) {
    const body = Buffer.concat([Buffer.from([type]), ...this.parts]);
    const h = Buffer.alloc(4); h.writeUInt32LE(body.length);
    return Buffer.concat([h, body]);
  }
}
const [INIT, SPAWN, CANCEL, READY, STARTED, LOG, PROGRESS, DONE] = [1, 2, 3, 4, 5, 6, 7, 8];
const spawnExec = new W().u64(1).u32(0xffffffff).u8(1).limits()
  .strv(['/usr/bin/python3', '-c', 'print(1)']).strv(['PATH=/usr/bin', 'SECRET=x']).frame(SPAWN);
const spawnBuiltin = new W().u64(2).u32(0).u8(0).limits().strv([]).strv([]).frame(SPAWN);
const done = new W().u64(1).u8(0).u32(0).u32(0).bytes('').u64(1 << 20).u64(100).u64(50).u64(1000)
  .bytes('exited 0').bytes('{"result": 1}').frame(DONE);
const doneViolation = new W().u64(3).u8(4).u32(0).u32(31).bytes('socket').u64(0).u64(0).u64(0).u64(10)
  .bytes('killed: forbidden system call socket').bytes('').frame(DONE);
const bpf = Buffer.alloc(16); // two sock_filter instructions
const init = new W().u32(0).u32(65534).u32(65534).u8(0).u8(1).u8(1).u8(6).u32(4).bytes('/tmp/scratch')
  .strv(['/opt/plugins']).bytes(bpf).bytes(bpf).bytes(bpf).u32(1)
  .bytes('/sys/fs/cgroup/memory/flowd/p1/s0').bytes('/sys/fs/cgroup/cpu/flowd/p1/s0').bytes('').bytes('').frame(INIT);
const ch = (n) => Buffer.from([n]); // first byte: the chunk size
write('sbx_frame', 'spawn-exec', Buffer.concat([ch(7), spawnExec]));
write('sbx_frame', 'spawn-builtin', Buffer.concat([ch(63), spawnBuiltin]));
write('sbx_frame', 'done', Buffer.concat([ch(3), done]));
write('sbx_frame', 'done-violation', Buffer.concat([ch(60), doneViolation]));
write('sbx_frame', 'init', Buffer.concat([ch(17), init]));
write('sbx_frame', 'stream', Buffer.concat([ch(5),
  new W().frame(READY), new W().u64(1).u32(1234).frame(STARTED),
  new W().u64(1).bytes('a log line').frame(LOG), new W().u64(1).bytes('{"progress": 0.5}').frame(PROGRESS),
  new W().u64(1).frame(CANCEL), done]));
write('sbx_frame', 'truncated', Buffer.concat([ch(1), done.subarray(0, done.length - 3)]));
write('sbx_frame', 'oversize-header', Buffer.from([1, 0xff, 0xff, 0xff, 0x7f, 8]));

// ---- tokens and tenants files (see server/auth/auth.h) ----
const sha = 'ab'.repeat(32);
const tokens = [
  '# tokens',
  JSON.stringify({ sha256: sha, user: 'alice', tenant: 'team-a', roles: ['submitter'], created: '2026-11-28T14:00:00Z' }),
  '',
  JSON.stringify({ sha256: 'cd'.repeat(32), user: 'root', tenant: 'ops', roles: ['admin', 'viewer'] }),
].join('\n') + '\n';
const tenants = JSON.stringify({ tenants: {
  'team-a': { max_concurrent_runs: 10, max_queued_runs: 100, max_running_nodes: 8, max_memory_mb: 1024,
    max_cpu_millis: 2000, max_pids: 128, max_timeout_seconds: 600, secrets: ['OPENAI_API_KEY'] },
  ops: {},
} }, null, 1);
write('auth_files', 'tokens-and-tenants', tokens + '\0' + tenants);
write('auth_files', 'tokens-only', tokens);
write('auth_files', 'bad-role', JSON.stringify({ sha256: sha, user: 'u', tenant: 't', roles: ['root'] }) + '\n');
write('auth_files', 'bad-quota', tokens + '\0' + '{"tenants": {"x": {"max_pids": -1}}}');
write('auth_files', 'bad-secrets', tokens + '\0' + '{"tenants": {"x": {"secrets": [1]}, "y": 3}}');
console.log('seeds written under', path.join(__dirname, 'corpus'));
