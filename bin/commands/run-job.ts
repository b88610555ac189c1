import { JobStore } from '../../lib/jobs/job-store.js';
import { createLog } from '../../lib/log.js';
import { runJob } from '../../lib/trainer/trainer.js';
import { initBackend } from '../../lib/training/backend.js';
import { parse, required } from './args.js';
import { storeAt } from './stores.js';
import { trainerDatasetDeps } from './workflow.js';

const USAGE = 'mlaas4hep run-job --store <dir | s3://bucket/prefix> --job <id> [--retry]';

/**
 * The trainer's container entry: runs one job from the store. SIGTERM (scale-in, spot reclaim)
 * stops training at the next batch and records the job as interrupted, so it can resume.
 * `serve` runs each job this way in a child process; --retry puts a job that failed by our fault
 * back to queued (the queue's consumer gives it another attempt).
 */
export async function runJobCommand(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values } = parse(
    argv,
    { store: { type: 'string' }, job: { type: 'string' }, retry: { type: 'boolean' } },
    USAGE,
  );
  const store = storeAt(required(values.store, '--store', USAGE));
  const backend = await initBackend();
  const shutdown = new AbortController();
  const onSignal = () => shutdown.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // forked by serve: a parent that is gone (killed) takes its job's trainer with it
  const orphaned = () => {
    onSignal();
    setTimeout(() => process.exit(1), 5000).unref();
  };
  process.once('disconnect', orphaned);
  try {
    const rec = await runJob(required(values.job, '--job', USAGE), {
      jobs: new JobStore(store),
      models: store,
      dataset: trainerDatasetDeps(),
      backend,
      shutdown: shutdown.signal,
      retry: values.retry,
      log: createLog({ keys: { component: 'trainer' } }).log,
    });
    out.write(`${JSON.stringify({ job: rec.id, status: rec.status, model: rec.model, error: rec.error })}\n`);
    if (rec.status === 'failed') process.exitCode = 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('disconnect', orphaned);
    // the channel to serve would keep this process alive
    process.disconnect?.();
  }
}
