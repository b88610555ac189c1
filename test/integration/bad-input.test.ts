import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySpecsCache } from '../../lib/dataset/cache.js';
import { parseWorkflow } from '../../lib/dataset/workflow.js';
import { sourceAllowList } from '../../lib/jobs/submit.js';
import { openRoot } from '../../lib/root/file.js';
import { generateSynth } from '../../lib/root/writer/synth.js';
import { type Stack, startStack } from '../../lib/service/stack.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { runTrainingJob } from '../../lib/trainer/job.js';
import { initBackend } from '../../lib/training/backend.js';

// a barrage of bad requests against the real HTTP server, with real tokens and a tiny trained
// model: every one answered with a 4xx that says what was wrong, none a 5xx, the server alive after
let dir: string;
let data: string;
let storeDir: string;
let store: LocalObjectStore;
let stack: Stack;
let user: string;
let admin: string;
let features: string[];
const logged: Array<Record<string, unknown>> = [];
const small = { branch: 'Events', nevts: 1000, chunk_size: 1000, epochs: 1 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-bad-input-'));
  data = join(dir, 'data');
  storeDir = join(dir, 'store');
  store = new LocalObjectStore(storeDir);
  const files = await generateSynth({ outDir: data, events: 2000, seed: 3 });
  const dataset = { openFile: (s: string) => openRoot(s), cache: new MemorySpecsCache() };
  const backend = await initBackend();
  const w = { name: 'tiny', files: [files.signal, files.background], labels: [1, 0], params: small };
  await runTrainingJob(parseWorkflow(w), { dataset, store, backend });
  stack = await startStack({
    store,
    worker: { dataset, backend, pollMs: 200 },
    // what a VM would set: its data folder and the uploads folder, nothing else
    allowedSources: [`${data}/`, join(storeDir, 'incoming')],
    rateLimits: {},
    log: (e) => logged.push(e),
  });
  user = stack.token!('alice', ['submit', 'predict']);
  admin = stack.token!('root', ['admin', 'submit']);
  features = ((await call('GET', '/models/tiny', user)).json as { features: string[] }).features;
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, token?: string, body?: unknown) {
  // fetch sends strings and bytes as they are: the malformed bodies reach the server unchanged
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    body:
      body === undefined || typeof body === 'string' || body instanceof Uint8Array
        ? body
        : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, message: String(json.message ?? text), headers: res.headers };
}

/** POSTs each body as alice and expects its 4xx status with a message that says why. */
async function refuses(cases: Array<[number, RegExp, string, unknown]>) {
  for (const [status, re, path, body] of cases) {
    const r = await call('POST', path, user, body);
    expect([r.status, r.message], `${path} ${String(re)}`).toEqual([status, expect.stringMatching(re)]);
  }
}

const row = () => features.map((_, i) => i / 100);
const json = (values: unknown, keys: unknown = features, model = 'tiny') => ({ model, keys, values });
const v2 = (data: unknown[], shape = [1, features.length], datatype = 'FP32') => ({
  inputs: [{ name: 'x', shape, datatype, data }],
});
const V2 = '/v2/models/tiny/infer';

/** The job once final; `token` is its owner's (a trigger's jobs belong to whoever put the rule). */
async function until(id: string, token = admin, ms = 30_000): Promise<Record<string, unknown>> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    const job = (await call('GET', `/jobs/${id}`, token)).json;
    if (['succeeded', 'failed', 'cancelled'].includes(job.status as string)) return job;
  }
  throw new Error(`job ${id} did not end in ${ms} ms`);
}

describe('bad input over HTTP: a clear 4xx each, no crash, no stall', () => {
  it('bodies over the limit → 413 before parsing; deep, malformed or huge JSON → 400 or 413', async () => {
    const t0 = performance.now();
    await refuses([
      [413, /over this route's limit of 1048576 bytes/, '/submit', 'x'.repeat(1_100_000)],
      [413, /over this route's limit of 33554432 bytes/, '/json', `[${'0,'.repeat(17 * 2 ** 20)}0]`],
      [400, /nested more than 32 levels/, '/json', `${'['.repeat(100)}${']'.repeat(100)}`],
      [400, /nested more than 32 levels/, '/json', '{"a":'.repeat(500_000)],
      [400, /not valid JSON/, '/json', '{"model": "tiny", "values": [NaN]}'],
      [400, /not valid JSON/, '/submit', '{"files": ['],
      [400, /not valid UTF-8/, '/json', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])],
      [400, /"values" must be a row of values or a list of rows/, '/json', json([])],
      [400, /the request must be an object/, '/json', '[1,2,3]'],
      // well-formed and under the byte limit, but more rows than one request may hold
      [
        413,
        /100001 rows in one request; send at most 100000/,
        '/json',
        json(Array(100_001).fill([0]), ['f0']),
      ],
    ]);
    expect(performance.now() - t0).toBeLessThan(15_000);
  });

  it('NaN, Infinity and strings in numeric fields → 400 naming the field', async () => {
    const at = (k: number, v: unknown) => row().map((x, i) => (i === k ? v : x));
    // 1e999 is valid JSON that parses to Infinity
    const inf = JSON.stringify(json(row())).replace(/\[0,/, '[1e999,');
    const v2inf = JSON.stringify(v2(row())).replace(/"data":\[0,/, '"data":[-1e999,');
    await refuses([
      [
        400,
        new RegExp(`"${features[2]}" of row 0 must be a finite number, got "NaN"`),
        '/json',
        json(at(2, 'NaN')),
      ],
      // reported as the value it became, never as "null"
      [
        400,
        new RegExp(`"${features[0]}" of row 0 must be a finite number, got Infinity: not finite`),
        '/json',
        inf,
      ],
      // finite for JavaScript, Infinity in the model's float32 tensor (finding 10)
      [
        400,
        new RegExp(
          `"${features[1]}" of row 0 must be a finite number, got 3.5e\\+38: outside the float32 range`,
        ),
        '/json',
        json(at(1, 3.5e38)),
      ],
      [
        400,
        new RegExp(`"${features[2]}" of row 0 must be a finite number, got -1e\\+308`),
        '/json',
        json(at(2, -1e308)),
      ],
      [
        400,
        /inputs\[0\]\.data\[4\] \(feature "[^"]+"\) is 1e\+308, not a finite FP32 number.*float32/,
        V2,
        v2(at(4, 1e308)),
      ],
      [
        400,
        new RegExp(`"${features[5]}" of row 0 must be a finite number, got null`),
        '/json',
        json(at(5, null)),
      ],
      [
        400,
        /inputs\[0\]\.data\[3\] \(feature "[^"]+"\) is "x", not a finite FP32 number/,
        V2,
        v2(at(3, 'x')),
      ],
      [400, /inputs\[0\]\.data\[0\] \(feature "[^"]+"\) is -Infinity, not a finite FP32 number/, V2, v2inf],
      [
        400,
        /inputs\[0\]\.data\[1\] \(feature "[^"]+"\) is 0\.01, not a finite INT32 number/,
        V2,
        v2(row(), undefined, 'INT32'),
      ],
    ]);
  });

  it('wrong feature counts → 422 with the expected count; unknown models and versions → 404', async () => {
    const n = features.length;
    await refuses([
      [
        422,
        new RegExp(`expected ${n} features, got ${n - 1}`),
        '/json',
        json(row().slice(1), features.slice(1)),
      ],
      [422, new RegExp(`row 0 has ${n - 1} values for ${n} keys`), '/json', json(row().slice(1))],
      [422, new RegExp(`expected ${n} features per row`), V2, v2(row().slice(1), [1, n - 1])],
      [400, new RegExp(`holds ${n} values, shape \\[2,${n}\\] needs ${2 * n}`), V2, v2(row(), [2, n])],
      [404, /no model named "nope"/, '/json', json(row(), features, 'nope')],
      [404, /no model named "nope"/, '/v2/models/nope/infer', v2(row())],
      [
        404,
        /has no complete version "20000101-000000-abcdef"/,
        '/v2/models/tiny/versions/20000101-000000-abcdef/infer',
        v2(row()),
      ],
      [400, /invalid model version/, '/v2/models/tiny/versions/..%2F..%2Fjobs/infer', v2(row())],
    ]);
    expect((await call('GET', '/models/nope', user)).status).toBe(404);
    expect((await call('GET', '/v2/models/%E0%A4%A', user)).message).toMatch(/not valid percent-encoding/);
    expect((await call('POST', '/json', user, json(row()))).status).toBe(200);
  });

  it('workflows reading outside the allowed sources → 403 naming the source, on /submit and on triggers', async () => {
    const sig = join(data, 'signal.root');
    const submit = (file: string) => ({ files: [file, sig], labels: [0, 1], params: small });
    for (const bad of [
      '/etc/passwd',
      `${data}-other/x.root`,
      `${data}/../store/x.root`,
      'https://evil.example/x.root',
      's3://other/x.root',
      'data/signal.root',
    ]) {
      const r = await call('POST', '/submit', user, submit(bad));
      expect([r.status, r.message]).toEqual([403, expect.stringContaining(`"${bad}"`)]);
    }
    const trigger = { prefix: 'incoming/', workflow: submit('/etc/hosts'), label: 1 };
    const put = await call('PUT', '/triggers/bad', admin, trigger);
    expect([put.status, put.message]).toEqual([403, expect.stringMatching(/"\/etc\/hosts" is outside/)]);
    const ok = await call('POST', '/submit', user, submit(join(data, 'background.root')));
    expect(ok.status).toBe(202);
    expect((await until(ok.json.job_id as string, user)).status).toBe('succeeded');
  });

  it('non-ROOT and corrupt files uploaded to incoming/: the trigger’s job fails naming the file', async () => {
    const rule = {
      prefix: 'incoming/',
      workflow: { files: [join(data, 'background.root')], labels: [0], params: small },
      label: 1,
    };
    expect((await call('PUT', '/triggers/drop', admin, rule)).status).toBe(200);
    const signal = await readFile(join(data, 'signal.root'));
    const uploads: Record<string, [Uint8Array, RegExp]> = {
      'incoming/notes.root': [new TextEncoder().encode('not a ROOT file\n'), /is not a ROOT file/],
      'incoming/cut.root': [signal.subarray(0, signal.length >> 1), /is truncated or corrupt/],
    };
    for (const [key, [body, why]] of Object.entries(uploads)) {
      await store.put(key, body);
      const url = join(storeDir, key);
      const [id] = await stack.service.objectCreated({ bucket: 'local', key, version: 'v1', url });
      const job = await until(id);
      expect([job.status, job.error]).toEqual(['failed', expect.stringMatching(why)]);
      expect(job.error).toContain(url);
    }
    // not .root: no job; a .root outside the allowed sources: refused, naming the rule and the file
    expect(
      await stack.service.objectCreated({ bucket: 'local', key: 'incoming/a.txt', version: 'v1' }),
    ).toEqual([]);
    await expect(
      stack.service.objectCreated({
        bucket: 'local',
        key: 'incoming/x.root',
        version: 'v1',
        url: '/tmp/x.root',
      }),
    ).rejects.toThrow(/trigger "drop": source "\/tmp\/x.root" is outside the allowed sources/);
  });

  it('broken HTTP on raw sockets: garbage, oversized headers, a body that never ends', async () => {
    const { port } = new URL(stack.url);
    const raw = (text: string, keepOpen = false) =>
      new Promise<string>((resolve) => {
        const s = connect(Number(port), '127.0.0.1', () => s.write(text));
        let got = '';
        s.on('data', (c) => {
          got += c.toString();
          if (keepOpen) resolve(got);
        });
        s.on('close', () => resolve(got));
        s.on('error', () => resolve(got));
        if (keepOpen)
          setTimeout(() => {
            s.destroy();
            resolve(got);
          }, 1_000);
      });
    expect(await raw('\x16\x03\x01 not http at all\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(
      await raw(`GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
    ).toMatch(/^HTTP\/1\.1 431/);
    // a body promised and never sent holds its own connection only: others are served meanwhile
    const stalled = raw(`POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{"model":`, true);
    const t0 = performance.now();
    expect((await call('GET', '/v2/health/live')).status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(500);
    await stalled;
  });

  it('after the barrage: no 5xx was logged, health answers at once, predictions still work', async () => {
    const t0 = performance.now();
    const live = await call('GET', '/v2/health/live');
    expect(live.status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(500);
    expect((await call('POST', '/json', user, json([row(), row()]))).json).toHaveLength(2);
    expect(logged.filter((e) => Number(e.status) >= 500)).toEqual([]);
  });
});

describe('sourceAllowList', () => {
  it('matches prefixes at folder and bucket boundaries, refuses dot segments, rejects bad entries', () => {
    const check = sourceAllowList(['s3://hep', 's3://data/run2/', '/srv/hep/', 'https://eos.example']);
    expect(() =>
      check(['s3://hep/a.root', 's3://data/run2/x.root', '/srv/hep/a/b.root', 'https://eos.example/x.root']),
    ).not.toThrow();
    for (const f of [
      's3://hep-other/a.root',
      's3://data/run3/x.root',
      '/srv/hep2/a.root',
      '/srv/hep/%2e%2e/etc',
      'https://eos.example@evil.example/x.root',
      'https://eos.example/a/../../x',
      'file:///srv/hep/a.root',
    ]) {
      expect(() => check([f]), f).toThrow(expect.objectContaining({ status: 403 }));
    }
    expect(() => sourceAllowList(['relative/'])).toThrow(/neither a URL prefix/);
    expect(() => sourceAllowList(['/srv/../etc'])).toThrow(/"\." or "\.\." segment/);
    expect(() => sourceAllowList([])).toThrow(/empty/);
  });
});
