import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { SqsJobQueue } from '../../lib/aws/sqs-queue.js';
import { MemorySpecsCache } from '../../lib/dataset/cache.js';
import { type JobRecord, JobStore } from '../../lib/jobs/job-store.js';
import { submitJob } from '../../lib/jobs/submit.js';
// the CLI's opener: local paths, http(s):// and s3:// alike
import { openRoot } from '../../lib/root/index.js';
import { generateSynth } from '../../lib/root/writer/synth.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { consumeQueue, type WorkerOptions } from '../../lib/trainer/worker.js';
import { initBackend } from '../../lib/training/backend.js';
import { type S3Emulator, type SqsEmulator, startS3, startSqs } from '../helpers/local-aws.js';

// Recovery in the trainer's queue handling, in this process against the real emulators: s3rver
// holds the job records and models, local-aws-sqs the queues, each with a dead-letter queue after
// 3 receives like the deployment's (serverless.yml). Tiny synthetic data, one epoch.
const BUCKET = 'mlaas4hep-recovery';

let dir: string;
let files: { signal: string; background: string };
let s3: S3Emulator;
let sqs: SqsEmulator;
let store: S3ObjectStore;
let jobs: JobStore;
let backend: string;
let down: Server;
let downUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-recovery-'));
  files = await generateSynth({ outDir: dir, events: 4_000, seed: 11 });
  [s3, sqs, backend] = await Promise.all([startS3(BUCKET), startSqs(), initBackend()]);
  store = new S3ObjectStore(s3.client, BUCKET);
  jobs = new JobStore(store);
  // a physicist's file server having a bad day: every request answered 503
  down = createServer((_req, res) => res.writeHead(503).end());
  await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
  downUrl = `http://127.0.0.1:${(down.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  down?.close();
  await Promise.all([s3?.close(), sqs?.close()]);
  await rm(dir, { recursive: true, force: true });
});

const workflow = (name: string, signal = files.signal) => ({
  name,
  files: [signal, files.background],
  labels: [1, 0],
  params: { branch: 'Events', nevts: 4_000, chunk_size: 4_000, epochs: 1 },
});

const trainer = (models: ObjectStore = store) => ({
  models,
  dataset: { openFile: (s: string) => openRoot(s), cache: new MemorySpecsCache() },
  backend,
  pollMs: 200,
});

const consume = (queue: SqsJobQueue, o: WorkerOptions, j = jobs, models: ObjectStore = store) =>
  consumeQueue(queue, j, trainer(models), { waitSeconds: 2, visibilitySeconds: 2, ...o });

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const children: ChildProcess[] = [];

/** `mlaas4hep worker` in its own process, as the container runs it, on the emulators */
function workerProcess(queueUrl: string, ...extra: string[]): ChildProcess & { output: string[] } {
  const args = [
    '--import',
    'tsx',
    'bin/mlaas4hep.ts',
    'worker',
    '--store',
    `s3://${BUCKET}`,
    '--queue',
    queueUrl,
  ];
  const child = spawn(process.execPath, [...args, '--visibility', '3', ...extra], {
    cwd: REPO,
    env: {
      ...process.env,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { output: string[] };
  child.output = [];
  child.stdout?.on('data', (d: Buffer) => child.output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => child.output.push(d.toString()));
  children.push(child);
  return child;
}

const exited = (c: ChildProcess) =>
  c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise<number | null>((r) => c.once('exit', r));

async function until(id: string, ok: (r: JobRecord) => boolean, why: () => string): Promise<JobRecord> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const r = await jobs.get(id).catch(() => undefined);
    if (r && ok(r)) return r;
    if (Date.now() > deadline) throw new Error(`job ${id} stayed ${r?.status}:\n${why()}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** version folders of a model, complete or not */
async function versionFolders(name: string): Promise<string[]> {
  const keys = (await store.list(`models/${name}/`)).map((o) => o.key.slice(`models/${name}/`.length));
  return [...new Set(keys.filter((k) => k.includes('/')).map((k) => k.split('/')[0]))];
}

describe('the trainer on SQS, when attempts fail or die', () => {
  it('a trainer process SIGKILLed mid-training: the message is back after its visibility timeout (the queue dead-letters after 3 receives, as deployed), the next trainer finishes, one version', async () => {
    const big = await generateSynth({ outDir: join(dir, 'big'), events: 40_000, seed: 5 });
    const { url, dlqUrl } = await sqs.queue('killed');
    const queue = new SqsJobQueue(sqs.client, url);
    const job = await submitJob({ jobs, queue }, 'alice', {
      ...workflow('killed', big.signal),
      files: [big.signal, big.background],
      // killed once the first epoch is recorded (progress is written every 2 s): an epoch takes
      // about 0.3 s here, so 60 leave the kill ample time to land mid-training (10 did not: a CI
      // run saw the job succeed before its first progress write showed an epoch)
      params: { branch: 'Events', nevts: 40_000, chunk_size: 20_000, epochs: 60 },
    });
    const first = workerProcess(url);
    await until(
      job.id,
      (r) => r.status === 'running' && (r.progress?.epoch ?? 0) >= 1,
      () => first.output.join(''),
    );
    first.kill('SIGKILL');
    await exited(first);
    expect((await jobs.get(job.id)).status).toBe('running'); // nobody could record anything
    const second = workerProcess(url, '--max-messages', '1');
    const rec = await until(
      job.id,
      (r) => r.status === 'succeeded',
      () => second.output.join(''),
    );
    expect(await exited(second)).toBe(0);
    expect(rec.attempts).toBe(2);
    expect(await versionFolders('killed')).toEqual([rec.model!.version]);
    expect(await jobs.logs(job.id)).toMatch(/trainer killed/);
    expect(await sqs.drain(dlqUrl!)).toEqual([]);
  }, 300_000);

  it('died after publishing, before recording success: the next attempt adopts that version, no second one', async () => {
    const { url } = await sqs.queue('adopt');
    const queue = new SqsJobQueue(sqs.client, url);
    const job = await submitJob({ jobs, queue }, 'alice', workflow('adopted'));
    // the trainer's view of the store goes dark right after the bundle's `latest` is written, as
    // if the process died there: the job record can no longer say succeeded
    let dead = false;
    const dying: ObjectStore = {
      name: store.name,
      get: (k) => (dead ? Promise.reject(new Error('trainer died')) : store.get(k)),
      list: (p) => store.list(p),
      delete: (k) => store.delete(k),
      async put(k, body, options) {
        if (dead) throw new Error('trainer died');
        const r = await store.put(k, body, options);
        if (k === 'models/adopted/latest') dead = true;
        return r;
      },
    };
    const logged: Array<Record<string, unknown>> = [];
    await consume(queue, { maxMessages: 1, log: (e) => logged.push(e) }, new JobStore(dying), dying);
    expect(logged.map((e) => e.message)).toContain('job could not be handled');
    const died = await jobs.get(job.id);
    expect(died.status).toBe('running');
    expect(died.publishing?.name).toBe('adopted');
    expect(await versionFolders('adopted')).toEqual([died.publishing!.version]);

    // the message is back after its visibility timeout; this attempt must not train again
    await consume(queue, { maxMessages: 1, waitSeconds: 5 });
    const rec = await jobs.get(job.id);
    expect(rec.status).toBe('succeeded');
    expect(rec.attempts).toBe(2);
    expect(rec.model).toEqual({ name: 'adopted', version: died.publishing!.version });
    expect(rec.metrics?.auc).toBeTypeOf('number');
    expect(await versionFolders('adopted')).toEqual([died.publishing!.version]);
    expect(await jobs.logs(job.id)).toMatch(/published by an earlier attempt/);
    expect(await sqs.drain(url)).toEqual([]);
  }, 60_000);

  it('fails three times on our side (its file server answers 503): failed with the last error, message dead-lettered', async () => {
    const { url, dlqUrl } = await sqs.queue('failing');
    const queue = new SqsJobQueue(sqs.client, url);
    const job = await submitJob({ jobs, queue }, 'alice', workflow('failing', `${downUrl}/signal.root`));
    // each attempt ends well within a third of the visibility (no heartbeat), retries wait 1 s, 2 s
    await consume(queue, { maxMessages: 3, visibilitySeconds: 10, retryDelaySeconds: 1 });
    const rec = await jobs.get(job.id);
    expect(rec.status).toBe('failed');
    expect(rec.attempts).toBe(3);
    expect(rec.transient).toBe(true);
    expect(rec.error).toMatch(/^temporarily unavailable: .*signal\.root could not be read: HTTP 503/);
    expect((await jobs.logs(job.id)).match(/it will be retried/g)).toHaveLength(2);
    // the last attempt released the message; the redrive policy moved it, nothing retries it again
    expect((await sqs.drain(dlqUrl!)).map((m) => JSON.parse(m.body))).toEqual([{ jobId: job.id }]);
    expect(await sqs.drain(url)).toEqual([]);
    expect(await versionFolders('failing')).toEqual([]);
  }, 60_000);

  it('a corrupt file (there at submit time) fails the job at once: one attempt, message deleted, not dead-lettered', async () => {
    const { url, dlqUrl } = await sqs.queue('corrupt');
    const queue = new SqsJobQueue(sqs.client, url);
    const bytes = await readFile(files.signal);
    const corrupt = join(dir, 'corrupt.root');
    await writeFile(corrupt, bytes.subarray(0, bytes.length >> 1));
    const job = await submitJob({ jobs, queue }, 'alice', workflow('corrupt', corrupt));
    await consume(queue, { maxMessages: 1 });
    const rec = await jobs.get(job.id);
    expect(rec).toMatchObject({ status: 'failed', attempts: 1, transient: false });
    expect(rec.error).toMatch(/corrupt\.root is truncated or corrupt/);
    await new Promise((r) => setTimeout(r, 2_500)); // past the visibility timeout: nothing comes back
    expect(await sqs.drain(url)).toEqual([]);
    expect(await sqs.drain(dlqUrl!)).toEqual([]);
  }, 60_000);

  it('poisoned messages (malformed, unknown job) go to the dead-letter queue at once with a log line', async () => {
    const { url, dlqUrl } = await sqs.queue('poison');
    const send = (body: string) =>
      sqs.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    await send('{not json');
    await send(JSON.stringify({ jobId: 'no-such-job-0000' }));
    const logged: Array<Record<string, unknown>> = [];
    const queue = new SqsJobQueue(sqs.client, url, { deadLetterQueueUrl: dlqUrl });
    await consume(queue, { maxMessages: 2, log: (e) => logged.push(e) });
    const lines = logged.filter((e) => String(e.message).startsWith('poisoned message moved aside'));
    expect(lines).toHaveLength(2);
    expect(lines.every((e) => String(e.message).endsWith('dead-lettered'))).toBe(true);
    const dead = await sqs.drain(dlqUrl!);
    expect(dead.map((m) => m.body).sort()).toEqual(['{"jobId":"no-such-job-0000"}', '{not json']);
    expect(dead.every((m) => m.attributes.reason === 'not a known job')).toBe(true);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await sqs.drain(url)).toEqual([]);

    // a queue without a dead-letter URL to send to: deleted, the log line is the trace
    const { url: bare } = await sqs.queue('poison-bare', 0);
    await sqs.client.send(new SendMessageCommand({ QueueUrl: bare, MessageBody: 'garbage' }));
    const logs2: Array<Record<string, unknown>> = [];
    await consume(new SqsJobQueue(sqs.client, bare), { maxMessages: 1, log: (e) => logs2.push(e) });
    expect(logs2.map((e) => e.message)).toContain('poisoned message moved aside (not a known job): deleted');
    expect(logs2.find((e) => e.body === 'garbage')).toBeDefined();
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await sqs.drain(bare)).toEqual([]);
  }, 60_000);
});
