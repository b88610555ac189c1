import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleParams } from '../../lib/bundles/params.js';
import { type BranchSpec, featureLayout } from '../../lib/dataset/features.js';
import type { TransformSpec } from '../../lib/dataset/transform.js';
import { BundleTooLargeError, MlaasError } from '../../lib/errors.js';
import { loadTfjsModel, rowsPerCall } from '../../lib/serving/engines/tfjs-engine.js';
import { ModelCache, type ServedModel } from '../../lib/serving/model-cache.js';
import { infer, metadata } from '../../lib/serving/open-inference.js';
import { predictJson } from '../../lib/serving/predict.js';
import { ModelRegistry } from '../../lib/serving/registry.js';
import { readTar } from '../../lib/serving/tar.js';
import { checkWeightSpecs, topologyWeights } from '../../lib/serving/weights-manifest.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { initBackend } from '../../lib/training/backend.js';
import { serializeModel } from '../../lib/training/model-io.js';
import { saveBundle } from '../helpers/bundles.js';
import { type TarEntry, tarGz } from '../helpers/tar.js';

const BRANCHES: Record<string, BranchSpec> = {
  a: { min: 0, max: 10, jagged: false, jdim: 0 },
  b: { min: -1, max: 1, jagged: false, jdim: 0 },
  j: { min: 0, max: 100, jagged: true, jdim: 2 },
};
const LAYOUT = featureLayout(BRANCHES);
const TRANSFORM: TransformSpec = {
  tree: 'tree',
  selection: { read: ['a', 'b', 'j'], features: ['a', 'b', 'j'] },
  layout: LAYOUT,
  branches: BRANCHES,
};
const FEATURES = ['a', 'b', 'j_0', 'j_1'];

let dir: string;
let store: LocalObjectStore;
let registry: ModelRegistry;
let counter = 0;

/** A dense 4→units model with fixed weights (different per seed). */
function makeModel(seed = 1, units = 1): tf.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [4],
        units,
        activation: units === 1 ? 'sigmoid' : 'softmax',
        name: `out${seed}`,
      }),
    ],
  });
  const w = Array.from({ length: 4 * units }, (_, i) => ((i % 5) - 2 + seed) * 0.37);
  m.setWeights([tf.tensor2d(w, [4, units]), tf.tensor1d(Array.from({ length: units }, () => 0.1 * seed))]);
  return m;
}

function paramsFor(name: string, version: string, classes: Array<number | string> = [0, 1]): BundleParams {
  return {
    name,
    model: 'model.json',
    labels: 'labels.txt',
    inputNode: 'input',
    outputNode: 'output',
    description: `test model ${name}`,
    timestamp: new Date().toISOString(),
    version,
    features: FEATURES,
    classes,
    transform: TRANSFORM,
    metrics: { test: { auc: 0.9 } },
    workflow: null,
    datasetFingerprint: 'x',
    backend: 'cpu',
    versions: {},
  };
}

/** Versions sort by time: later calls give later versions. */
function version(): string {
  counter++;
  return `20260101-0000${String(counter).padStart(2, '0')}-abcdef`;
}

async function publish(name: string, model: tf.LayersModel, v = version(), classes?: Array<number | string>) {
  return saveBundle(store, model, {
    params: paramsFor(name, v, classes),
    extras: { 'plots/loss.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>' },
  });
}

function direct(model: tf.LayersModel, rows: number[][]): number[] {
  return tf.tidy(() => Array.from((model.predict(tf.tensor2d(rows)) as tf.Tensor).dataSync()));
}

async function status(p: Promise<unknown>): Promise<{ status: number; message: string; code: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof MlaasError) return { status: err.status, message: err.message, code: err.code };
    throw err;
  }
  throw new Error('expected an error');
}

/** A TFaaS-style bundle of `model` under a folder: TFaaS params + features, weights in two shards. */
async function bundleEntries(model: tf.LayersModel, folder = 'bundle/'): Promise<TarEntry[]> {
  const tmp = new LocalObjectStore(await mkdtemp(join(tmpdir(), 'mlaas4hep-src-')));
  await saveBundle(tmp, model, { params: paramsFor('src', 'v1') });
  const mj = JSON.parse(new TextDecoder().decode((await tmp.get('models/src/v1/model.json'))!.body));
  const weights = (await tmp.get('models/src/v1/weights.bin'))!.body;
  mj.weightsManifest = [
    { paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: mj.weightsManifest[0].weights },
  ];
  const params = {
    name: 'ignored',
    model: 'model.json',
    labels: 'labels.txt',
    inputNode: 'dense_input',
    outputNode: 'out/Sigmoid',
    description: 'a TFaaS bundle',
    timestamp: '2026-01-01 00:00:00',
    features: ['f1', 'f2', 'f3', 'f4'],
  };
  return [
    { name: folder, type: '5' },
    { name: `${folder}params.json`, data: JSON.stringify(params) },
    { name: `${folder}model.json`, data: JSON.stringify(mj) },
    { name: `${folder}group1-shard1of2.bin`, data: weights.slice(0, 7) },
    { name: `${folder}group1-shard2of2.bin`, data: weights.slice(7) },
    { name: `${folder}labels.txt`, data: 'background\nsignal\n' },
    { name: `${folder}plots/roc.svg`, data: '<svg/>' },
  ];
}

const keysOf = async (s: ObjectStore) => (await s.list('')).map((o) => o.key);

beforeAll(async () => {
  await initBackend();
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-serving-'));
  store = new LocalObjectStore(dir);
  registry = new ModelRegistry(store);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('model registry', () => {
  it('lists the latest params of every model and describes complete versions newest first', async () => {
    const v1 = await publish('listed', makeModel(1));
    const v2 = await publish('listed', makeModel(2));
    await store.put(`models/listed/${version()}/params.json`, '{}'); // incomplete: never listed
    await publish('other', makeModel(3));
    const list = await registry.listModels();
    const listed = list.find((p) => p.name === 'listed')!;
    expect(listed.version).toBe(v2);
    expect(listed.inputNode).toBe('input');
    expect(list.map((p) => p.name)).toEqual(expect.arrayContaining(['listed', 'other']));
    const d = await registry.describeModel('listed');
    expect(d).toMatchObject({
      name: 'listed',
      latest: v2,
      versions: [v2, v1],
      features: FEATURES,
      classes: [0, 1],
    });
    expect(d.metrics).toEqual({ test: { auc: 0.9 } });
    expect(d.plots).toEqual(['loss']);
    expect((await status(registry.describeModel('nope'))).status).toBe(404);
  });

  it('serves plots by safe name only', async () => {
    const svg = await registry.plot('listed', 'latest', 'loss');
    expect(new TextDecoder().decode(svg)).toContain('<svg');
    expect((await status(registry.plot('listed', undefined, '../params'))).status).toBe(400);
    const missing = await status(registry.plot('listed', undefined, 'roc'));
    expect(missing.status).toBe(404);
    expect(missing.message).toContain('loss');
  });

  it('deleting the latest version moves latest to the newest remaining one, then removes it', async () => {
    const v1 = await publish('del', makeModel(1));
    const v2 = await publish('del', makeModel(2));
    expect(await registry.deleteModel('del', v2)).toEqual({ deleted: [v2], latest: v1 });
    expect((await registry.describeModel('del')).versions).toEqual([v1]);
    expect(await registry.deleteModel('del', v1)).toEqual({ deleted: [v1], latest: undefined });
    expect(await keysOf(store)).not.toContain('models/del/latest');
    expect((await status(registry.deleteModel('del'))).status).toBe(404);
  });
});

describe('TFaaS /json predictions', () => {
  let model: tf.LayersModel;
  let cache: ModelCache;
  beforeAll(async () => {
    model = makeModel(5);
    await publish('json', model);
    await publish('multi', makeModel(6, 3), undefined, ['x', 'y', 'z']);
    cache = new ModelCache(store);
  });
  const row = [0.2, 0.4, 0.1, 0.9];

  it('take normalised features in the bundle order and give one probability per row', async () => {
    const p = await predictJson(cache, { model: 'json', keys: FEATURES, values: row });
    expect(p).toHaveLength(1);
    expect(p[0]).toBeCloseTo(direct(model, [row])[0], 6);
  });

  it('reorder normalised features given in another order', async () => {
    const p = await predictJson(cache, {
      model: 'json',
      keys: ['j_1', 'a', 'j_0', 'b'],
      values: [0.9, 0.2, 0.1, 0.4],
    });
    expect(p[0]).toBeCloseTo(direct(model, [row])[0], 6);
  });

  it('normalise and pad raw branch values with the bundle transform', async () => {
    // a = 3 → 0.3; b = 0 → 0.5; j = [40] → [0.4, 0 (padding)]
    const p = await predictJson(cache, { model: 'json', keys: ['b', 'j', 'a'], values: [0, [40], 3] });
    expect(p[0]).toBeCloseTo(direct(model, [[0.3, 0.5, 0.4, 0]])[0], 6);
    const batch = await predictJson(cache, {
      model: 'json',
      keys: ['a', 'b', 'j'],
      values: [
        [3, 0, [40]],
        [10, 1, [100, 50, 7]],
      ],
    });
    expect(batch as number[]).toEqual(
      direct(model, [
        [0.3, 0.5, 0.4, 0],
        [1, 1, 1, 0.5],
      ]).map((x) => expect.closeTo(x, 6)),
    );
  });

  it('give one probability per row for a batch, and class probabilities for multi-class models', async () => {
    const rows = [row, [1, 0, 0, 1], [0, 0, 0, 0]];
    const p = await predictJson(cache, { model: 'json', keys: FEATURES, values: rows });
    expect(p).toHaveLength(3);
    expect(p).toEqual(direct(model, rows).map((x) => expect.closeTo(x, 6)));
    const multi = (await predictJson(cache, { model: 'multi', keys: FEATURES, values: rows })) as number[][];
    expect(multi).toHaveLength(3);
    for (const probs of multi) {
      expect(probs).toHaveLength(3);
      expect(probs.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 5);
    }
  });

  it('refuse a wrong feature count with 422 stating the expected count and names', async () => {
    const e = await status(predictJson(cache, { model: 'json', keys: ['a', 'b', 'j_0'], values: [1, 2, 3] }));
    expect(e.status).toBe(422);
    expect(e.message).toContain('expected 4 features');
    expect(e.message).toContain('a, b, j_0, j_1');
  });

  it('refuse unknown input names with 422 naming them and suggesting close ones', async () => {
    const e = await status(
      predictJson(cache, { model: 'json', keys: ['a', 'b', 'j_0', 'j_l'], values: row }),
    );
    expect(e.status).toBe(422);
    expect(e.message).toMatch(/"j_l": did you mean .*"j_1"/);
  });

  it('refuse non-finite numbers, strings and nested garbage with 400', async () => {
    for (const values of [
      [0.1, 'x', 0, 0],
      [0.1, null, 0, 0],
      [0.1, [[1]], 0, 0],
      [0.1, Number.NaN, 0, 0],
      [0.1, 3.5e38, 0, 0],
      [0.1, Number.NEGATIVE_INFINITY, 0, 0],
    ])
      expect((await status(predictJson(cache, { model: 'json', keys: FEATURES, values }))).status).toBe(400);
    expect(
      (await status(predictJson(cache, { model: 'json', keys: ['a', 'b', 'j'], values: [1, 2, ['x']] })))
        .status,
    ).toBe(400);
    expect((await status(predictJson(cache, { model: 'json', keys: 'a', values: row }))).status).toBe(400);
    expect((await status(predictJson(cache, 'not an object'))).status).toBe(400);
  });

  it('refuse keys naming an input twice with 400 naming it, whether or not the count matches', async () => {
    for (const keys of [
      ['a', 'j_0', 'a', 'j_1'],
      ['a', 'b', 'a'],
    ]) {
      const e = await status(predictJson(cache, { model: 'json', keys, values: row.slice(0, keys.length) }));
      expect([keys, e.status, e.message]).toEqual([keys, 400, '"keys" names a twice']);
    }
  });

  it('refuse an unknown model with 404 and an oversized batch with 413', async () => {
    const e = await status(predictJson(cache, { model: 'no-such-model', keys: FEATURES, values: row }));
    expect([e.status, e.code]).toEqual([404, 'ModelNotFound']);
    const big = await status(
      predictJson(cache, { model: 'json', keys: FEATURES, values: [row, row, row] }, { maxRows: 2 }),
    );
    expect(big.status).toBe(413);
  });
});

describe('model cache', () => {
  it('loads once and counts the second request as a hit; concurrent first requests share one load', async () => {
    await publish('cached', makeModel(1));
    let weightReads = 0;
    const counting: ObjectStore = {
      name: 'counting',
      get: (k) => {
        if (k.endsWith('/weights.bin')) weightReads++;
        return store.get(k);
      },
      put: (k, b, o) => store.put(k, b, o),
      delete: (k) => store.delete(k),
      list: (p) => store.list(p),
    };
    const cache = new ModelCache(counting);
    expect(await Promise.all([cache.ready('cached'), cache.ready('cached'), cache.ready('cached')])).toEqual([
      true,
      true,
      true,
    ]);
    expect(weightReads).toBe(1);
    // whether the concurrent callers joined the load as hits depends on timing; the next call is one
    const before = cache.stats().hits;
    await cache.ready('cached');
    expect(cache.stats()).toMatchObject({ models: 1, hits: before + 1, evictions: 0 });
    expect(weightReads).toBe(1);
    expect(cache.stats().bytes).toBeGreaterThan(0);
    expect((await status(cache.ready('never-uploaded'))).status).toBe(404);
  });

  it('serves a re-uploaded version on the next request, and 404 once the model is deleted', async () => {
    const cache = new ModelCache(store);
    const first = makeModel(1);
    const second = makeModel(4);
    await publish('moving', first);
    const body = { model: 'moving', keys: FEATURES, values: [0.5, 0.5, 0.5, 0.5] };
    expect((await predictJson(cache, body))[0]).toBeCloseTo(direct(first, [body.values])[0], 6);
    await publish('moving', second);
    expect((await predictJson(cache, body))[0]).toBeCloseTo(direct(second, [body.values])[0], 6);
    await registry.deleteModel('moving');
    const e = await status(predictJson(cache, body));
    expect([e.status, e.code]).toEqual([404, 'ModelNotFound']);
    expect(cache.stats().models).toBe(0);
  });

  it('evicts the least recently used model beyond its byte bound and disposes it', async () => {
    await publish('lru1', makeModel(1));
    await publish('lru2', makeModel(2));
    await publish('lru3', makeModel(3));
    const probe = new ModelCache(store);
    await probe.ready('lru1');
    const one = probe.stats().bytes;
    const cache = new ModelCache(store, { maxBytes: Math.floor(one * 2.5) });
    await cache.ready('lru1');
    const victim = await cache.use('lru2', undefined, (m) => m);
    await cache.ready('lru1'); // lru2 is now the least recently used
    await cache.ready('lru3');
    expect(cache.stats()).toMatchObject({ models: 2, evictions: 1 });
    await new Promise((r) => setImmediate(r));
    await expect(victim.engine.predict([new Float32Array(4)], 1)).rejects.toThrow();
    const hits = cache.stats().hits;
    await cache.ready('lru1');
    expect(cache.stats().hits).toBe(hits + 1);
    await cache.ready('lru2'); // reloaded: a miss
    expect(cache.stats()).toMatchObject({ models: 2, evictions: 2, hits: hits + 1 });
  });

  it('keeps a model usable by a running request while it is evicted, and disposes it afterwards', async () => {
    const probe = new ModelCache(store);
    await probe.ready('lru1');
    const cache = new ModelCache(store, { maxBytes: Math.floor(probe.stats().bytes * 1.5) });
    let held: ServedModel | undefined;
    const p = await cache.use('lru1', undefined, async (m) => {
      held = m;
      await cache.ready('lru2'); // evicts lru1
      await new Promise((r) => setImmediate(r));
      return (await m.engine.predict([Float32Array.of(0.5, 0.5, 0.5, 0.5)], 1))[0];
    });
    expect(p).toBeCloseTo(direct(makeModel(1), [[0.5, 0.5, 0.5, 0.5]])[0], 6);
    expect(cache.stats()).toMatchObject({ models: 1, evictions: 1 });
    await new Promise((r) => setImmediate(r));
    await expect(held!.engine.predict([new Float32Array(4)], 1)).rejects.toThrow();
  });
});

describe('bundle upload', () => {
  it('accepts a TFaaS-style tar.gz under one folder, with sharded weights, and serves it', async () => {
    const model = makeModel(7);
    const res = await registry.uploadBundle('uploaded', tarGz(await bundleEntries(model)), {
      maxBytes: 1 << 20,
    });
    expect(res.features).toEqual(['f1', 'f2', 'f3', 'f4']);
    expect(res.classes).toEqual(['background', 'signal']);
    const d = await registry.describeModel('uploaded');
    expect(d.latest).toBe(res.version);
    expect(d.plots).toEqual(['roc']);
    const cache = new ModelCache(store);
    const p = await predictJson(cache, {
      model: 'uploaded',
      keys: ['f4', 'f3', 'f2', 'f1'],
      values: [4, 3, 2, 1],
    });
    expect(p[0]).toBeCloseTo(direct(model, [[1, 2, 3, 4]])[0], 6);
    const params = (await registry.listModels()).find((m) => m.name === 'uploaded')!;
    expect(params).toMatchObject({
      description: 'a TFaaS bundle',
      inputNode: 'dense_input',
      model: 'model.json',
    });
  });

  it('refuses path traversal, absolute paths, links and oversized archives, writing nothing', async () => {
    const good = await bundleEntries(makeModel(8), '');
    const cases: Array<[string, TarEntry[], number]> = [
      ['dot-dot', [...good, { name: '../x', data: 'evil' }], 400],
      ['nested dot-dot', [...good, { name: 'plots/../../x', data: 'evil' }], 400],
      ['absolute', [...good, { name: '/etc/x', data: 'evil' }], 400],
      ['symlink', [...good, { name: 'link', type: '2', link: '/etc/passwd' }], 400],
      ['hardlink', [...good, { name: 'hard', type: '1', link: 'params.json' }], 400],
      ['device', [...good, { name: 'dev', type: '3' }], 400],
      ['too large', [...good, { name: 'big.bin', data: new Uint8Array(5000) }], 413],
      ['no model.json', good.filter((e) => e.name !== 'model.json'), 400],
      ['no params.json', good.filter((e) => e.name !== 'params.json'), 400],
      ['missing weights', good.filter((e) => !e.name.endsWith('.bin')), 400],
    ];
    const before = await keysOf(store);
    for (const [what, entries, code] of cases) {
      const e = await status(registry.uploadBundle('refused', tarGz(entries), { maxBytes: 4096 }));
      expect([what, e.status]).toEqual([what, code]);
    }
    expect(await keysOf(store)).toEqual(before);
  });

  it('refuses a gzip bomb before unpacking it fully', async () => {
    const bomb = tarGz([{ name: 'params.json', data: new Uint8Array(50 << 20) }]);
    await expect(registry.uploadBundle('bomb', bomb, { maxBytes: 1 << 20 })).rejects.toBeInstanceOf(
      BundleTooLargeError,
    );
  });

  it('reads tar headers written by hand, checking checksums', () => {
    const tar = new Uint8Array(gunzipSync(tarGz([{ name: 'a/b.txt', data: 'hello' }])));
    expect(readTar(tar, { maxBytes: 100 }).map((f) => [f.path, new TextDecoder().decode(f.data)])).toEqual([
      ['a/b.txt', 'hello'],
    ]);
    tar[0] ^= 1;
    expect(() => readTar(tar, { maxBytes: 100 })).toThrow(/checksum/);
  });
});

describe('Open Inference Protocol v2', () => {
  let model: tf.LayersModel;
  let cache: ModelCache;
  let v: string;
  beforeAll(async () => {
    model = makeModel(9);
    v = await publish('oip', model);
    cache = new ModelCache(store);
  });

  it('describes the model tensors and versions', async () => {
    expect(await metadata(cache, 'oip')).toEqual({
      name: 'oip',
      versions: [v],
      platform: 'tensorflowjs',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 1] }],
    });
  });

  it('infers on flat and nested data and echoes the request id', async () => {
    const rows = [
      [0.1, 0.2, 0.3, 0.4],
      [1, 0, 1, 0],
    ];
    const want = direct(model, rows);
    for (const data of [rows.flat(), rows]) {
      const r = await infer(cache, 'oip', undefined, {
        id: 'req-1',
        inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP64', data }],
      });
      expect(r).toMatchObject({ model_name: 'oip', model_version: v, id: 'req-1' });
      expect(r.outputs[0]).toMatchObject({ name: 'probabilities', shape: [2, 1], datatype: 'FP32' });
      expect(r.outputs[0].data).toEqual(want.map((x) => expect.closeTo(x, 6)));
    }
  });

  it('refuses malformed requests with 400 and a wrong width with 422', async () => {
    const input = { name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] };
    const malformed: unknown[] = [
      {},
      { inputs: [] },
      { inputs: [{ ...input, datatype: 'BYTES' }] },
      { inputs: [{ ...input, shape: [4] }] },
      { inputs: [{ ...input, data: [1, 2, 3] }] },
      { inputs: [{ ...input, data: [1, 2, 3, 'x'] }] },
      { inputs: [{ ...input, datatype: 'INT32', data: [1, 2, 3, 4.5] }] },
      { inputs: [input], outputs: [{ name: 'logits' }] },
    ];
    for (const req of malformed) {
      const e = await status(infer(cache, 'oip', undefined, req));
      expect([JSON.stringify(req), e.status]).toEqual([JSON.stringify(req), 400]);
      expect(e.message).toMatch(/malformed inference request/);
    }
    const wide = await status(
      infer(cache, 'oip', undefined, { inputs: [{ ...input, shape: [1, 5], data: [1, 2, 3, 4, 5] }] }),
    );
    expect(wide.status).toBe(422);
    expect(wide.message).toContain('expected 4 features');
  });
});

describe('serving under concurrent load', () => {
  it('shares revalidation reads among concurrent requests, each still seeing an upload finished before it arrived', async () => {
    const first = makeModel(2);
    const second = makeModel(5);
    await publish('shared', first);
    let stamps = 0;
    const counting: ObjectStore = {
      name: 'counting',
      get: (k) => store.get(k),
      put: (k, b, o) => store.put(k, b, o),
      delete: (k) => store.delete(k),
      list: (p) => store.list(p),
      stamp: (k) => {
        stamps++;
        return store.stamp(k);
      },
    };
    const cache = new ModelCache(counting);
    const body = (values: number[]) => ({ model: 'shared', keys: FEATURES, values });
    await predictJson(cache, body([0.1, 0.2, 0.3, 0.4]));
    stamps = 0;
    const rows = Array.from({ length: 50 }, (_, i) => [i / 50, 0.5, 1 - i / 50, 0.25]);
    const got = await Promise.all(rows.map((r) => predictJson(cache, body(r))));
    // requests of one turn of the event loop share one round: two stamps, not two per request
    expect(stamps).toBe(2);
    for (const [i, r] of rows.entries()) expect(got[i][0]).toBeCloseTo(direct(first, [r])[0], 6);
    await publish('shared', second);
    const after = await Promise.all(rows.map((r) => predictJson(cache, body(r))));
    for (const [i, r] of rows.entries()) expect(after[i][0]).toBeCloseTo(direct(second, [r])[0], 6);
  });

  it('answers concurrent single-row requests with one model call, each row getting its own score', async () => {
    const model = makeModel(3);
    await publish('batched', model);
    const cache = new ModelCache(store);
    const calls = await cache.use('batched', undefined, (m) => {
      const spy = { n: 0 };
      const predict = m.engine.predict.bind(m.engine);
      m.engine.predict = (x, rows) => {
        spy.n++;
        return predict(x, rows);
      };
      return spy;
    });
    const rows = Array.from({ length: 40 }, (_, i) => [i / 40, (i % 7) / 7, 0.3, 1 - i / 40]);
    const got = await Promise.all(
      rows.map((r) => predictJson(cache, { model: 'batched', keys: FEATURES, values: r })),
    );
    for (const [i, r] of rows.entries()) expect(got[i][0]).toBeCloseTo(direct(model, [r])[0], 6);
    expect(calls.n).toBeLessThanOrEqual(2);
  });
});

describe('weights manifest and topology checks', () => {
  const dense = (units: number, extra: Record<string, unknown> = {}) => ({
    class_name: 'Dense',
    config: { name: `d${units}`, units, ...extra },
  });
  const seq = (...layers: unknown[]) => ({ class_name: 'Sequential', config: { name: 's', layers } });

  it('count the weights of the topologies trained and exported here, as TensorFlow.js builds them', async () => {
    const m = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [7], units: 5, activation: 'relu' }),
        tf.layers.batchNormalization(),
        tf.layers.dropout({ rate: 0.1 }),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    const { modelTopology } = JSON.parse((await serializeModel(m)).modelJson);
    expect(topologyWeights(modelTopology, 'model.json')).toBe(m.countParams());
    m.dispose();
  });

  it('count a functional model with a concatenation, and refuse layer classes they cannot count', () => {
    const fn = {
      class_name: 'Model',
      config: {
        layers: [
          { class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: [null, 3] } },
          { ...dense(2), name: 'd2', inbound_nodes: [[['in', 0, 0, {}]]] },
          {
            class_name: 'Concatenate',
            name: 'c',
            config: { name: 'c' },
            inbound_nodes: [
              [
                ['in', 0, 0, {}],
                ['d2', 0, 0, {}],
              ],
            ],
          },
          { ...dense(1), name: 'd1', inbound_nodes: [[['c', 0, 0, {}]]] },
        ],
      },
    };
    expect(topologyWeights(fn, 'model.json')).toBe(3 * 2 + 2 + 5 * 1 + 1);
    expect(() => topologyWeights(seq({ class_name: 'Conv2D', config: {} }), 'model.json')).toThrow(
      /class "Conv2D", which cannot be uploaded here/,
    );
    expect(() => topologyWeights(seq(dense(4)), 'model.json')).toThrow(/no known input width/);
    expect(() =>
      topologyWeights(seq(dense(70_000, { batch_input_shape: [null, 70_000] }), dense(70_000)), 'model.json'),
    ).toThrow(/more than 2147483648 weights/);
  });

  it('refuse string and unknown dtypes, shapes that are not whole numbers, and bytes the archive does not hold', () => {
    const w = (dtype: string, shape: unknown, quantization?: unknown) =>
      ({ name: 'k', dtype, shape, quantization }) as tf.io.WeightsManifestEntry;
    expect(checkWeightSpecs([w('float32', [2, 3])], 24, 'model.json')).toBe(6);
    expect(checkWeightSpecs([w('float32', [4], { dtype: 'uint8', min: 0, scale: 1 })], 4, 'model.json')).toBe(
      4,
    );
    expect(() => checkWeightSpecs([w('string', [1e9])], 4, 'model.json')).toThrow(/dtype "string"/);
    expect(() => checkWeightSpecs([w('complex64', [1])], 8, 'model.json')).toThrow(/dtype "complex64"/);
    expect(() => checkWeightSpecs([w('float32', [1.5])], 4, 'model.json')).toThrow(/no valid shape/);
    expect(() => checkWeightSpecs([w('float32', [65536, 65536, 2])], 4, 'model.json')).toThrow(
      /more than 2147483648 values/,
    );
    expect(() => checkWeightSpecs([w('float32', [3])], 8, 'model.json')).toThrow(
      /the weights hold 8 bytes but model.json describes 12/,
    );
    expect(() => checkWeightSpecs([], 0, 'model.json')).toThrow(/lists no weights/);
  });
});

describe('TensorFlow.js predictions on wide models', () => {
  it('split a batch into calls whose activations stay within a bound, with the scores of one call', async () => {
    const wide = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [4], units: 65536, activation: 'relu' }),
        tf.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    // 65,537 floats in flight per row: 8,192 rows at once wanted 2 GiB of WebAssembly memory
    expect(rowsPerCall(wide)).toBe(Math.floor((64 * 2 ** 20) / (8 * 65537)));
    expect(rowsPerCall(makeModel(1))).toBe(8192);
    const { modelJson, weights } = await serializeModel(wide);
    const engine = await loadTfjsModel(new TextEncoder().encode(modelJson), weights, 'in', 'wide');
    const rows = Array.from({ length: 300 }, (_, i) => [i / 300, 1 - i / 300, 0.5, -0.5]);
    const got = await engine.predict([new Float32Array(rows.flat())], rows.length);
    const want = direct(wide, rows);
    expect(Array.from(got).every((v, i) => Math.abs(v - want[i]) < 1e-5)).toBe(true);
    engine.dispose();
    wide.dispose();
  });
});
