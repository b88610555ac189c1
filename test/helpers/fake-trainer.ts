/**
 * A stand-in for `mlaas4hep run-jobs`: speaks its IPC protocol and records jobs in the store as
 * runJob does, without TensorFlow.js, so the child trainer's process handling is tested in
 * seconds. What each job does is its workflow's `behave`:
 *   succeed | fail (by its workflow) | bloat (keeps 200 MiB, then succeeds)
 *   oom (fills the heap until V8 aborts) | slow (stops at a cancel or SIGTERM, else succeeds after 20 s)
 *   hang (ignores cancels and SIGTERM) | finish (succeeds 0.15 s after a cancel is requested: too late)
 *   linger (succeeds after 4 s)
 * Every job's log names the process that ran it (`pid N`); FAKE_DIE_AT_START=1 exits (3) before ready,
 * FAKE_HANG_AT_START=1 never gets ready.
 * usage: node --import tsx test/helpers/fake-trainer.ts <store dir>
 */
import { JobStore } from '../../lib/jobs/job-store.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { type FromTrainer, isToTrainer, type ToTrainer } from '../../lib/trainer/child-protocol.js';

const jobs = new JobStore(new LocalObjectStore(process.argv[2]));
const kept: Buffer[] = [];
const inbox: ToTrainer[] = [];
let wake: (() => void) | undefined;
let stopping = false;
let busy = false;

process.on('message', (m) => {
  if (isToTrainer(m)) inbox.push(m);
  wake?.();
});
process.on('SIGTERM', () => {
  stopping = true;
  if (!busy) process.exit(0);
});
process.once('disconnect', () => process.exit(1));
const tell = (m: FromTrainer) => new Promise<void>((r) => process.send!(m, undefined, undefined, () => r()));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(id: string): Promise<void> {
  const rec = await jobs.get(id);
  await jobs.transition(id, 'running');
  await jobs.log(id, `pid ${process.pid}`);
  const behave = (rec.workflow as { behave?: string }).behave;
  if (behave === 'fail') {
    await jobs.transition(id, 'failed', { error: 'the workflow names no such file' });
    return;
  }
  if (behave === 'bloat') kept.push(Buffer.alloc(200 * 2 ** 20, 1));
  if (behave === 'oom') {
    const hog: unknown[] = [];
    for (;;) hog.push(new Array(1e5).fill({ a: hog.length }));
  }
  if (behave === 'hang') await new Promise(() => {});
  if (behave === 'finish') {
    while (!(await jobs.get(id)).cancelRequested) await sleep(20);
    await sleep(150);
  }
  if (behave === 'linger') await sleep(4000);
  if (behave === 'slow')
    for (let i = 0; i < 400; i++) {
      if ((await jobs.get(id)).cancelRequested) {
        await jobs.transition(id, 'cancelled');
        return;
      }
      if (stopping) {
        await jobs.transition(id, 'interrupted');
        return;
      }
      await sleep(50);
    }
  await jobs.transition(id, 'succeeded');
}

// a trainer that cannot start (a broken install, a bad option)
if (process.env.FAKE_DIE_AT_START) process.exit(3);
if (process.env.FAKE_HANG_AT_START) await new Promise(() => setInterval(() => {}, 1000));
await tell({ type: 'ready', backend: 'fake' });
for (;;) {
  const m = inbox.shift() ?? (await new Promise<void>((r) => (wake = r)).then(() => inbox.shift()));
  if (!m) continue;
  if (m.type === 'stop') break;
  busy = true;
  await run(m.id);
  busy = false;
  const status = (await jobs.get(m.id)).status;
  await tell({ type: 'done', id: m.id, status, rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20) });
  if (stopping) break;
}
process.exit(0);
