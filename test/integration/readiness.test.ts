import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleParams } from '../../lib/bundles/params.js';
import { UnavailableError } from '../../lib/errors.js';
import { type Stack, startStack } from '../../lib/service/stack.js';
import { holdReadiness } from '../../lib/serving/readiness.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { saveBundle } from '../helpers/bundles.js';

/** A local store that can be switched to fail every read, as S3 does when it is unreachable. */
class SwitchableStore implements ObjectStore {
  readonly name = 'switchable';
  down = false;
  constructor(private readonly inner: LocalObjectStore) {}
  private check(what: string) {
    if (this.down)
      throw new UnavailableError(
        `the object store is unavailable (${what}: connect ECONNREFUSED 10.0.0.7:443)`,
      );
  }
  async get(k: string) {
    this.check('get');
    return this.inner.get(k);
  }
  async put(k: string, b: Uint8Array | string, o?: Parameters<ObjectStore['put']>[2]) {
    this.check('put');
    return this.inner.put(k, b, o);
  }
  async delete(k: string) {
    this.check('delete');
    return this.inner.delete(k);
  }
  async list(p: string) {
    this.check('list');
    return this.inner.list(p);
  }
}

const params = (version: string, features: string[]): BundleParams => ({
  name: 'ready-model',
  model: 'model.json',
  labels: 'labels.txt',
  inputNode: 'input',
  outputNode: 'output',
  description: 'readiness test model',
  timestamp: new Date().toISOString(),
  version,
  features,
  classes: [0, 1],
  metrics: {},
  workflow: null,
  datasetFingerprint: 'x',
  backend: 'cpu',
  versions: {},
});

let dir: string;
let store: SwitchableStore;
let stack: Stack;
let token: string;
const V1 = '20260101-000001-abcdef';
const V2 = '20260101-000002-abcdef';

async function get(path: string) {
  const res = await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-ready-'));
  store = new SwitchableStore(new LocalObjectStore(dir));
  // two versions that differ in their inputs, so metadata shows which one answered
  const model = (width: number) =>
    tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [width], activation: 'sigmoid' })] });
  await saveBundle(store, model(2), { params: params(V1, ['a', 'b']) });
  await saveBundle(store, model(3), { params: params(V2, ['a', 'b', 'c']) });
  stack = await startStack({ store, log: () => {} });
  token = stack.token!('alice', ['predict']);
});
afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('server readiness (GET /v2/health/ready) reflects the engine and the store', () => {
  it('answers 200 ready when the backend starts and the store answers', async () => {
    const r = await get('/v2/health/ready');
    expect(r).toEqual({
      status: 200,
      json: { ready: true, checks: { engine: { ready: true }, store: { ready: true } } },
    });
  });

  it('answers 503 while the store cannot be read, without its internals, and 200 once it is back', async () => {
    store.down = true;
    try {
      const r = await get('/v2/health/ready');
      expect(r.status).toBe(503);
      expect(r.json.ready).toBe(false);
      expect(r.json.checks).toEqual({
        engine: { ready: true },
        store: { ready: false, reason: 'the model store cannot be read' },
      });
      expect(JSON.stringify(r.json)).not.toContain('10.0.0.7');
    } finally {
      store.down = false;
    }
    expect((await get('/v2/health/ready')).status).toBe(200);
  });

  it('answers 503 while a component holds readiness (an engine being re-created), 200 once released', async () => {
    const release = holdReadiness('the inference engine is being re-created');
    const r = await get('/v2/health/ready');
    release();
    expect(r.status).toBe(503);
    expect(r.json.checks).toMatchObject({
      engine: { ready: false, reason: 'the inference engine is being re-created' },
    });
    expect((await get('/v2/health/ready')).status).toBe(200);
  });
});

describe('per-version model routes of the Open Inference Protocol', () => {
  it('say ready for a named version and for the latest, 404 for a version that does not exist', async () => {
    expect(await get(`/v2/models/ready-model/versions/${V1}/ready`)).toEqual({
      status: 200,
      json: { name: 'ready-model', version: V1, ready: true },
    });
    expect(await get('/v2/models/ready-model/ready')).toEqual({
      status: 200,
      json: { name: 'ready-model', ready: true },
    });
    const missing = await get('/v2/models/ready-model/versions/20991231-000000-abcdef/ready');
    expect(missing.status).toBe(404);
  });

  it("give a named version's metadata, distinct from the latest's", async () => {
    const v1 = await get(`/v2/models/ready-model/versions/${V1}`);
    const latest = await get('/v2/models/ready-model');
    expect(v1.status).toBe(200);
    expect(v1.json).toMatchObject({ name: 'ready-model', versions: expect.arrayContaining([V1, V2]) });
    const width = (m: Record<string, unknown>) => (m.inputs as Array<{ shape: number[] }>)[0].shape;
    expect(width(v1.json)).toEqual([-1, 2]);
    expect(latest.status).toBe(200);
    expect(width(latest.json)).toEqual([-1, 3]);
    expect((await get('/v2/models/ready-model/versions/20991231-000000-abcdef')).status).toBe(404);
  });
});
