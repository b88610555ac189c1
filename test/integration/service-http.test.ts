import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predict } from '../../bin/commands/predict.js';
import { MemorySpecsCache } from '../../lib/dataset/cache.js';
import { openRoot } from '../../lib/root/file.js';
import { type Stack, startStack } from '../../lib/service/stack.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { initBackend } from '../../lib/training/backend.js';
import { hasShared, SYNTH_DIR } from '../helpers/reference.js';

const SIGNAL = join(SYNTH_DIR, 'signal.root');
const workflow = {
  name: 'http-model',
  files: [SIGNAL, join(SYNTH_DIR, 'background.root')],
  labels: [1, 0],
  params: { branch: 'Events', nevts: 10_000, chunk_size: 5_000, epochs: 1 },
};

let dir: string;
let stack: Stack;
let alice: string;
let bob: string;
let viewer: string;

async function call(
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json: json as Record<string, unknown> & unknown[], headers: res.headers };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-http-'));
  const backend = await initBackend();
  stack = await startStack({
    store: new LocalObjectStore(dir),
    worker: {
      dataset: { openFile: (s) => openRoot(s), cache: new MemorySpecsCache() },
      backend,
      pollMs: 200,
    },
    log: () => {},
  });
  alice = stack.token!('alice', ['submit', 'predict']);
  bob = stack.token!('bob', ['submit', 'predict']);
  viewer = stack.token!('carol', ['predict']);
});
afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the HTTP API of `mlaas4hep serve`', () => {
  it('health routes are public; everything else needs a token with the right scope', async () => {
    expect((await call('GET', '/v2/health/live')).status).toBe(200);
    const none = await call('GET', '/jobs');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await call('GET', '/jobs', 'not.a.token')).status).toBe(401);
    const scope = await call('POST', '/submit', viewer, workflow);
    expect(scope.status).toBe(403);
    expect(scope.json.message).toMatch(/"submit" scope/);
    expect((await call('GET', '/nowhere', alice)).status).toBe(404);
  });

  it('bad bodies get 4xx with a clear message', async () => {
    expect((await call('POST', '/submit', alice, '{"files": [')).status).toBe(400);
    const deep = await call('POST', '/json', alice, `${'['.repeat(100)}${']'.repeat(100)}`);
    expect(deep.status).toBe(400);
    expect(deep.json.message).toMatch(/nested/);
    const big = await call('POST', '/submit', alice, JSON.stringify({ files: ['x'.repeat(1_100_000)] }));
    expect(big.status).toBe(413);
    const bad = await call('POST', '/submit', alice, { ...workflow, params: { chunksize: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/unknown key/);
  });

  it.skipIf(!hasShared)(
    'submit → queued → running → succeeded; the model is listed and answers /json and /v2 like the CLI',
    async () => {
      const sub = await call('POST', '/submit', alice, workflow, { 'idempotency-key': 'run-1' });
      expect(sub.status).toBe(202);
      expect(sub.json.status).toBe('queued');
      const again = await call('POST', '/submit', alice, workflow, { 'idempotency-key': 'run-1' });
      expect(again.json.job_id).toBe(sub.json.job_id);
      const id = sub.json.job_id as string;
      expect((await call('GET', `/jobs/${id}`, bob)).status).toBe(404);
      let status = '';
      for (let i = 0; i < 300 && !['succeeded', 'failed'].includes(status); i++) {
        await new Promise((r) => setTimeout(r, 200));
        status = (await call('GET', `/jobs/${id}`, alice)).json.status as string;
      }
      const job = (await call('GET', `/jobs/${id}`, alice)).json;
      expect(job.status).toBe('succeeded');
      const version = (job.model as { version: string }).version;
      const models = (await call('GET', '/models', viewer)).json as Array<{
        name: string;
        features: string[];
      }>;
      const model = models.find((m) => m.name === 'http-model')!;
      expect(model).toBeDefined();
      expect((await call('GET', `/models/http-model/${version}/plots/roc.svg`, viewer)).status).toBe(200);

      // the same rows through the CLI's predict and through the API
      const cli = new (class extends Writable {
        text = '';
        override _write(c: Buffer, _e: string, done: () => void) {
          this.text += c.toString();
          done();
        }
      })();
      await predict(['--model', join(dir, 'models', 'http-model', version), SIGNAL], cli);
      const expected = cli.text
        .trim()
        .split('\n')
        .slice(1, 6)
        .map((l) => Number(l.split(',')[1]));
      const { transformFile } = await import('../../lib/dataset/transform.js');
      const { BundleStore } = await import('../../lib/bundles/bundle-store.js');
      const bundle = await new BundleStore(new LocalObjectStore(dir)).read('http-model');
      const f = await openRoot(SIGNAL);
      const first = (await transformFile(f, bundle.params.transform!, 5).next()).value!;
      await f.close();
      const width = model.features.length;
      const rows = Array.from({ length: 5 }, (_, i) =>
        Array.from(first.x.subarray(i * width, (i + 1) * width)),
      );
      const json = (
        await call('POST', '/json', viewer, { model: 'http-model', keys: model.features, values: rows })
      ).json as number[];
      const v2 = (
        await call('POST', '/v2/models/http-model/infer', viewer, {
          inputs: [{ name: 'x', shape: [5, width], datatype: 'FP32', data: rows.flat() }],
        })
      ).json as unknown as { outputs: Array<{ data: number[] }> };
      for (let i = 0; i < 5; i++) {
        expect(Math.abs(json[i] - expected[i])).toBeLessThan(1e-5);
        expect(Math.abs(v2.outputs[0].data[i] - expected[i])).toBeLessThan(1e-5);
      }
      const wrong = await call('POST', '/json', viewer, {
        model: 'http-model',
        keys: model.features.slice(1),
        values: rows[0].slice(1),
      });
      expect(wrong.status).toBe(422);
      expect(wrong.json.message).toMatch(new RegExp(String(width)));
    },
  );
});
