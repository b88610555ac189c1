import type { DatasetDeps } from '../dataset/dataset.js';
import { parseWorkflow } from '../dataset/workflow.js';
import { DuplicateAttemptError, MlaasError, UnavailableError } from '../errors.js';
import type { JobEpoch, JobRecord, JobStore } from '../jobs/job-store.js';
import { defaultModelName } from '../jobs/submit.js';
import type { Limits } from '../limits.js';
import { errorFields, type LogFn } from '../log.js';
import type { ObjectStore } from '../storage/object-store.js';
import { isWasmMemoryFault } from '../training/backend.js';
import { runTrainingJob } from './job.js';
import { type Publication, settlePublication } from './publication.js';

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
  /** the model's size and memory limits (default: the deployment's, from the environment) */
  limits?: Limits;
  /** hears failures of ours with their stack trace (the job's owner reads only a summary) */
  log?: LogFn;
}

const MEMORY =
  'the model and its batches need more memory than the trainer has: use fewer or smaller layers, a smaller batch_size or chunk_size';

/**
 * What the job's owner reads about a failure: the workflow's own errors, and which file or service
 * was unavailable; anything else (a bug, memory) stays in our logs.
 */
function describeFailure(err: unknown): string {
  if (err instanceof MlaasError && err.expose) return err.message;
  if (isWasmMemoryFault(err)) return MEMORY;
  if (err instanceof UnavailableError) return `temporarily unavailable: ${err.message}`;
  return 'internal error while training';
}

/**
 * Runs one queued (or interrupted) job to its end, recording every step in the job store. A job
 * publishes at most one model version over all its attempts (see ./publication.ts).
 */
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
  if (start.publishing) {
    // an earlier attempt got as far as publishing: adopt its bundle if complete, else clear it away
    const adopted = await settlePublication(deps.models, start.publishing);
    if (adopted) {
      await jobs.log(
        id,
        `model ${adopted.name} version ${adopted.version} was published by an earlier attempt`,
      );
      return await jobs.transition(id, 'succeeded', {
        model: { name: adopted.name, version: adopted.version },
        metrics: adopted.metrics,
        publishing: undefined,
      });
    }
    await jobs.update(id, (r) => ({ ...r, publishing: undefined }));
  }
  const stop = new AbortController();
  let cancelled = false;
  const onShutdown = () => stop.abort();
  deps.shutdown?.addEventListener('abort', onShutdown);
  let latest: JobRecord['progress'];
  // the live curves: epochs as they end, bounded so a long job's record stays small
  let epochs: JobEpoch[] = [];
  let writing: Promise<unknown> = Promise.resolve();
  // progress is written, and cancel requests read, on a timer rather than on every batch
  const timer = setInterval(() => {
    const progress = latest;
    writing = writing
      .then(() =>
        jobs.update(id, (r) => ({
          ...r,
          progress: progress ?? r.progress,
          history: epochs.length ? epochs : r.history,
        })),
      )
      .then((r) => {
        if ((r as JobRecord).cancelRequested) {
          cancelled = true;
          stop.abort();
        }
      })
      .catch(() => undefined);
  }, deps.pollMs ?? 2000);
  // recorded before the bundle's first file, in turn with the progress writes (a store that ignores
  // If-Match, like the local emulator, would otherwise let one overwrite the other)
  const claim = (p: Publication): Promise<void> => {
    const done = writing.then(() =>
      jobs.update(id, (r) => {
        if (r.publishing && r.publishing.version !== p.version)
          throw new DuplicateAttemptError(id, r.publishing.version);
        return { ...r, publishing: p };
      }),
    );
    writing = done.catch(() => undefined);
    return done.then(() => undefined);
  };
  try {
    const w = parseWorkflow(start.workflow);
    const outcome = await runTrainingJob(
      w,
      {
        dataset: deps.dataset,
        store: deps.models,
        claim,
        backend: deps.backend,
        limits: deps.limits,
        signal: stop.signal,
        log: (line) => {
          writing = writing.then(() => jobs.log(id, line)).catch(() => undefined);
        },
        onProgress: (p) => {
          latest = {
            chunk: p.chunk,
            chunks: p.chunks,
            epoch: p.epoch,
            epochs: p.epochs,
            loss: p.loss,
            eventsPerSecond: Math.round(p.samplesPerSecond),
            ...(p.valAuc !== undefined ? { valAuc: p.valAuc } : {}),
          };
        },
        onEpoch: (m) => {
          const e: JobEpoch = {
            epoch: m.epoch,
            chunk: m.chunk,
            loss: m.loss,
            valLoss: m.valLoss,
            valAuc: m.valAuc,
          };
          epochs = [...epochs, e].slice(-1000);
        },
      },
      w.name ?? defaultModelName(id),
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
      return await jobs.transition(id, to, { progress: latest, history: epochs });
    }
    const m = outcome.metrics;
    await jobs.log(
      id,
      `finished: model ${outcome.name} version ${outcome.version}, test AUC ${m.auc?.toFixed(4) ?? 'n/a'}`,
    );
    return await jobs.transition(id, 'succeeded', {
      progress: latest,
      history: epochs,
      model: { name: outcome.name, version: outcome.version! },
      metrics: { auc: m.auc, accuracy: m.accuracy, testEvents: m.testEvents, history: outcome.history },
      publishing: undefined,
    });
  } catch (err) {
    clearInterval(timer);
    await writing;
    if (err instanceof DuplicateAttemptError) {
      // the other attempt owns the job and its message now; leave both to it
      await jobs.log(id, `stopped: ${err.message}`);
      return await jobs.get(id);
    }
    // the workflow's fault (a 4xx: invalid, file missing or corrupt) fails at once; ours may pass
    // (as is a model too big for the trainer's memory: another attempt would fail the same way)
    const theirs = (err instanceof MlaasError && err.expose && err.status < 500) || isWasmMemoryFault(err);
    const message = describeFailure(err);
    deps.log?.({
      level: theirs ? 'warn' : 'error',
      message: theirs ? 'job failed: its workflow is at fault' : 'job attempt failed',
      jobId: id,
      ...errorFields(err),
    });
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
