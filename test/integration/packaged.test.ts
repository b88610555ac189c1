import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevIssuer, type DevIssuer } from '../../lib/auth/dev-issuer.js';
import { createVerifier } from '../../lib/auth/verifier.js';
import { s3DataAccess } from '../../lib/aws/s3-data-access.js';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { SqsJobQueue } from '../../lib/aws/sqs-queue.js';
import { ROUTES, routeKey } from '../../lib/service/route-table.js';
import { type Stack, startStack } from '../../lib/service/stack.js';
import { httpEvent, s3Event } from '../helpers/lambda-events.js';
import { type SqsEmulator, startSqs } from '../helpers/local-aws.js';
import {
  type Invocation,
  invokePackaged,
  lambdaNode,
  onnxRuntimeLayer,
  type Packaged,
  packageStack,
  unpackFunction,
} from '../helpers/packaged.js';
import {
  functionEnv,
  handlerOf,
  onnxForm,
  seedStore,
  TFJS_MODEL,
  TFJS_VERSION,
  tfjsBundleTarGz,
  workflow,
} from '../helpers/packaged-fixtures.js';
import { hasShared, SHARED } from '../helpers/reference.js';
import { type S3Emulator, startS3Emulator } from '../helpers/s3-emulator.js';

// What would be deployed, run as Lambda runs it: `serverless package --stage ci`, each zip unpacked
// outside the repository (predict with the onnxruntime layer in opt/), each handler imported by the
// runtime's Node major with the function's own environment, and called with API Gateway v2 events.
// The same requests go to `serve` (lib/service/stack.ts) on a twin bucket and queue: every route
// must answer as it does there.

type Fn = 'submit' | 'jobs' | 'models' | 'predict' | 'data' | 'console';
const JOB_ID_FROM_KEY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Request {
  fn: Fn;
  method: string;
  path: string;
  body?: unknown;
  raw?: Uint8Array;
  headers?: Record<string, string>;
  query?: string;
  /** no token at all */
  anonymous?: true;
}

interface Answer {
  status: number;
  body: unknown;
}

let p: Packaged;
let node: string;
let s3: S3Emulator;
let sqs: SqsEmulator;
let dev: DevIssuer;
let token: string;
let serve: Stack;
let dir: string;
const queues: Record<string, string> = {};
const onnx = hasShared
  ? (JSON.parse(readFileSync(join(SHARED, 'onnx', 'synth_mlp_binary.json'), 'utf8')) as {
      reference: { inputs: { features: unknown[][] }; outputs: { score: number[][] } };
    })
  : undefined;

/** Answers as a client compares them: per-world names, times and random versions made equal. */
function normalise(text: string, bucket: string): unknown {
  const t = text
    .replaceAll(bucket, '<bucket>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/\b\d{8}-\d{6}-[0-9a-f]{6}\b/g, (v) => (v === TFJS_VERSION ? v : '<version>'));
  let body: unknown;
  try {
    body = JSON.parse(t);
  } catch {
    return t;
  }
  // float noise between TensorFlow.js backends (wasm here, whichever serve chose)
  return JSON.parse(
    JSON.stringify(body, (_k, v) => (typeof v === 'number' && !Number.isInteger(v) ? +v.toFixed(5) : v)),
  );
}

/** The requests, function by function; `{job}` stands for the job the first submit made. */
async function requests(): Promise<Request[]> {
  const key = { 'idempotency-key': 'packaged-1' };
  const tar = await tfjsBundleTarGz('uploaded-tfjs');
  const rows = [
    [1, 0.5],
    [2, -0.5],
  ];
  const oip = {
    id: 'fixed',
    inputs: [{ name: 'input', shape: [2, 2], datatype: 'FP32', data: rows.flat() }],
  };
  const list: Request[] = [
    { fn: 'submit', method: 'POST', path: '/submit', body: 'WORKFLOW', headers: key },
    // a client's retry: the same job, not written nor queued again
    { fn: 'submit', method: 'POST', path: '/submit', body: 'WORKFLOW', headers: key },
    {
      fn: 'submit',
      method: 'POST',
      path: '/submit',
      body: { ...workflow('x'), files: ['s3://elsewhere/a.root', 's3://elsewhere/b.root'] },
    },
    {
      fn: 'submit',
      method: 'POST',
      path: '/submit',
      body: { ...workflowOf('x'), model: { layers: 'many' } },
    },
    { fn: 'submit', method: 'POST', path: '/submit', body: 'WORKFLOW', anonymous: true },
    { fn: 'jobs', method: 'GET', path: '/jobs' },
    { fn: 'jobs', method: 'GET', path: '/jobs/{job}' },
    { fn: 'jobs', method: 'GET', path: '/jobs/{job}/logs' },
    { fn: 'jobs', method: 'DELETE', path: '/jobs/{job}' },
    { fn: 'jobs', method: 'GET', path: '/jobs/00000000-0000-4000-8000-000000000000' },
    { fn: 'jobs', method: 'POST', path: '/jobs' },
    { fn: 'models', method: 'GET', path: '/models' },
    { fn: 'models', method: 'GET', path: `/models/${TFJS_MODEL}` },
    { fn: 'models', method: 'GET', path: `/models/${TFJS_MODEL}/latest/plots/loss.svg` },
    { fn: 'models', method: 'GET', path: `/models/${TFJS_MODEL}`, query: `version=${TFJS_VERSION}` },
    // a TensorFlow.js bundle has no model.onnx to download alone
    {
      fn: 'models',
      method: 'GET',
      path: `/models/${TFJS_MODEL}/${TFJS_VERSION}/download`,
      query: 'file=model.onnx',
    },
    {
      fn: 'models',
      method: 'GET',
      path: `/models/${TFJS_MODEL}/${TFJS_VERSION}/download`,
      query: 'file=weights.bin',
    },
    // a TensorFlow.js bundle: the models function loads TensorFlow.js for it, on demand
    {
      fn: 'models',
      method: 'POST',
      path: '/upload',
      raw: tar,
      headers: { 'content-type': 'application/gzip' },
    },
    { fn: 'models', method: 'GET', path: '/models/uploaded-tfjs' },
    { fn: 'models', method: 'DELETE', path: '/delete/uploaded-tfjs' },
    { fn: 'models', method: 'DELETE', path: `/delete/${TFJS_MODEL}/20250101-000000-000000` },
    { fn: 'models', method: 'DELETE', path: '/delete', query: 'model=no-such-model' },
    {
      fn: 'models',
      method: 'PUT',
      path: '/triggers/extra',
      body: {
        prefix: 'incoming/extra/',
        workflow: { files: ['{object}'], labels: [1], params: { branch: 'Events' } },
      },
    },
    { fn: 'models', method: 'GET', path: '/triggers/extra' },
    { fn: 'models', method: 'GET', path: '/triggers' },
    { fn: 'models', method: 'DELETE', path: '/triggers/extra' },
    { fn: 'predict', method: 'POST', path: '/json', body: { model: TFJS_MODEL, values: rows } },
    { fn: 'predict', method: 'POST', path: `/v2/models/${TFJS_MODEL}/infer`, body: oip },
    {
      fn: 'predict',
      method: 'POST',
      path: `/v2/models/${TFJS_MODEL}/versions/${TFJS_VERSION}/infer`,
      body: oip,
    },
    { fn: 'predict', method: 'GET', path: `/v2/models/${TFJS_MODEL}` },
    { fn: 'predict', method: 'GET', path: `/v2/models/${TFJS_MODEL}/ready` },
    { fn: 'predict', method: 'GET', path: `/v2/models/${TFJS_MODEL}/versions/${TFJS_VERSION}` },
    { fn: 'predict', method: 'GET', path: `/v2/models/${TFJS_MODEL}/versions/${TFJS_VERSION}/ready` },
    { fn: 'predict', method: 'GET', path: '/v2/models/no-such-model/ready' },
    { fn: 'predict', method: 'GET', path: '/v2/health/live', anonymous: true },
    { fn: 'predict', method: 'GET', path: '/v2/health/ready', anonymous: true },
    // the console's data routes and its files
    { fn: 'data', method: 'GET', path: '/data/files' },
    { fn: 'data', method: 'GET', path: '/data/branches', query: 'source=s3://elsewhere/x.root' },
    { fn: 'data', method: 'POST', path: '/data/uploads', body: { area: 'data', name: 'x.csv', bytes: 10 } },
    { fn: 'data', method: 'GET', path: '/workflow/schema', anonymous: true },
    {
      fn: 'data',
      method: 'POST',
      path: '/workflow/expression',
      body: { expression: 'nJt > 1', branches: ['nJet'] },
    },
    { fn: 'console', method: 'GET', path: '/console', anonymous: true },
    { fn: 'console', method: 'GET', path: '/console/config.json', anonymous: true },
    { fn: 'console', method: 'GET', path: '/console/app.js', anonymous: true },
  ];
  if (onnx) {
    const form = onnxForm('onnx-model');
    list.push(
      {
        fn: 'models',
        method: 'POST',
        path: '/upload',
        raw: form.raw,
        headers: { 'content-type': form.type },
      },
      {
        fn: 'predict',
        method: 'POST',
        path: '/json',
        body: { model: 'onnx-model', values: onnx.reference.inputs.features },
      },
      { fn: 'predict', method: 'GET', path: '/v2/models/onnx-model' },
    );
  }
  return list;
}

const workflowOf = (name: string) => workflow('BUCKET', name);

/** A request's body and path in one world (its bucket, the job id its submit answered). */
function inWorld(r: Request, bucket: string, job: string) {
  const swap = (v: unknown): unknown =>
    v === 'WORKFLOW' ? workflow(bucket) : JSON.parse(JSON.stringify(v ?? null).replaceAll('BUCKET', bucket));
  return {
    path: r.path.replace('{job}', job),
    body: r.raw ?? (r.body === undefined ? undefined : swap(r.body)),
  };
}

const packagedAnswers: Answer[] = [];
const servedAnswers: Answer[] = [];
const invocations: Partial<Record<Fn | 'onUpload', Invocation>> = {};
let list: Request[];

beforeAll(async () => {
  [p, node] = await Promise.all([packageStack(), lambdaNode()]);
  const layer = await onnxRuntimeLayer();
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-packaged-'));
  s3 = await startS3Emulator({ buckets: ['packaged', 'served'] });
  sqs = await startSqs();
  for (const b of ['packaged', 'served']) queues[b] = (await sqs.queue(`${b}-jobs`, 0)).url;
  dev = createDevIssuer();
  token = dev.mintToken({ sub: 'alice', scopes: ['submit', 'predict', 'admin'] });
  for (const b of ['packaged', 'served']) await seedStore(new S3ObjectStore(s3.client, b), b);
  serve = await startStack({
    store: new S3ObjectStore(s3.client, 'served'),
    queue: new SqsJobQueue(sqs.client, queues.served),
    verifier: createVerifier(dev.config, { jwks: dev.jwks }),
    allowedSources: ['s3://served/'],
    data: s3DataAccess(s3.client, 'served'),
  });
  list = await requests();

  // serve: the requests in order over HTTP
  let servedJob = '';
  for (const r of list) {
    const { path, body } = inWorld(r, 'served', servedJob);
    const res = await fetch(`${serve.url}${path}${r.query ? `?${r.query}` : ''}`, {
      method: r.method,
      headers: {
        ...(r.anonymous ? {} : { authorization: `Bearer ${token}` }),
        ...(body !== undefined && !r.raw ? { 'content-type': 'application/json' } : {}),
        ...r.headers,
      },
      body: body === undefined ? undefined : r.raw ? Buffer.from(r.raw) : JSON.stringify(body),
    });
    const text = await res.text();
    if (!servedJob && res.status === 202) servedJob = JSON.parse(text).job_id;
    servedAnswers.push({ status: res.status, body: normalise(text, 'served') });
  }

  // the packaged functions: one cold start each, its requests in order
  let packagedJob = '';
  for (const fn of ['submit', 'jobs', 'models', 'predict', 'data', 'console'] as const) {
    const { task, opt } = unpackFunction(
      join(p.dir, `${fn}.zip`),
      join(dir, fn),
      fn === 'predict' ? [layer] : [],
    );
    const mine = list.flatMap((r, i) => (r.fn === fn ? [{ ...r, i }] : []));
    const inv = await invokePackaged({
      node,
      task,
      opt,
      handler: handlerOf(p, fn),
      functionName: `mlaas4hep-ci-${fn}`,
      env: functionEnv(p, fn, {
        bucket: 'packaged',
        queueUrl: queues.packaged,
        s3: s3.endpoint,
        sqs: sqs.endpoint,
        dev,
      }),
      events: mine.map((r) => {
        const { path, body } = inWorld(r, 'packaged', packagedJob);
        return httpEvent(r.method, path, {
          token: r.anonymous ? undefined : token,
          body: body as unknown,
          headers: r.headers,
          query: r.query,
        });
      }),
    });
    invocations[fn] = inv;
    inv.results.forEach(({ result }, k) => {
      const text = result.isBase64Encoded
        ? Buffer.from(result.body ?? '', 'base64').toString()
        : (result.body ?? (result.statusCode === undefined ? JSON.stringify(result) : ''));
      if (!packagedJob && result.statusCode === 202) packagedJob = JSON.parse(text).job_id;
      packagedAnswers[mine[k].i] = { status: result.statusCode ?? 0, body: normalise(text, 'packaged') };
    });
  }
  const { task } = unpackFunction(join(p.dir, 'onUpload.zip'), join(dir, 'onUpload'));
  invocations.onUpload = await invokePackaged({
    node,
    task,
    handler: handlerOf(p, 'onUpload'),
    functionName: 'mlaas4hep-ci-onUpload',
    env: functionEnv(p, 'onUpload', {
      bucket: 'packaged',
      queueUrl: queues.packaged,
      s3: s3.endpoint,
      sqs: sqs.endpoint,
      dev,
    }),
    events: [
      s3Event('packaged', 'incoming/signal/run 1.root', 'v1'),
      s3Event('packaged', 'incoming/signal/run 1.root', 'v1'),
    ],
  });
}, 600_000);

afterAll(async () => {
  await serve?.stop();
  await s3?.close();
  await sqs?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the packaged functions, unzipped outside the repository and invoked as Lambda does', () => {
  it('exercises every route of the route table', () => {
    const hit = new Set(list.map((r) => `${r.method} ${r.path.replace('{job}', '{id}')}`));
    const missing = ROUTES.map(routeKey).filter(
      (k) => ![...hit].some((h) => new RegExp(`^${k.replace(/\{\w+\}/g, '[^/]+')}$`).test(h)),
    );
    expect(missing).toEqual([]);
  });

  it('answers every request as serve does (status and body)', () => {
    expect(packagedAnswers).toHaveLength(list.length);
    list.forEach((r, i) => {
      expect(packagedAnswers[i], `${r.fn}: ${r.method} ${r.path}`).toEqual(servedAnswers[i]);
    });
    // and the answers are the ones expected, not two equal failures
    const statuses = Object.fromEntries(
      list.map((r, i) => [`${i} ${r.method} ${r.path}`, packagedAnswers[i].status]),
    );
    expect(Object.values(statuses).filter((s) => s >= 500)).toEqual([]);
    expect(packagedAnswers.slice(0, 5).map((a) => a.status)).toEqual([202, 202, 403, 422, 401]);
  });

  it("serves the console from the files in its own zip, and the data routes' answers", () => {
    const answer = (method: string, path: string) =>
      packagedAnswers[list.findIndex((r) => r.method === method && r.path === path)];
    expect(answer('GET', '/console').status).toBe(200);
    expect(String(answer('GET', '/console').body)).toContain('/console/app.js');
    expect(answer('GET', '/console/app.js').status).toBe(200);
    expect(answer('GET', '/console/config.json')).toEqual({ status: 200, body: { oidc: null, connect: [] } });
    expect(answer('GET', '/data/files')).toEqual({ status: 200, body: [] });
    expect(answer('GET', '/data/branches').status).toBe(403);
    expect(answer('POST', '/data/uploads').status).toBe(400);
    expect(answer('POST', '/workflow/expression').body).toMatchObject({ valid: false });
    expect(answer('GET', `/models/${TFJS_MODEL}/${TFJS_VERSION}/download`).status).toBe(404);
  });

  it('replays a submit with the same Idempotency-Key as the same job, queued once', async () => {
    const [first, replay] = packagedAnswers as Array<{ body: { job_id: string } }>;
    expect(first.body.job_id).toMatch(JOB_ID_FROM_KEY);
    expect(replay.body).toEqual(first.body);
    const messages = await sqs.drain(queues.packaged);
    expect(
      messages.map((m) => JSON.parse(m.body).jobId).filter((id) => id === first.body.job_id),
    ).toHaveLength(1);
  });

  it('runs predict on the WebAssembly backend, its .wasm files found in its own zip', () => {
    const engines = invocations.predict!.logs.find((l) => l.message === 'inference engines') as {
      tfjs: { backend: string; reason: string; wasmPath: string };
    };
    expect(engines.tfjs.backend, engines.tfjs.reason).toBe('wasm');
    expect(engines.tfjs.wasmPath).toBe(
      `${join(dir, 'predict', 'task', 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist')}/`,
    );
  });

  it('loads TensorFlow.js at cold start in predict only, and bundles it in predict and models only', () => {
    expect(invocations.predict!.tfjsLoaded).toBe(true);
    for (const fn of ['submit', 'jobs', 'models', 'data', 'console', 'onUpload'] as const)
      expect(invocations[fn]!.tfjsLoaded, fn).toBe(false);
    const bundle = (fn: string, file: string) =>
      readFileSync(join(dir, fn, 'task', 'functions', `${file}.mjs`), 'utf8');
    for (const [fn, file] of [
      ['submit', 'submit'],
      ['jobs', 'jobs'],
      ['onUpload', 'on-upload'],
      ['data', 'data'],
      ['console', 'console'],
    ])
      expect(bundle(fn, file), fn).not.toContain('@tensorflow/tfjs-core');
    // models: only for an uploaded TensorFlow.js bundle, imported on demand (the upload above)
    expect(bundle('models', 'models')).toContain('@tensorflow/tfjs-core');
  });

  it.skipIf(!onnx)(
    'serves an uploaded ONNX model on ONNX Runtime from the layer, reproducing PyTorch',
    () => {
      const engines = invocations.predict!.logs.find((l) => l.message === 'inference engines') as {
        onnxruntime: { from: string };
      };
      expect(engines.onnxruntime.from).toBe(
        join(dir, 'predict', 'opt', 'nodejs', 'node_modules', 'onnxruntime-node', 'dist', 'index.js'),
      );
      const loaded = invocations.predict!.logs.find(
        (l) => l.message === 'model loaded' && l.model === 'onnx-model',
      );
      expect(loaded).toMatchObject({ engine: 'onnxruntime' });
      const i = list.findIndex(
        (r) => r.path === '/json' && (r.body as { model: string }).model === 'onnx-model',
      );
      const scores = packagedAnswers[i].body as number[];
      const worst = Math.max(...scores.map((s, j) => Math.abs(s - onnx!.reference.outputs.score[j][0])));
      expect(worst).toBeLessThanOrEqual(1e-5);
    },
  );

  it('fails its cold start naming a setting that is missing or wrong', async () => {
    const env = (fn: string) =>
      functionEnv(p, fn, {
        bucket: 'packaged',
        queueUrl: queues.packaged,
        s3: s3.endpoint,
        sqs: sqs.endpoint,
        dev,
      });
    const start = (fn: 'submit' | 'predict', changed: Record<string, string>) =>
      invokePackaged({
        node,
        task: join(dir, fn, 'task'),
        opt: join(dir, fn, 'opt'),
        handler: handlerOf(p, fn),
        functionName: `mlaas4hep-ci-${fn}`,
        env: { ...env(fn), ...changed },
        events: [],
      });
    await expect(start('submit', { MLAAS4HEP_QUEUE_URL: '' })).rejects.toThrow(
      /MLAAS4HEP_QUEUE_URL is not set/,
    );
    await expect(start('predict', { MLAAS4HEP_TF_BACKEND: 'gpu' })).rejects.toThrow(
      /MLAAS4HEP_TF_BACKEND must be one of tensorflow, wasm, cpu, got "gpu"/,
    );
  });

  it('starts a job per covering trigger from an S3 upload event, once per object version', async () => {
    const [first, again] = invocations.onUpload!.results.map(
      (r) => r.result as unknown as { jobs: string[] },
    );
    expect(first.jobs, JSON.stringify(first)).toHaveLength(1);
    expect(again.jobs).toEqual(first.jobs);
    const served = await serve.service.objectCreated({
      bucket: 'served',
      key: 'incoming/signal/run 1.root',
      version: 'v1',
    });
    expect(served).toHaveLength(1);
  });
});
