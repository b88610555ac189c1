import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleParams } from '../../lib/bundles/params.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { initBackend } from '../../lib/training/backend.js';
import { saveBundle } from '../helpers/bundles.js';
import { type RangeServer, startRangeServer } from '../helpers/range-server.js';
import { hasShared, ROOT_DIR, SYNTH_DIR } from '../helpers/reference.js';
import { type ServeProcess, startServe, underWatch, watchHealth } from '../helpers/serve-process.js';
import { tarGz } from '../helpers/tar.js';

/**
 * Requests that once wedged `serve` for everyone, each sent to a real `serve` process while a
 * watchdog asks its health every 300 ms: a check not answered within 2 s fails the test at once
 * (it does not hang with the server).
 */
let dir: string;
let srv: ServeProcess;
let files: RangeServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-hostile-'));
  // a small tensor memory for the trainer, so a model too big for it is quick to find out
  // a server on 127.0.0.1 is refused unless the allow-list names it, as it does here
  files = await startRangeServer({ root: ROOT_DIR, multiRange: true });
  srv = await startServe(['--store', dir], {
    MLAAS4HEP_ALLOWED_SOURCES: `${SYNTH_DIR}/,${files.url}/`,
    MLAAS4HEP_TRAINER_WASM_MB: '64',
  });
});
afterAll(async () => {
  await srv?.stop();
  await files?.close();
  await rm(dir, { recursive: true, force: true });
});

const auth = () => ({ authorization: `Bearer ${srv.token}` });
const health = () => `${srv.url}/v2/health/live`;

/** A 4 → units dense model.json whose manifest the test chooses. */
function modelJson(units: number, weights: unknown[]): string {
  return JSON.stringify({
    format: 'layers-model',
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 'seq',
        layers: [
          {
            class_name: 'Dense',
            config: {
              name: 'out',
              units,
              activation: 'sigmoid',
              use_bias: true,
              batch_input_shape: [null, 4],
            },
          },
        ],
      },
    },
    weightsManifest: [{ paths: ['weights.bin'], weights }],
  });
}

function bundle(model: string, weights: Uint8Array): Uint8Array {
  return tarGz([
    { name: 'params.json', data: JSON.stringify({ features: ['a', 'b', 'c', 'd'] }) },
    { name: 'model.json', data: model },
    { name: 'weights.bin', data: weights },
  ]);
}

/** The status, and the message of an error (the body otherwise). */
async function upload(name: string, body: Uint8Array): Promise<{ status: number; text: string }> {
  const res = await fetch(`${srv.url}/upload?name=${name}`, {
    method: 'POST',
    headers: { ...auth(), 'content-type': 'application/gzip' },
    body,
  });
  const text = await res.text();
  return { status: res.status, text: res.status >= 400 ? JSON.parse(text).message : text };
}

describe('uploads that could wedge serve', () => {
  it('refuses a weights manifest declaring a huge shape of strings with 400, health answering throughout', async () => {
    const model = modelJson(1, [{ name: 'out/kernel', shape: [100000, 100000], dtype: 'string' }]);
    const { result, answers } = await underWatch(health(), () =>
      upload('strings', bundle(model, new Uint8Array(20))),
    );
    expect(result.status).toBe(400);
    expect(result.text).toMatch(/dtype "string"; only float32, int32 and bool/);
    expect(answers).toBeGreaterThan(0);
  });

  it('refuses a topology of 5 M units behind a small manifest with 400 before building it', async () => {
    const model = modelJson(5_000_000, [
      { name: 'out/kernel', shape: [4, 1], dtype: 'float32' },
      { name: 'out/bias', shape: [1], dtype: 'float32' },
    ]);
    const { result } = await underWatch(health(), () => upload('wide', bundle(model, new Uint8Array(20))));
    expect(result.status).toBe(400);
    expect(result.text).toMatch(/its layers hold 25000000 weights but its weights manifest lists 5/);
  });

  it('still accepts the same bundle with a float32 manifest matching its weights', async () => {
    const model = modelJson(1, [
      { name: 'out/kernel', shape: [4, 1], dtype: 'float32' },
      { name: 'out/bias', shape: [1], dtype: 'float32' },
    ]);
    const weights = new Uint8Array(new Float32Array([0.1, 0.2, 0.3, 0.4, 0]).buffer);
    const res = await upload('fine', bundle(model, weights));
    expect([res.status, res.text]).toEqual([201, expect.stringContaining('"name":"fine"')]);
  });
});

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${srv.url}${path}`, {
    method,
    headers: { ...auth(), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(2000),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function waitForJob(id: string, until: (status: string) => boolean): Promise<Record<string, unknown>> {
  for (;;) {
    const { json } = await call('GET', `/jobs/${id}`);
    if (until(json.status as string)) return json;
    await new Promise((r) => setTimeout(r, 300));
  }
}

const synth = [join(SYNTH_DIR, 'signal.root'), join(SYNTH_DIR, 'background.root')];

describe.runIf(hasShared)('training beside the API', () => {
  it('keeps health and GET /jobs/{id} answering within 2 s while a chunk_size: 1 job trains', async () => {
    const dog = watchHealth(health());
    try {
      const sub = await call('POST', '/submit', {
        files: synth,
        labels: [1, 0],
        // epochs to spare: the cancel below must find it training, however fast training has become
        params: { branch: 'Events', nevts: 250_000, chunk_size: 1, epochs: 100 },
      });
      expect(sub.status).toBe(202);
      const id = sub.json.job_id as string;
      await Promise.race([waitForJob(id, (s) => s === 'running'), dog.failed]);
      // the job's own record, read while it trains: each within the 2 s `call` allows
      for (let i = 0; i < 10; i++) {
        const got = await Promise.race([call('GET', `/jobs/${id}`), dog.failed]);
        expect(got.json.status).toBe('running');
        await new Promise((r) => setTimeout(r, 300));
      }
      expect((await call('DELETE', `/jobs/${id}`)).status).toBe(200);
      const end = await Promise.race([waitForJob(id, (s) => s !== 'running'), dog.failed]);
      expect(end.status).toBe('cancelled');
    } finally {
      await dog.stop();
    }
    expect(dog.answers).toBeGreaterThan(5);
  }, 180_000);

  it('fails a job whose model outgrows the trainer memory, alone, with a reason its owner can act on', async () => {
    const { result } = await underWatch(health(), async () => {
      const sub = await call('POST', '/submit', {
        name: 'too-wide',
        files: synth,
        labels: [1, 0],
        params: { branch: 'Events', nevts: 2_000, chunk_size: 1_000, epochs: 1 },
        model: {
          // 4.2 M parameters pass the submit limits; weights, gradients and Adam's state do not fit 64 MiB
          layers: [
            { type: 'dense', units: 2048 },
            { type: 'dense', units: 2048 },
          ],
        },
      });
      expect(sub.status).toBe(202);
      return waitForJob(sub.json.job_id as string, (s) => s === 'failed' || s === 'succeeded');
    });
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/memory/);
    expect(result.error).toMatch(/fewer or smaller layers/);
    // and the service is whole: another job still trains to its end
    const sub = await call('POST', '/submit', {
      name: 'after',
      files: synth,
      labels: [1, 0],
      params: { branch: 'Events', nevts: 2_000, chunk_size: 1_000, epochs: 1 },
    });
    const after = await waitForJob(sub.json.job_id as string, (s) => s === 'failed' || s === 'succeeded');
    expect([after.status, after.error]).toEqual(['succeeded', undefined]);
  }, 240_000);
});

describe.runIf(hasShared)('sources', () => {
  it('trains from an HTTP server on 127.0.0.1 that the allow-list names', async () => {
    const sub = await call('POST', '/submit', {
      name: 'over-http',
      files: [`${files.url}/uproot-HZZ.root`, `${files.url}/uproot-HZZ-lz4.root`],
      labels: [1, 0],
      params: { branch: 'events', nevts: 1_000, chunk_size: 1_000, epochs: 1 },
    });
    expect(sub.status).toBe(202);
    const end = await waitForJob(sub.json.job_id as string, (s) => s === 'failed' || s === 'succeeded');
    expect([end.status, end.error]).toEqual(['succeeded', undefined]);
  }, 180_000);
});

describe('serve without MLAAS4HEP_ALLOWED_SOURCES', () => {
  let store: string;
  let plain: ServeProcess;
  beforeAll(async () => {
    store = await mkdtemp(join(tmpdir(), 'mlaas4hep-default-'));
    await mkdir(join(store, 'data'));
    await symlink('/etc', join(store, 'data', 'etc'));
    plain = await startServe(['--store', store, '--no-worker'], { MLAAS4HEP_ALLOWED_SOURCES: '' });
  });
  afterAll(async () => {
    await plain?.stop();
    await rm(store, { recursive: true, force: true });
  });

  const submit = async (f: string) => {
    const res = await fetch(`${plain.url}/submit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${plain.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ files: [f], labels: [1], params: { branch: 'Events' } }),
    });
    return { status: res.status, message: ((await res.json()) as { message?: string }).message };
  };

  it("names the store's incoming/ and its data folder as the sources on its start line", () => {
    expect(plain.output()).toContain(
      `sources: ${store}/incoming/, ${store}/data/ (the store's incoming/ and the data folder ${store}/data;`,
    );
  });

  it("reads its data folder and refuses the server's files, links out of it, loopback and metadata URLs with 403", async () => {
    expect((await submit(`${store}/data/run1.root`)).status).toBe(202);
    const refused = [
      '/etc/passwd',
      `${store}/data/etc/passwd`,
      'http://127.0.0.1:9/x.root',
      'http://169.254.169.254/latest/meta-data',
    ];
    const got = [];
    for (const f of refused) got.push([f, (await submit(f)).status]);
    expect(got).toEqual(refused.map((f) => [f, 403]));
    expect((await submit(`${store}/data/etc/passwd`)).message).toMatch(/symbolic link/);
  });
});

describe('a WebAssembly memory fault while predicting', () => {
  let store: string;
  let small: ServeProcess;
  const dense = (units: number[]) => {
    const m = tf.sequential();
    units.forEach((u, i) => {
      m.add(tf.layers.dense({ ...(i === 0 ? { inputShape: [4] } : {}), units: u, activation: 'sigmoid' }));
    });
    return m;
  };
  const params = (name: string): BundleParams => ({
    name,
    model: 'model.json',
    labels: 'labels.txt',
    inputNode: 'input',
    outputNode: 'output',
    description: '',
    timestamp: new Date().toISOString(),
    version: '20260101-000000-abcdef',
    features: ['f1', 'f2', 'f3', 'f4'],
    classes: [0, 1],
    metrics: {},
    workflow: null,
    datasetFingerprint: 'x',
    backend: 'wasm',
    versions: {},
  });
  beforeAll(async () => {
    store = await mkdtemp(join(tmpdir(), 'mlaas4hep-wasm-'));
    await initBackend();
    const objects = new LocalObjectStore(store);
    await saveBundle(objects, dense([1]), { params: params('small') });
    // 41 MB of weights: TensorFlow.js faults building it in a 64 MiB WebAssembly memory
    await saveBundle(objects, dense([3200, 3200, 1]), { params: params('big') });
    small = await startServe(['--store', store, '--no-worker'], {}, ['--wasm-max-mem-pages=1024']);
  });
  afterAll(async () => {
    await small?.stop();
    await rm(store, { recursive: true, force: true });
  });

  const predict = async (model: string) => {
    const res = await fetch(`${small.url}/json`, {
      method: 'POST',
      headers: { authorization: `Bearer ${small.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, keys: ['f1', 'f2', 'f3', 'f4'], values: [1, 2, 3, 4] }),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };

  it('restarts the engine without an operator: the faulting request gets 503, every other model answers again', async () => {
    const before = await predict('small');
    expect(before.status).toBe(200);
    // (no watchdog here: building a 41 MB model holds the event loop for seconds, fault or not)
    const result = await predict('big');
    expect(result.status).toBe(503);
    expect((result.body as { message: string }).message).toMatch(/briefly unavailable; retry/);
    expect(small.output()).toMatch(
      /"message":"TensorFlow.js engine memory fault: restarting it".*"model":"big"/,
    );
    // the fault broke the whole WebAssembly module; the small model comes back on a fresh one
    expect(await predict('small')).toEqual(before);
    expect((await fetch(`${small.url}/v2/health/ready`)).status).toBe(200);
    expect(small.output()).toContain('TensorFlow.js engine restarted');
  }, 120_000);
});
