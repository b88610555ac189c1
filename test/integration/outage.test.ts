import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { SqsJobQueue } from '../../lib/aws/sqs-queue.js';
import { MemorySpecsCache } from '../../lib/dataset/cache.js';
import { submitJob } from '../../lib/jobs/submit.js';
import { openRoot } from '../../lib/root/file.js';
import { generateSynth } from '../../lib/root/writer/synth.js';
import { type Stack, startStack } from '../../lib/service/stack.js';
import { consumeQueue } from '../../lib/trainer/worker.js';
import { initBackend } from '../../lib/training/backend.js';
import { type S3Emulator, type SqsEmulator, startS3, startSqs } from '../helpers/local-aws.js';

// The service in this process on the real emulators (s3rver, local-aws-sqs); each is stopped as an
// outage would (connections dropped, port closed) and started again on the same port. While one
// is down the API must answer 503 with Retry-After promptly, not hang; once it is back the same
// requests succeed, with nothing restarted on our side.
const BUCKET = 'mlaas4hep-outage';
/** an answer in an outage must come well within this (the clients' timeouts and retries are short) */
const PROMPT_MS = 10_000;

let dir: string;
let s3: S3Emulator;
let sqs: SqsEmulator;
let queueUrl: string;
let stack: Stack;
let token: string;
let workflow: Record<string, unknown>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-outage-'));
  const files = await generateSynth({ outDir: dir, events: 2_000, seed: 7 });
  workflow = {
    name: 'outage-model',
    files: [files.signal, files.background],
    labels: [1, 0],
    params: { branch: 'Events', nevts: 2_000, chunk_size: 2_000, epochs: 1 },
  };
  [s3, sqs] = await Promise.all([startS3(BUCKET), startSqs()]);
  queueUrl = (await sqs.queue('jobs')).url;
  stack = await startStack({
    store: new S3ObjectStore(s3.client, BUCKET),
    queue: new SqsJobQueue(sqs.client, queueUrl),
    log: () => {},
  });
  token = stack.token!('alice', ['submit', 'predict']);
});
afterAll(async () => {
  await stack?.stop();
  await Promise.all([s3?.close(), sqs?.close()]);
  await rm(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const t0 = performance.now();
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  return { status: res.status, json, retryAfter: res.headers.get('retry-after'), ms: performance.now() - t0 };
}

function expectUnavailable(r: Awaited<ReturnType<typeof call>>): void {
  expect(r.status, JSON.stringify(r.json)).toBe(503);
  expect(Number(r.retryAfter)).toBeGreaterThan(0);
  expect(r.json.error).toBe('Unavailable');
  expect(r.ms).toBeLessThan(PROMPT_MS);
}

describe('a brief outage of the object store or the queue', () => {
  it('object store down: GET /jobs/{id} and POST /submit answer 503 + Retry-After; back up, both succeed', async () => {
    const sub = await call('POST', '/submit', workflow);
    expect(sub.status).toBe(202);
    const id = sub.json.job_id as string;
    expect((await call('GET', `/jobs/${id}`)).status).toBe(200);

    await s3.stop();
    expectUnavailable(await call('GET', `/jobs/${id}`));
    expectUnavailable(await call('POST', '/submit', workflow));
    expectUnavailable(await call('GET', '/jobs'));

    await s3.start();
    const back = await call('GET', `/jobs/${id}`);
    expect(back.status).toBe(200);
    expect(back.json.status).toBe('queued');
    expect((await call('POST', '/submit', workflow)).status).toBe(202);
  });

  it('queue down: POST /submit answers 503 + Retry-After; back up, the same Idempotency-Key enqueues the job and a trainer that kept polling runs it', async () => {
    const key = { 'idempotency-key': 'during-the-queue-outage' };
    const backend = await initBackend();
    const stop = new AbortController();
    const logged: Array<Record<string, unknown>> = [];
    await sqs.stop();
    // a trainer polling through the outage: it must keep polling, not stop or crash
    const trainer = consumeQueue(
      new SqsJobQueue(sqs.client, queueUrl),
      stack.service.jobs,
      {
        models: new S3ObjectStore(s3.client, BUCKET),
        dataset: { openFile: (s) => openRoot(s), cache: new MemorySpecsCache() },
        backend,
        pollMs: 200,
      },
      { signal: stop.signal, waitSeconds: 1, visibilitySeconds: 30, log: (e) => logged.push(e) },
    );
    try {
      expectUnavailable(await call('POST', '/submit', workflow, key));
      // the store is fine: reading jobs still works while the queue is down
      expect((await call('GET', '/jobs')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(logged.some((e) => e.message === 'cannot receive from the job queue')).toBe(true);

      // the emulator keeps queues in memory: it comes back with the queue empty (SQS would not lose them)
      await sqs.start();
      const again = await call('POST', '/submit', workflow, key);
      expect(again.status).toBe(202);
      const id = again.json.job_id as string;
      let status = '';
      for (let i = 0; i < 300 && status !== 'succeeded' && status !== 'failed'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        status = (await call('GET', `/jobs/${id}`)).json.status as string;
      }
      expect(status).toBe('succeeded');
    } finally {
      stop.abort();
      await trainer;
    }
  }, 90_000);

  it('object store down when a trainer picks a job up: the message is kept, not taken for poison, and the job runs once the store is back', async () => {
    const { url } = await sqs.queue('pickup');
    const queue = new SqsJobQueue(sqs.client, url);
    const job = await submitJob({ jobs: stack.service.jobs, queue }, 'alice', workflow);
    const deps = {
      models: new S3ObjectStore(s3.client, BUCKET),
      dataset: { openFile: (s: string) => openRoot(s), cache: new MemorySpecsCache() },
      backend: await initBackend(),
      pollMs: 200,
    };
    const logged: Array<Record<string, unknown>> = [];
    const options = {
      maxMessages: 1,
      waitSeconds: 5,
      visibilitySeconds: 2,
      log: (e: Record<string, unknown>) => logged.push(e),
    };
    await s3.stop();
    await consumeQueue(queue, stack.service.jobs, deps, options);
    expect(logged.map((e) => e.message)).toEqual(['job could not be handled']);
    await s3.start();
    // back after its visibility timeout, to the same trainer code, with nothing restarted
    await consumeQueue(queue, stack.service.jobs, deps, options);
    const rec = await stack.service.jobs.get(job.id);
    expect(rec.status).toBe('succeeded');
    expect(rec.attempts).toBe(1);
    expect(logged.some((e) => String(e.message).startsWith('poisoned'))).toBe(false);
  }, 60_000);
});
