import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createSqsServer } from 'local-aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqsClient } from '../../lib/aws/sqs-client.js';
import { SqsJobQueue } from '../../lib/aws/sqs-queue.js';
import { type JobRecord, JobStore } from '../../lib/jobs/job-store.js';
import { submitJob } from '../../lib/jobs/submit.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { hasShared, SYNTH_DIR } from '../helpers/reference.js';

// the trainer in its own process, as the container runs it, against a real (local) SQS server
// whose queue dead-letters after 3 receives, like the deployed one
let server: Awaited<ReturnType<typeof createSqsServer>>;
let endpoint: string;
let queueUrl: string;
let dlqUrl: string;
let strictUrl: string;
let dir: string;
let store: LocalObjectStore;
let jobs: JobStore;
let queue: SqsJobQueue;
const client = () => createSqsClient({ endpoint });
const children: ChildProcess[] = [];

beforeAll(async () => {
  server = await createSqsServer({ port: 0, hostname: '127.0.0.1' });
  const a = server.address();
  endpoint = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  const c = client();
  dlqUrl = (await c.send(new CreateQueueCommand({ QueueName: 'jobs-dlq' }))).QueueUrl!;
  const redrive = (maxReceiveCount: number) => ({
    RedrivePolicy: JSON.stringify({
      maxReceiveCount,
      deadLetterTargetArn: 'arn:aws:sqs:us-east-1:123456789012:jobs-dlq',
    }),
  });
  // the trainers' queue allows more receives than the deployed one (3): local-aws-sqs 2.0.2 counts
  // every ChangeMessageVisibility (the worker's heartbeat) as a receive, which real SQS does not
  queueUrl = (await c.send(new CreateQueueCommand({ QueueName: 'jobs', Attributes: redrive(50) }))).QueueUrl!;
  strictUrl = (await c.send(new CreateQueueCommand({ QueueName: 'strict', Attributes: redrive(3) })))
    .QueueUrl!;
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-recovery-'));
  store = new LocalObjectStore(dir);
  jobs = new JobStore(store);
  queue = new SqsJobQueue(c, queueUrl);
});
afterAll(async () => {
  for (const ch of children) ch.kill('SIGKILL');
  await new Promise<void>((r) => server?.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

// a short visibility, so a killed trainer's message is back within seconds
function worker(...extra: string[]): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'bin/mlaas4hep.ts',
      'worker',
      '--store',
      dir,
      '--queue',
      queueUrl,
      '--visibility',
      '3',
      ...extra,
    ],
    {
      env: {
        ...process.env,
        AWS_ENDPOINT_URL_SQS: endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: 'ignore',
    },
  );
  children.push(child);
  return child;
}

const exited = (c: ChildProcess) =>
  c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise<number | null>((r) => c.once('exit', r));

// a guard against a hang, not a speed limit: a trainer process on a busy 2-core machine is slow
async function until(id: string, ok: (r: JobRecord) => boolean, ms = 240_000): Promise<JobRecord> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await jobs.get(id).catch(() => undefined);
    if (r && ok(r)) return r;
    if (Date.now() > deadline) throw new Error(`job ${id} stayed ${r?.status}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

const workflow = (name: string) => ({
  name,
  files: [join(SYNTH_DIR, 'signal.root'), join(SYNTH_DIR, 'background.root')],
  labels: [1, 0],
  // stopped once the first epoch is recorded: nine to go leave the signal ample time to land
  // mid-training (an epoch of these 24k training rows takes about a second now), and the next
  // trainer trains all ten
  params: { branch: 'Events', nevts: 40_000, chunk_size: 20_000, epochs: 10 },
});

const versions = async (name: string) =>
  (await store.list(`models/${name}/`)).filter((o) => o.key.endsWith('/COMPLETE')).length;

describe.skipIf(!hasShared)('a trainer stopped mid-training', () => {
  // a trainer killed with SIGKILL mid-training is test/integration/recovery-queue.test.ts's first
  // case, against S3 as well as SQS (and its dead-letter queue): not trained a second time here
  it('stopped with SIGTERM: the job is recorded interrupted, returned to the queue, and completes on the next run', async () => {
    const job = await submitJob({ jobs, queue }, 'alice', workflow('terminated'));
    const first = worker();
    await until(job.id, (r) => r.status === 'running' && (r.progress?.epoch ?? 0) >= 1);
    first.kill('SIGTERM');
    expect(await exited(first)).toBe(0);
    expect((await jobs.get(job.id)).status).toBe('interrupted');
    const second = worker('--max-messages', '1');
    const rec = await until(job.id, (r) => r.status === 'succeeded');
    expect(await exited(second)).toBe(0);
    expect(rec.attempts).toBe(2);
    expect(await versions('terminated')).toBe(1);
    // nothing was dead-lettered on the way
    const dlq = await client().send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    expect(Number(dlq.Attributes?.ApproximateNumberOfMessages)).toBe(0);
  }, 300_000);

  it('a message received three times without an end goes to the dead-letter queue', async () => {
    const c = client();
    await new SqsJobQueue(c, strictUrl).send({ jobId: 'never-finishes-0000' });
    for (let i = 0; i < 3; i++) {
      const got = await c.send(
        new ReceiveMessageCommand({ QueueUrl: strictUrl, WaitTimeSeconds: 1, VisibilityTimeout: 0 }),
      );
      expect(got.Messages).toHaveLength(1);
    }
    const after = await c.send(new ReceiveMessageCommand({ QueueUrl: strictUrl, WaitTimeSeconds: 1 }));
    expect(after.Messages ?? []).toHaveLength(0);
    const dead = await c.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }));
    expect(dead.Messages?.map((m) => JSON.parse(m.Body!))).toEqual([{ jobId: 'never-finishes-0000' }]);
  });
});
