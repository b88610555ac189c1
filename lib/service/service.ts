import { type Actor, claimModel } from '../bundles/ownership.js';
import type { Config } from '../config.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { type JobRecord, JobStore } from '../jobs/job-store.js';
import type { JobQueue } from '../jobs/queue.js';
import { submitJob } from '../jobs/submit.js';
import { onObjectCreated, type Trigger, TriggerStore, type UploadedObject } from '../jobs/triggers.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';
import { ModelCache } from '../serving/model-cache.js';
import { infer, metadata } from '../serving/open-inference.js';
import { predictJson } from '../serving/predict.js';
import { checkReadiness } from '../serving/readiness.js';
import { ModelRegistry } from '../serving/registry.js';
import { type FormFile, formBundle } from '../serving/tfaas.js';
import type { ObjectStore } from '../storage/object-store.js';

/** Who is calling: the token's subject, what it may do, and its groups (which may own models). */
export interface Caller {
  sub: string;
  scopes: ReadonlySet<string>;
  groups?: readonly string[];
}

/** The caller as the model namespace sees it (lib/bundles/ownership.ts). */
const actorOf = (c: Caller): Actor => ({ sub: c.sub, groups: c.groups ?? [], admin: c.scopes.has('admin') });

export interface ServiceDeps {
  /** job records, model bundles, triggers and specs all live in one store (an S3 bucket in AWS) */
  store: ObjectStore;
  queue: JobQueue;
  /** files a workflow may read; throws for anything else (the deployment's allow-list) */
  checkSources?(files: string[]): void;
  /** what one workflow may ask for (epochs, sizes, files, expressions, the model); default DEFAULT_LIMITS */
  limits?: Limits;
  cacheBytes?: number;
  maxUploadBytes?: number;
  /** hears a line per model loaded (its engine and why) */
  log?(entry: Record<string, unknown>): void;
}

/** The deployment's policy, as `serve` and the Lambda functions read it (lib/config). */
export type ServiceConfig = Pick<Config, 'rateLimits' | 'allowedSources' | 'limits'>;

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
    error: r.error,
    model: r.model,
    metrics: r.metrics && {
      auc: r.metrics.auc,
      accuracy: r.metrics.accuracy,
      testEvents: r.metrics.testEvents,
    },
  };
}

/**
 * Every operation the HTTP functions expose, independent of HTTP: the handlers in functions/ and
 * `mlaas4hep serve` parse a request, call one of these, and map the result.
 */
export class Service {
  readonly jobs: JobStore;
  readonly registry: ModelRegistry;
  readonly cache: ModelCache;
  readonly triggers: TriggerStore;
  readonly limits: Limits;

  constructor(private readonly deps: ServiceDeps) {
    this.jobs = new JobStore(deps.store);
    this.registry = new ModelRegistry(deps.store);
    this.cache = new ModelCache(deps.store, { maxBytes: deps.cacheBytes, log: deps.log });
    this.triggers = new TriggerStore(deps.store);
    this.limits = deps.limits ?? DEFAULT_LIMITS;
  }

  async submit(caller: Caller, workflow: unknown, idempotencyKey?: string) {
    const rec = await submitJob(
      {
        jobs: this.jobs,
        queue: this.deps.queue,
        checkSources: this.deps.checkSources,
        limits: this.limits,
        models: this.registry.bundles,
      },
      actorOf(caller),
      workflow,
      idempotencyKey,
    );
    return { job_id: rec.id, status: rec.status };
  }

  /** Someone else's job is "not found", never "forbidden": its existence is not revealed. */
  private async own(caller: Caller, id: string): Promise<JobRecord> {
    const rec = await this.jobs.get(id);
    if (rec.owner !== caller.sub) throw new NotFoundError(`no job "${id}"`, 'JobNotFound');
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

  /** Every model's latest version: what predicting needs, never a workflow. */
  listModels() {
    return this.registry.listModels();
  }

  /** A model's versions, features, classes and metrics; its owner and workflow to the owner and admins only. */
  describeModel(caller: Caller, name: string) {
    return this.registry.describeModel(name, actorOf(caller));
  }

  /**
   * A tar.gz bundle; without a name, the archive's one top folder names the model (as TFaaS). The
   * name is the caller's (or `group`'s) once published: another owner's is a 403.
   */
  uploadModel(caller: Caller, name: string | undefined, tarGz: Uint8Array, group?: string) {
    return this.registry.uploadBundle(
      name,
      tarGz,
      { maxBytes: this.deps.maxUploadBytes ?? 64 * 2 ** 20 },
      { actor: actorOf(caller), group },
    );
  }

  /** TFaaS's upload form: params.json, the model file and labels as form parts. */
  uploadForm(
    caller: Caller,
    parts: readonly FormFile[],
    base64Model: boolean,
    name?: string,
    group?: string,
  ) {
    const form = formBundle(parts, base64Model);
    const named = name ?? form.name;
    if (!named)
      throw new InvalidInputError('name the model: a "name" field in the form, or params.json "name"');
    return this.registry.uploadFiles(named, form.files, { actor: actorOf(caller), group });
  }

  deleteModel(name: string, version?: string) {
    return this.registry.deleteModel(name, version);
  }

  plot(name: string, version: string | undefined, file: string) {
    return this.registry.plot(name, version, file);
  }

  predictJson(body: unknown) {
    return predictJson(this.cache, body);
  }

  modelMetadata(name: string, version?: string) {
    return metadata(this.cache, name, version);
  }

  modelReady(name: string, version?: string) {
    return this.cache.ready(name, version);
  }

  /** KServe's server readiness: the inference backend started and the store readable. */
  ready() {
    return checkReadiness({ store: this.deps.store, log: this.deps.log });
  }

  infer(name: string, version: string | undefined, body: unknown) {
    return infer(this.cache, name, version, body);
  }

  putTrigger(caller: Caller, name: string, doc: unknown): Promise<Trigger> {
    return this.triggers.put(name, doc, caller.sub, this.deps.checkSources, (model, owner) =>
      claimModel(this.registry.bundles, model, { sub: owner }),
    );
  }

  getTrigger(name: string) {
    return this.triggers.get(name);
  }

  deleteTrigger(name: string) {
    return this.triggers.delete(name);
  }

  /** S3 ObjectCreated: one job per covering rule and object version. */
  async objectCreated(obj: UploadedObject) {
    const jobs = await onObjectCreated(
      {
        jobs: this.jobs,
        queue: this.deps.queue,
        triggers: this.triggers,
        checkSources: this.deps.checkSources,
        limits: this.limits,
        models: this.registry.bundles,
      },
      obj,
    );
    return jobs.map((j) => j.id);
  }
}
