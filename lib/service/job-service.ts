import { BundleStore } from '../bundles/bundle-store.js';
import type { Actor } from '../bundles/ownership.js';
import { NotFoundError, truncateName } from '../errors.js';
import { type JobRecord, JobStore } from '../jobs/job-store.js';
import type { JobQueue } from '../jobs/queue.js';
import { submitJob } from '../jobs/submit.js';
import { onObjectCreated, TriggerStore, type UploadedObject } from '../jobs/triggers.js';
import type { Limits } from '../limits.js';
import type { ObjectStore } from '../storage/object-store.js';

/** Who is calling: the token's subject, what it may do, and its groups (which may own models). */
export interface Caller {
  sub: string;
  scopes: ReadonlySet<string>;
  groups?: readonly string[];
}

/** The caller as the model namespace sees it (lib/bundles/ownership.ts). */
export const actorOf = (c: Caller): Actor => ({
  sub: c.sub,
  groups: c.groups ?? [],
  admin: c.scopes.has('admin'),
});

/** A job as its owner sees it (the workflow echoed, internals left out). */
function view(r: JobRecord) {
  return {
    job_id: r.id,
    status: r.status,
    created: r.createdAt,
    updated: r.updatedAt,
    started: r.startedAt,
    finished: r.finishedAt,
    attempts: r.attempts,
    progress: r.progress,
    history: r.history,
    error: r.error,
    model: r.model,
    metrics: r.metrics && {
      auc: r.metrics.auc,
      accuracy: r.metrics.accuracy,
      testEvents: r.metrics.testEvents,
    },
  };
}

/** Reading and cancelling one's jobs: the `jobs` function (no queue, no TensorFlow.js). */
export class JobService {
  readonly jobs: JobStore;

  constructor(store: ObjectStore) {
    this.jobs = new JobStore(store);
  }

  /** Someone else's job is "not found", never "forbidden": its existence is not revealed. */
  private async own(caller: Caller, id: string): Promise<JobRecord> {
    const rec = await this.jobs.get(id);
    if (rec.owner !== caller.sub) throw new NotFoundError(`no job "${truncateName(id)}"`, 'JobNotFound');
    return rec;
  }

  async listJobs(caller: Caller) {
    const recs = await this.jobs.list(caller.sub);
    return recs.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map(view);
  }

  async getJob(caller: Caller, id: string) {
    return view(await this.own(caller, id));
  }

  async jobLogs(caller: Caller, id: string): Promise<string> {
    await this.own(caller, id);
    return this.jobs.logs(id);
  }

  /** A queued job never starts; a running one stops at its next batch (the trainer reads the flag). */
  async cancelJob(caller: Caller, id: string) {
    const rec = await this.own(caller, id);
    if (rec.status === 'running')
      return view(await this.jobs.update(id, (r) => ({ ...r, cancelRequested: true })));
    return view(await this.jobs.transition(id, 'cancelled'));
  }
}

export interface SubmitServiceDeps {
  store: ObjectStore;
  queue: JobQueue;
  /** files a workflow may read; throws for anything else (the deployment's allow-list) */
  checkSources?(files: string[]): void | Promise<void>;
  /** what one workflow may ask for (epochs, sizes, files, expressions, the model); default DEFAULT_LIMITS */
  limits?: Limits;
}

/** Creating jobs: POST /submit and the upload trigger (the `submit` and `onUpload` functions). */
export class SubmitService {
  readonly jobs: JobStore;
  readonly triggers: TriggerStore;
  /** the model store, where a job's model name is claimed for its owner at submit */
  readonly models: BundleStore;

  constructor(private readonly deps: SubmitServiceDeps) {
    this.jobs = new JobStore(deps.store);
    this.triggers = new TriggerStore(deps.store);
    this.models = new BundleStore(deps.store);
  }

  async submit(caller: Caller, workflow: unknown, idempotencyKey?: string) {
    const rec = await submitJob(
      {
        jobs: this.jobs,
        queue: this.deps.queue,
        checkSources: this.deps.checkSources,
        limits: this.deps.limits,
        models: this.models,
      },
      actorOf(caller),
      workflow,
      idempotencyKey,
    );
    return { job_id: rec.id, status: rec.status };
  }

  /** S3 ObjectCreated: one job per covering rule and object version. */
  async objectCreated(obj: UploadedObject) {
    const jobs = await onObjectCreated(
      {
        jobs: this.jobs,
        queue: this.deps.queue,
        triggers: this.triggers,
        checkSources: this.deps.checkSources,
        limits: this.deps.limits,
        models: this.models,
      },
      obj,
    );
    return jobs.map((j) => j.id);
  }
}
