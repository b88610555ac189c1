import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '../../lib/jobs/job-store.js';
import { MemoryQueue } from '../../lib/jobs/queue.js';
import { submitJob } from '../../lib/jobs/submit.js';
import { createLog } from '../../lib/log.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { consumeQueue } from '../../lib/trainer/worker.js';
import { initBackend } from '../../lib/training/backend.js';

const workflow = {
  name: 'logged-model',
  files: ['/data/signal.root', '/data/background.root'],
  labels: [1, 0],
  params: { branch: 'Events', nevts: 1000, chunk_size: 500, epochs: 1 },
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-worker-log-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A bug of ours deep in the dataset code: the user must not see it, the operator must. */
function readBasketsWithABug(): never {
  const offsets = undefined as unknown as number[];
  return offsets[3] as never;
}

describe('the trainer worker, when a job fails on our side', () => {
  it('logs the failure through the structured logger with the job id and the stack trace', async () => {
    const store = new LocalObjectStore(dir);
    const jobs = new JobStore(store);
    const queue = new MemoryQueue(3);
    const job = await submitJob({ jobs, queue }, 'alice', workflow);
    const lines: string[] = [];
    const { log } = createLog({ sink: (l) => lines.push(l), keys: { component: 'trainer' } });
    await consumeQueue(
      queue,
      jobs,
      {
        models: store,
        dataset: { openFile: async () => readBasketsWithABug() },
        backend: await initBackend(),
      },
      { maxMessages: 1, waitSeconds: 0, retryDelaySeconds: 0, log },
    );
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const failure = entries.find((e) => e.message === 'job attempt failed');
    expect(failure).toMatchObject({
      level: 'ERROR',
      service: 'mlaas4hep',
      component: 'trainer',
      jobId: job.id,
      error: 'TypeError',
    });
    expect(failure?.stack).toContain('readBasketsWithABug');
    expect(failure?.stack).toContain('worker-log.test.ts');
    // the owner reads a summary, never the trace
    const rec = await jobs.get(job.id);
    expect(rec.error).toBe('internal error while training');
    expect(await jobs.logs(job.id)).not.toContain('readBasketsWithABug');
    expect(entries.find((e) => e.message === 'job ended')).toMatchObject({ jobId: job.id, status: 'queued' });
  });
});
