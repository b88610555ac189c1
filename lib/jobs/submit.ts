import { createHash, randomUUID } from 'node:crypto';
import type { BundleStore } from '../bundles/bundle-store.js';
import { type Actor, claimModel } from '../bundles/ownership.js';
import { parseWorkflow } from '../dataset/workflow.js';
import { checkWorkflowLimits } from '../dataset/workflow-limits.js';
import { InvalidInputError, PreconditionFailedError } from '../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';
import { checkModelBudget, parseModelDefinition } from '../training/model-schema.js';
import type { JobRecord, JobStore } from './job-store.js';
import type { JobQueue } from './queue.js';

export interface SubmitDeps {
  jobs: JobStore;
  queue: JobQueue;
  /** refuses sources outside an allow-list, in a deployment */
  checkSources?(files: string[]): void;
  /** the deployment's limits on epochs, sizes, files, expressions and the model (default DEFAULT_LIMITS) */
  limits?: Limits;
  /** the model store: the job's model name is claimed for its owner at submit (403 if another's) */
  models?: BundleStore;
}

/** The name a job's model gets when its workflow names none. */
export const defaultModelName = (jobId: string): string => `job-${jobId.slice(0, 8)}`;

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
  submitter: string | Actor,
  doc: unknown,
  idempotencyKey?: string,
): Promise<JobRecord> {
  const actor: Actor = typeof submitter === 'string' ? { sub: submitter } : submitter;
  const owner = actor.sub;
  const w = parseWorkflow(doc);
  const limits = deps.limits ?? DEFAULT_LIMITS;
  checkWorkflowLimits(w, limits);
  // the model section too (422 naming the field), by a schema that loads no TensorFlow.js, and its
  // size for the narrowest input the workflow allows (the trainer checks again with the real width)
  const def = parseModelDefinition(w.model);
  checkModelBudget(
    def,
    {
      inputs: w.params.selected_branches?.length ?? 1,
      classes: Array.isArray(w.labels) ? new Set(w.labels).size : 2,
      batchSize: w.params.batch_size,
    },
    limits,
  );
  deps.checkSources?.(w.files);
  if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,128}$/.test(idempotencyKey)) {
    throw new InvalidInputError('Idempotency-Key must be 1 to 128 printable characters');
  }
  const id = idempotencyKey ? idFor(owner, idempotencyKey) : randomUUID();
  // the model this job will publish: someone else's is a 403 now, not a surprise when it finishes
  if (deps.models) await claimModel(deps.models, w.name ?? defaultModelName(id), actor, w.group);
  let rec: JobRecord;
  if (idempotencyKey) {
    try {
      rec = await deps.jobs.create(owner, w, id);
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      rec = await deps.jobs.get(id);
      if (rec.enqueuedAt) return rec;
    }
  } else rec = await deps.jobs.create(owner, w, id);
  await deps.queue.send({ jobId: rec.id });
  return deps.jobs.update(rec.id, (r) => ({ ...r, enqueuedAt: new Date().toISOString() }));
}
