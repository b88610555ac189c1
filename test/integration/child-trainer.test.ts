import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobStore } from '../../lib/jobs/job-store.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { type ChildTrainerOptions, childTrainer, type JobRunner } from '../../lib/trainer/child-trainer.js';

/**
 * The child trainer's process handling, against test/helpers/fake-trainer.ts (the run-jobs
 * protocol without TensorFlow.js): which process trains which job, when it is replaced, and what a
 * job's record says when its process dies. The real trainer under serve: hostile.test.ts.
 */
const FAKE = fileURLToPath(new URL('../helpers/fake-trainer.ts', import.meta.url));

let dir: string;
let jobs: JobStore;
let runner: JobRunner | undefined;
const lines: Record<string, unknown>[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-child-trainer-'));
  jobs = new JobStore(new LocalObjectStore(dir));
  lines.length = 0;
});
afterEach(async () => {
  await runner?.close?.();
  runner = undefined;
  await rm(dir, { recursive: true, force: true });
});

function start(o: Partial<ChildTrainerOptions> = {}, store: JobStore = jobs): JobRunner {
  runner = childTrainer(store, {
    entry: FAKE,
    execArgv: ['--import', 'tsx'],
    args: [dir],
    heapMb: 96,
    wasmMb: 64,
    pollMs: 100,
    graceMs: 1000,
    log: (e) => lines.push(e),
    ...o,
  });
  return runner;
}

async function job(behave: string): Promise<string> {
  return (await jobs.create('alice', { behave })).id;
}

/** The process that trained the job, from the log line the fake writes. */
async function pidOf(id: string): Promise<number> {
  const m = /pid (\d+)/.exec(await jobs.logs(id));
  if (!m) throw new Error(`job ${id} was never started:\n${await jobs.logs(id)}`);
  return Number(m[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(test: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await test())) await new Promise((r) => setTimeout(r, 50));
}

/** Runs a job that behaves as `behave`, asks to cancel it once it runs, and queues a job (`then`) after it. */
async function cancelWhileRunning(run: JobRunner, behave: string, then = 'succeed') {
  const id = await job(behave);
  const next = await job(then);
  const ran = run(id, { retry: true });
  await until(async () => (await jobs.get(id)).status === 'running');
  await jobs.update(id, (r) => ({ ...r, cancelRequested: true }));
  return { id, next, ran };
}

describe('a warm trainer process', () => {
  it('trains job after job in the same process', async () => {
    const run = start();
    const ids = [await job('succeed'), await job('succeed'), await job('succeed')];
    for (const id of ids) expect((await run(id, { retry: true })).status).toBe('succeeded');
    const pids = await Promise.all(ids.map(pidOf));
    expect(new Set(pids).size).toBe(1);
  });

  it('is replaced after a job that failed, and the next job trains in the fresh one', async () => {
    const run = start();
    const failed = await job('fail');
    const next = await job('succeed');
    expect((await run(failed, { retry: true })).status).toBe('failed');
    expect((await run(next, { retry: true })).status).toBe('succeeded');
    expect(await pidOf(next)).not.toBe(await pidOf(failed));
    expect(lines).toContainEqual(expect.objectContaining({ message: 'trainer process replaced' }));
  });

  it('is replaced after jobsPerChild jobs', async () => {
    const run = start({ jobsPerChild: 2 });
    const ids = [await job('succeed'), await job('succeed'), await job('succeed')];
    for (const id of ids) await run(id, { retry: true });
    const [a, b, c] = await Promise.all(ids.map(pidOf));
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it('is replaced when its resident memory after a job exceeds recycleRssMb', async () => {
    // the fake's own RSS is well under 200 MiB; a bloat job keeps 200 MiB more
    const run = start({ recycleRssMb: 200 });
    const ids = [await job('succeed'), await job('bloat'), await job('succeed')];
    for (const id of ids) expect((await run(id, { retry: true })).status).toBe('succeeded');
    const [a, b, c] = await Promise.all(ids.map(pidOf));
    expect(b).toBe(a);
    expect(c).not.toBe(b);
  });

  it('fails a job that runs out of heap alone, not retried, with a reason its owner can act on; the next job succeeds', async () => {
    const run = start();
    const oom = await job('oom');
    const next = await job('succeed');
    const rec = await run(oom, { retry: true });
    expect([rec.status, rec.transient]).toEqual(['failed', false]);
    expect(rec.error).toMatch(/ran out of memory .*96 MiB of heap.*fewer or smaller layers/);
    expect((await run(next, { retry: true })).status).toBe('succeeded');
    expect(alive(await pidOf(oom))).toBe(false);
  });

  it('keeps the process when a job is cancelled at a batch boundary', async () => {
    const run = start();
    const { id: slow, next, ran } = await cancelWhileRunning(run, 'slow');
    expect((await ran).status).toBe('cancelled');
    expect((await run(next, { retry: true })).status).toBe('succeeded');
    expect(await pidOf(next)).toBe(await pidOf(slow));
  });

  it('kills a process that does not act on a cancel within the grace period: the job is cancelled, the next trains in a fresh process', async () => {
    const run = start();
    const { id: hung, next, ran } = await cancelWhileRunning(run, 'hang');
    expect((await ran).status).toBe('cancelled');
    expect(alive(await pidOf(hung))).toBe(false);
    expect((await run(next, { retry: true })).status).toBe('succeeded');
    expect(await pidOf(next)).not.toBe(await pidOf(hung));
  });

  it('does not kill the process during its next job for a cancel read before the last job ended', async () => {
    // a read that finds the cancel request on a running job answers 1.5 s late: those under way
    // when the job ended answer after it
    const late = new (class extends JobStore {
      override async get(id: string) {
        const r = await super.get(id);
        if (r.cancelRequested && r.status === 'running') await new Promise((done) => setTimeout(done, 1500));
        return r;
      }
    })(new LocalObjectStore(dir));
    const run = start({}, late);
    // the job ends 0.15 s after it sees the request: the runner's reads that see it answer after that
    const { id: finishing, next, ran } = await cancelWhileRunning(run, 'finish', 'linger');
    // the cancel came too late for the job, which ends as it would have
    expect((await ran).status).toBe('succeeded');
    expect((await run(next, { retry: true })).status).toBe('succeeded');
    expect(await pidOf(next)).toBe(await pidOf(finishing));
  });

  it('on shutdown, interrupts the running job (it resumes on the next run), and close ends the process', async () => {
    const run = start();
    const slow = await job('slow');
    const stop = new AbortController();
    const ran = run(slow, { retry: true, signal: stop.signal });
    await until(async () => (await jobs.get(slow)).status === 'running');
    stop.abort();
    expect((await ran).status).toBe('interrupted');
    await run.close?.();
    expect(alive(await pidOf(slow))).toBe(false);
  });

  it('interrupts a job whose process ignores the shutdown, killing it after the grace period', async () => {
    const run = start();
    const hung = await job('hang');
    const stop = new AbortController();
    const ran = run(hung, { retry: true, signal: stop.signal });
    await until(async () => (await jobs.get(hung)).status === 'running');
    stop.abort();
    expect((await ran).status).toBe('interrupted');
    expect(alive(await pidOf(hung))).toBe(false);
  });

  it('leaves a job queued when its process dies before it is ready, and names it in the log', async () => {
    const run = start({ env: { ...process.env, FAKE_DIE_AT_START: '1' } });
    const id = await job('succeed');
    expect((await run(id, { retry: true })).status).toBe('queued');
    expect(lines).toContainEqual(
      expect.objectContaining({ message: 'trainer process ended before it was ready', code: 3 }),
    );
  });

  it('kills a process not ready within readyMs and leaves the job queued', async () => {
    const run = start({ readyMs: 1500, env: { ...process.env, FAKE_HANG_AT_START: '1' } });
    const id = await job('succeed');
    expect((await run(id, { retry: true })).status).toBe('queued');
    expect(lines).toContainEqual(
      expect.objectContaining({ message: 'trainer process ended before it was ready', signal: 'SIGKILL' }),
    );
  });

  it('ends a process left idle for idleMs; the next job starts another', async () => {
    const run = start({ idleMs: 200 });
    const first = await job('succeed');
    await run(first, { retry: true });
    await until(async () => !alive(await pidOf(first)));
    const second = await job('succeed');
    expect((await run(second, { retry: true })).status).toBe('succeeded');
    expect(await pidOf(second)).not.toBe(await pidOf(first));
  });
});
