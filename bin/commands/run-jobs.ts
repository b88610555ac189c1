import { JobStore } from '../../lib/jobs/job-store.js';
import { createLog } from '../../lib/log.js';
import { type FromTrainer, isToTrainer, type ToTrainer } from '../../lib/trainer/child-protocol.js';
import { runJob } from '../../lib/trainer/trainer.js';
import { initBackend } from '../../lib/training/backend.js';
import { parse, required } from './args.js';
import { storeAt } from './stores.js';
import { trainerDatasetDeps } from './workflow.js';

const USAGE = 'mlaas4hep run-jobs --store <dir | s3://bucket/prefix>   (started by serve, over IPC)';

/**
 * serve's trainer process: runs the jobs its parent sends over the IPC channel, one at a time, in
 * one process that starts Node, TensorFlow.js and the reader once rather than per job (see
 * lib/trainer/child-trainer.ts for why and when it is replaced). SIGTERM stops the current job at
 * its next batch (recorded as interrupted, as run-job does) and ends the process; so does a parent
 * that goes away. A job that throws past runJob (its store unreadable) ends the process with the
 * error on stderr, which the parent reports as run-job's death would be.
 */
export async function runJobsCommand(argv: string[]): Promise<void> {
  try {
    await trainJobs(argv);
  } catch (err) {
    // the IPC channel would keep a failed process alive, and serve waiting on it for good
    process.stderr.write(`run-jobs: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  }
}

async function trainJobs(argv: string[]): Promise<void> {
  const { values } = parse(argv, { store: { type: 'string' } }, USAGE);
  const send = process.send?.bind(process);
  if (!send) throw new Error(`run-jobs needs an IPC channel to its parent\nusage: ${USAGE}`);
  // resolves once the message is on its way: the process may exit right after
  const tell = (m: FromTrainer) => new Promise<void>((r) => send(m, undefined, undefined, () => r()));
  const store = storeAt(required(values.store, '--store', USAGE));
  // listening before the slow start-up: a message is never dropped for want of a listener
  const inbox: ToTrainer[] = [];
  let wake: (() => void) | undefined;
  const hear = (m: unknown) => {
    if (!isToTrainer(m)) return;
    inbox.push(m);
    wake?.();
  };
  process.on('message', hear);
  const shutdown = new AbortController();
  let busy = false;
  // an idle process has nothing to record: it ends at once; a busy one once its job says interrupted
  const stop = () => {
    shutdown.abort();
    if (!busy) process.exit(0);
  };
  const orphaned = () => {
    stop();
    setTimeout(() => process.exit(1), 5000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', orphaned);
  const backend = await initBackend();
  const jobs = new JobStore(store);
  const dataset = trainerDatasetDeps();
  const log = createLog({ keys: { component: 'trainer' } }).log;
  await tell({ type: 'ready', backend });
  for (;;) {
    const m = inbox.shift() ?? (await new Promise<void>((r) => (wake = r)).then(() => inbox.shift()));
    if (!m) continue;
    if (m.type === 'stop' || shutdown.signal.aborted) break;
    busy = true;
    const rec = await runJob(m.id, {
      jobs,
      models: store,
      dataset,
      backend,
      shutdown: shutdown.signal,
      retry: m.retry,
      log,
    });
    busy = false;
    const rssMb = Math.round(process.memoryUsage.rss() / 2 ** 20);
    await tell({ type: 'done', id: rec.id, status: rec.status, rssMb });
    if (shutdown.signal.aborted) break;
  }
  // exit rather than wait for idle reader threads and timers to wind down (seconds, for nothing)
  process.exit(0);
}
