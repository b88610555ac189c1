import { createHash } from 'node:crypto';
import { parseWorkflow } from '../dataset/workflow.js';
import { InvalidInputError, PreconditionFailedError } from '../errors.js';
import { parseModelDefinition } from '../training/model-schema.js';
import type { JobRecord, JobStore } from './job-store.js';
import type { JobQueue } from './queue.js';

export interface SubmitDeps {
  jobs: JobStore;
  queue: JobQueue;
  /** refuses sources outside an allow-list, in a deployment */
  checkSources?(files: string[]): void;
}

// the allow-list has a module of its own: lib/config reads it without loading workflow parsing
export { allowedSourcesFromEnv, sourceAllowList } from './source-policy.js';

/** A stable job id for (owner, idempotency key): a retried submit finds the same job. */
function idFor(owner: string, key: string): string {
  const h = createHash('sha256').update(`${owner}\n${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Validates a workflow, records a queued job and puts it on the queue. With an idempotency key
 * a retried submit returns the first job (and enqueues it if the first attempt failed to).
 */
export async function submitJob(
  deps: SubmitDeps,
  owner: string,
  doc: unknown,
  idempotencyKey?: string,
): Promise<JobRecord> {
  const w = parseWorkflow(doc);
  // the model section too (422 naming the field), by a schema that loads no TensorFlow.js
  parseModelDefinition(w.model);
  deps.checkSources?.(w.files);
  if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,128}$/.test(idempotencyKey)) {
    throw new InvalidInputError('Idempotency-Key must be 1 to 128 printable characters');
  }
  let rec: JobRecord;
  if (idempotencyKey) {
    const id = idFor(owner, idempotencyKey);
    try {
      rec = await deps.jobs.create(owner, w, id);
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      rec = await deps.jobs.get(id);
      if (rec.enqueuedAt) return rec;
    }
  } else rec = await deps.jobs.create(owner, w);
  await deps.queue.send({ jobId: rec.id });
  return deps.jobs.update(rec.id, (r) => ({ ...r, enqueuedAt: new Date().toISOString() }));
}
