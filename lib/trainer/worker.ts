import { NotFoundError } from '../errors.js';
import type { JobStore } from '../jobs/job-store.js';
import type { JobQueue, ReceivedMessage } from '../jobs/queue.js';
import { errorFields, type LogFn } from '../log.js';
import type { JobRunner } from './child-trainer.js';
import { runJob, type TrainerDeps } from './trainer.js';

export interface WorkerOptions {
  /** how long a received message stays hidden; extended every third of it while the job runs */
  visibilitySeconds?: number;
  waitSeconds?: number;
  /** stop after this many messages (tests, one-shot container tasks) */
  maxMessages?: number;
  /** receives of one message before it goes to the dead-letter queue: the queue's maxReceiveCount (3) */
  maxReceives?: number;
  /** seconds a failed attempt waits before the next, times the attempt number (default 30) */
  retryDelaySeconds?: number;
  /** aborting stops taking new messages; the running job is interrupted and returned to the queue */
  signal?: AbortSignal;
  /** the consumer's lines and, unless `deps.log` says otherwise, the jobs' failures with their stacks */
  log?: LogFn;
}

/**
 * Consumes the job queue: long-polls a message, runs its job while keeping the message hidden,
 * deletes it once the job has ended for good (succeeded, cancelled, failed by its workflow), and
 * returns it to the queue when the job was interrupted so another run resumes it. A failure of
 * ours is retried after a delay until the message's last receive; then the record says failed with
 * the last error and the queue's redrive policy moves the message to the dead-letter queue.
 * A malformed or unknown message is never retried: it goes to the dead-letter queue at once (or is
 * deleted when the queue has none to offer), with a log line either way.
 */
export async function consumeQueue(
  queue: JobQueue,
  jobs: JobStore,
  /** what trains a job: in this process (the trainer's dependencies), or a runner (a child process) */
  deps: Omit<TrainerDeps, 'jobs' | 'shutdown'> | { run: JobRunner },
  options: WorkerOptions = {},
): Promise<number> {
  const visibility = options.visibilitySeconds ?? 300;
  const log = options.log ?? (() => {});
  let handled = 0;
  try {
    await consume();
  } finally {
    // a runner that keeps a trainer process between jobs ends it with the consumer
    if ('run' in deps) await deps.run.close?.();
  }
  return handled;

  async function consume(): Promise<void> {
    while (!options.signal?.aborted && (options.maxMessages === undefined || handled < options.maxMessages)) {
      let msg: ReceivedMessage | undefined;
      try {
        msg = await queue.receive(options.waitSeconds ?? 20, visibility);
      } catch (err) {
        // the queue briefly unavailable: wait and poll again rather than stop consuming
        log({ level: 'warn', message: 'cannot receive from the job queue', ...errorFields(err) });
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (!msg) continue;
      handled++;
      try {
        await handle(msg);
      } catch (err) {
        // the message becomes visible again after its timeout; the dead-letter queue ends retries
        log({
          level: 'error',
          message: 'job could not be handled',
          body: msg.body.slice(0, 200),
          receiveCount: msg.receiveCount,
          ...errorFields(err),
        });
      }
    }
  }

  /**
   * The job id a message names, or undefined when it names none that exists. A store that cannot
   * be read says nothing about the job: that error propagates, and the message comes back later.
   */
  async function knownJob(body: string): Promise<string | undefined> {
    let jobId: unknown;
    try {
      jobId = (JSON.parse(body) as { jobId?: unknown } | null)?.jobId;
    } catch {
      return undefined;
    }
    if (typeof jobId !== 'string') return undefined;
    try {
      await jobs.get(jobId);
      return jobId;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async function handle(msg: ReceivedMessage): Promise<void> {
    const jobId = await knownJob(msg.body);
    if (jobId === undefined) {
      // nothing any attempt could do with it: aside at once, rather than use up its receives
      const reason = 'not a known job';
      const moved = await (queue.deadLetter?.(msg, reason) ?? Promise.resolve(false));
      if (!moved) await queue.delete(msg);
      log({
        level: 'warn',
        message: `poisoned message moved aside (${reason}): ${moved ? 'dead-lettered' : 'deleted'}`,
        body: msg.body.slice(0, 200),
      });
      return;
    }
    const heartbeat = setInterval(
      () => {
        queue.extend(msg, visibility).catch(() => undefined);
      },
      (visibility * 1000) / 3,
    );
    try {
      const maxReceives = options.maxReceives ?? 3;
      const retry = msg.receiveCount < maxReceives;
      const rec =
        'run' in deps
          ? await deps.run(jobId, { retry, signal: options.signal })
          : await runJob(jobId, { log, ...deps, jobs, shutdown: options.signal, retry });
      log({ level: 'info', message: 'job ended', jobId, status: rec.status, receiveCount: msg.receiveCount });
      if (rec.status === 'interrupted') await queue.release(msg);
      else if (rec.status === 'running')
        // another attempt of the job (a duplicate delivery) is publishing: the message is its
        return;
      else if (rec.status === 'queued')
        // a failure of ours: the message comes back after a delay for another attempt
        await queue.extend(msg, (options.retryDelaySeconds ?? 30) * msg.receiveCount);
      else if (rec.status === 'failed' && rec.transient && msg.receiveCount <= maxReceives)
        // the last attempt failed too: visible again, the queue moves it to its dead-letter queue
        await queue.release(msg);
      else await queue.delete(msg);
    } finally {
      clearInterval(heartbeat);
    }
  }
}
