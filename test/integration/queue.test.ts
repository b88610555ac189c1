import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { createSqsServer } from 'local-aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqsClient } from '../../lib/aws/sqs-client.js';
import { SqsJobQueue } from '../../lib/aws/sqs-queue.js';
import { MemorySpecsCache } from '../../lib/dataset/cache.js';
import { InvalidInputError } from '../../lib/errors.js';
import { JobStore } from '../../lib/jobs/job-store.js';
import { MemoryQueue } from '../../lib/jobs/queue.js';
import { submitJob } from '../../lib/jobs/submit.js';
import { openRoot } from '../../lib/root/file.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { consumeQueue } from '../../lib/trainer/worker.js';
import { initBackend } from '../../lib/training/backend.js';
import { hasShared, SYNTH_DIR } from '../helpers/reference.js';

const workflow = {
  name: 'queued-model',
  files: [join(SYNTH_DIR, 'signal.root'), join(SYNTH_DIR, 'background.root')],
  labels: [1, 0],
  params: { branch: 'Events', nevts: 8_000, chunk_size: 4_000, epochs: 1 },
};

let dir: string;
let store: LocalObjectStore;
let jobs: JobStore;
let backend: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-queue-'));
  store = new LocalObjectStore(dir);
  jobs = new JobStore(store);
  backend = await initBackend();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const trainer = () => ({
  models: store,
  dataset: { openFile: (s: string) => openRoot(s), cache: new MemorySpecsCache() },
  backend,
});

describe('submit', () => {
  it('validates the workflow before anything is recorded', async () => {
    const queue = new MemoryQueue();
    await expect(submitJob({ jobs, queue }, 'alice', { files: [], labels: [] })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect(queue.size).toBe(0);
  });

  it('records a queued job and enqueues it; the same Idempotency-Key returns the same job', async () => {
    const queue = new MemoryQueue();
    const a = await submitJob({ jobs, queue }, 'alice', workflow, 'key-1');
    const b = await submitJob({ jobs, queue }, 'alice', workflow, 'key-1');
    const c = await submitJob({ jobs, queue }, 'bob', workflow, 'key-1');
    expect(a.status).toBe('queued');
    expect(b.id).toBe(a.id);
    expect(c.id).not.toBe(a.id);
    expect(queue.size).toBe(2);
  });
});

describe.skipIf(!hasShared)('queue consumer', () => {
  it('runs a queued job to the end and deletes its message', async () => {
    const queue = new MemoryQueue();
    const job = await submitJob({ jobs, queue }, 'alice', workflow);
    await consumeQueue(queue, jobs, trainer(), { maxMessages: 1, waitSeconds: 1 });
    expect((await jobs.get(job.id)).status).toBe('succeeded');
    expect(queue.size).toBe(0);
  });

  it('moves a poisoned message aside instead of retrying it', async () => {
    const queue = new MemoryQueue();
    await queue.sendRaw('{not json');
    await queue.sendRaw(JSON.stringify({ jobId: 'no-such-job-0000' }));
    const logs: string[] = [];
    await consumeQueue(queue, jobs, trainer(), {
      maxMessages: 2,
      waitSeconds: 1,
      log: (e) => logs.push(String(e.message)),
    });
    expect(queue.size).toBe(0);
    expect(logs.filter((l) => l.startsWith('poisoned'))).toHaveLength(2);
  });

  it('returns an interrupted job to the queue for another run', async () => {
    const queue = new MemoryQueue();
    const job = await submitJob({ jobs, queue }, 'alice', {
      ...workflow,
      params: { ...workflow.params, nevts: 100_000, epochs: 50 },
    });
    // stop once the job is training (a fixed delay raced training, which got faster than it)
    const stop = new AbortController();
    const watch = setInterval(async () => {
      const rec = await jobs.get(job.id);
      if (rec.status === 'running' && rec.progress) stop.abort();
    }, 100);
    await consumeQueue(queue, jobs, trainer(), { maxMessages: 1, waitSeconds: 1, signal: stop.signal });
    clearInterval(watch);
    expect((await jobs.get(job.id)).status).toBe('interrupted');
    expect(queue.size).toBe(1);
  });
});

describe.skipIf(!hasShared)('recovery', () => {
  it('retries a job that fails on our side; after three receives it is failed with the last error and its message dead-lettered', async () => {
    const queue = new MemoryQueue(3);
    const job = await submitJob({ jobs, queue }, 'alice', workflow);
    const broken = {
      ...trainer(),
      dataset: {
        openFile: async (): Promise<never> => {
          throw new Error('storage hiccup');
        },
        cache: new MemorySpecsCache(),
      },
    };
    await consumeQueue(queue, jobs, broken, { maxMessages: 3, waitSeconds: 1, retryDelaySeconds: 0 });
    const rec = await jobs.get(job.id);
    expect(rec).toMatchObject({ status: 'failed', error: 'internal error while training', transient: true });
    expect(rec.attempts).toBe(3);
    // the next receive finds the message over its receive count: it goes aside, nothing retries
    expect(await queue.receive(0, 1)).toBeUndefined();
    expect(queue.deadLetters.map((b) => JSON.parse(b).jobId)).toEqual([job.id]);
    expect(await jobs.logs(job.id)).toMatch(/will be retried[\s\S]*will be retried[\s\S]*failed: internal/);
  });

  it('fails a job at once, without retrying, when its workflow is at fault', async () => {
    const queue = new MemoryQueue(3);
    const job = await submitJob({ jobs, queue }, 'alice', {
      ...workflow,
      files: [join(SYNTH_DIR, 'no-such-file.root'), workflow.files[1]],
    });
    await consumeQueue(queue, jobs, trainer(), { maxMessages: 1, waitSeconds: 1, retryDelaySeconds: 0 });
    const rec = await jobs.get(job.id);
    expect(rec.status).toBe('failed');
    expect(rec.error).toMatch(/no-such-file\.root/);
    expect(rec.attempts).toBe(1);
    expect(queue.size).toBe(0);
    expect(queue.deadLetters).toEqual([]);
  });

  it('resumes a job whose trainer was killed mid-run (its record still says running)', async () => {
    const queue = new MemoryQueue(3);
    const job = await submitJob({ jobs, queue }, 'alice', workflow);
    await jobs.transition(job.id, 'running');
    await consumeQueue(queue, jobs, trainer(), { maxMessages: 1, waitSeconds: 1 });
    const rec = await jobs.get(job.id);
    expect(rec.status).toBe('succeeded');
    expect(rec.attempts).toBe(2);
    expect(await jobs.logs(job.id)).toMatch(/trainer killed/);
    expect(queue.size).toBe(0);
  });
});

describe('SQS adapter against a local SQS server', () => {
  it('sends, receives with a receive count, extends, releases and deletes', async () => {
    const server = await createSqsServer({ port: 0, hostname: '127.0.0.1' });
    try {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const client = createSqsClient({ endpoint: `http://127.0.0.1:${port}` });
      const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'jobs' }));
      const queue = new SqsJobQueue(client, QueueUrl!);
      await queue.send({ jobId: 'abc-12345' });
      const m = await queue.receive(1, 30);
      expect(JSON.parse(m!.body)).toEqual({ jobId: 'abc-12345' });
      expect(m!.receiveCount).toBeGreaterThanOrEqual(1);
      await queue.extend(m!, 60);
      expect(await queue.receive(0, 30)).toBeUndefined();
      await queue.release(m!);
      const again = await queue.receive(1, 30);
      expect(again!.receiveCount).toBeGreaterThan(m!.receiveCount);
      await queue.delete(again!);
      expect(await queue.receive(0, 30)).toBeUndefined();
      client.destroy();
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('upload triggers', () => {
  it('start one job per covering rule for a new .root object, and never two for the same version', async () => {
    const { TriggerStore, onObjectCreated } = await import('../../lib/jobs/triggers.js');
    const triggers = new TriggerStore(store);
    await triggers.put(
      'zmumu',
      {
        prefix: 'incoming/zmumu/',
        workflow: { ...workflow, files: ['s3://b/bkg.root'], labels: [0] },
        label: 1,
      },
      'alice',
    );
    await triggers.put('other', { prefix: 'incoming/other/', workflow }, 'alice');
    const queue = new MemoryQueue();
    const deps = { jobs, queue, triggers };
    const obj = { bucket: 'hep', key: 'incoming/zmumu/run1.root', version: 'v1' };
    const first = await onObjectCreated(deps, obj);
    const again = await onObjectCreated(deps, obj);
    expect(first).toHaveLength(1);
    expect(again[0].id).toBe(first[0].id);
    expect(queue.size).toBe(1);
    expect(first[0].workflow).toMatchObject({
      files: ['s3://b/bkg.root', 's3://hep/incoming/zmumu/run1.root'],
      labels: [0, 1],
    });
    expect(await onObjectCreated(deps, { ...obj, version: 'v2' })).toHaveLength(1);
    expect(await onObjectCreated(deps, { ...obj, key: 'incoming/zmumu/notes.txt' })).toHaveLength(0);
    await expect(triggers.put('bad', { prefix: '/etc/', workflow }, 'alice')).rejects.toThrow(
      /prefix: must be "incoming\/"/,
    );
  });
});
