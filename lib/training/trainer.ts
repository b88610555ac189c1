import type { DatasetDeps } from '../dataset/dataset.js';
import { parseWorkflow } from '../dataset/workflow.js';
import { MlaasError } from '../errors.js';
import type { JobRecord, JobStore } from '../jobs/job-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { runTrainingJob } from './job.js';

export interface TrainerDeps {
  jobs: JobStore;
  models: ObjectStore;
  dataset: DatasetDeps;
  backend: string;
  /** aborted on SIGTERM: training stops at the next batch and the job is recorded as interrupted */
  shutdown?: AbortSignal;
  /** how often to write progress and look for a cancel request (ms) */
  pollMs?: number;
  /** a failure of ours (not the workflow's) puts the job back to queued for another attempt */
  retry?: boolean;
  log?(line: string): void;
}

/** Runs one queued (or interrupted) job to its end, recording every step in the job store. */
export async function runJob(id: string, deps: TrainerDeps): Promise<JobRecord> {
  const { jobs } = deps;
  const start = await jobs.get(id);
  // ended for good (a failed job is retried only through `queued`)
  if (start.status === 'cancelled' || start.status === 'succeeded' || start.status === 'failed') return start;
  if (start.status === 'running') {
    // the attempt before this one ended without a word: its trainer was killed (SIGKILL, OOM)
    await jobs.log(id, 'the previous attempt stopped without recording why (trainer killed); resuming');
    await jobs.transition(id, 'interrupted');
  }
  await jobs.transition(id, 'running', { error: undefined, transient: undefined });
  await jobs.log(id, `started (attempt ${start.attempts + 1}) on the ${deps.backend} backend`);
  const stop = new AbortController();
  let cancelled = false;
  const onShutdown = () => stop.abort();
  deps.shutdown?.addEventListener('abort', onShutdown);
  let latest: JobRecord['progress'];
  let writing: Promise<unknown> = Promise.resolve();
  // progress is written, and cancel requests read, on a timer rather than on every batch
  const timer = setInterval(() => {
    const progress = latest;
    writing = writing
      .then(() => jobs.update(id, (r) => ({ ...r, progress: progress ?? r.progress })))
      .then((r) => {
        if ((r as JobRecord).cancelRequested) {
          cancelled = true;
          stop.abort();
        }
      })
      .catch(() => undefined);
  }, deps.pollMs ?? 2000);
  try {
    const w = parseWorkflow(start.workflow);
    const outcome = await runTrainingJob(
      w,
      {
        dataset: deps.dataset,
        store: deps.models,
        backend: deps.backend,
        signal: stop.signal,
        onProgress: (p) => {
          latest = {
            chunk: p.chunk,
            chunks: p.chunks,
            epoch: p.epoch,
            epochs: p.epochs,
            loss: p.loss,
            eventsPerSecond: Math.round(p.samplesPerSecond),
          };
        },
      },
      w.name ?? `job-${id.slice(0, 8)}`,
    );
    clearInterval(timer);
    await writing;
    if (outcome.interrupted) {
      const to = cancelled ? 'cancelled' : 'interrupted';
      await jobs.log(
        id,
        to === 'cancelled'
          ? 'cancelled at a batch boundary'
          : 'interrupted (shutdown); it will resume on the next run',
      );
      return await jobs.transition(id, to, { progress: latest });
    }
    const m = outcome.metrics;
    await jobs.log(
      id,
      `finished: model ${outcome.name} version ${outcome.version}, test AUC ${m.auc?.toFixed(4) ?? 'n/a'}`,
    );
    return await jobs.transition(id, 'succeeded', {
      progress: latest,
      model: { name: outcome.name, version: outcome.version! },
      metrics: { auc: m.auc, accuracy: m.accuracy, testEvents: m.testEvents, history: outcome.history },
    });
  } catch (err) {
    clearInterval(timer);
    await writing;
    // a physicist sees what was wrong with their workflow; internal failures stay in our logs
    const theirs = err instanceof MlaasError && err.expose && err.status < 500;
    const message = err instanceof MlaasError && err.expose ? err.message : 'internal error while training';
    deps.log?.(`job ${id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (!theirs && deps.retry) {
      await jobs.log(id, `attempt failed: ${message}; it will be retried`);
      await jobs.transition(id, 'failed', { error: message, transient: true });
      return await jobs.transition(id, 'queued', { error: message, transient: true });
    }
    await jobs.log(id, `failed: ${message}`);
    return await jobs.transition(id, 'failed', { error: message, transient: !theirs });
  } finally {
    clearInterval(timer);
    deps.shutdown?.removeEventListener('abort', onShutdown);
  }
}
