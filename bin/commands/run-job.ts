import { JobStore } from '../../lib/jobs/job-store.js';
import { createLog } from '../../lib/log.js';
import { runJob } from '../../lib/trainer/trainer.js';
import { initBackend } from '../../lib/training/backend.js';
import { parse, required } from './args.js';
import { storeAt } from './stores.js';
import { datasetDeps } from './workflow.js';

const USAGE = 'mlaas4hep run-job --store <dir | s3://bucket/prefix> --job <id>';

/**
 * The trainer's container entry: runs one job from the store. SIGTERM (scale-in, spot reclaim)
 * stops training at the next batch and records the job as interrupted, so it can resume.
 */
export async function runJobCommand(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values } = parse(argv, { store: { type: 'string' }, job: { type: 'string' } }, USAGE);
  const store = storeAt(required(values.store, '--store', USAGE));
  const backend = await initBackend();
  const shutdown = new AbortController();
  const onSignal = () => shutdown.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const rec = await runJob(required(values.job, '--job', USAGE), {
      jobs: new JobStore(store),
      models: store,
      dataset: datasetDeps(),
      backend,
      shutdown: shutdown.signal,
      log: createLog({ keys: { component: 'trainer' } }).log,
    });
    out.write(`${JSON.stringify({ job: rec.id, status: rec.status, model: rec.model, error: rec.error })}\n`);
    if (rec.status === 'failed') process.exitCode = 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
