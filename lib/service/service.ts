import type { ConsoleSite } from '../console/site.js';
import { type DataAccess, inspectSource, listDataFiles, uploadTicket } from '../data/files.js';
import { checkExpression, workflowJsonSchema } from '../dataset/workflow-schema.js';
import { InvalidInputError, MisconfiguredError, NotFoundError, UnprocessableError } from '../errors.js';
import { type RateLimits, rateLimitsFromEnv } from '../http/rate-limit.js';
import { type JobRecord, JobStore } from '../jobs/job-store.js';
import type { JobQueue } from '../jobs/queue.js';
import { allowedSourcesFromEnv, submitJob } from '../jobs/submit.js';
import { onObjectCreated, type Trigger, TriggerStore, type UploadedObject } from '../jobs/triggers.js';
import { ModelCache } from '../serving/model-cache.js';
import { infer, metadata } from '../serving/open-inference.js';
import { predictJson } from '../serving/predict.js';
import { ModelRegistry } from '../serving/registry.js';
import { type FormFile, formBundle } from '../serving/tfaas.js';
import type { ObjectStore } from '../storage/object-store.js';

/** Who is calling: the token's subject and what it may do. */
export interface Caller {
  sub: string;
  scopes: ReadonlySet<string>;
}

export interface ServiceDeps {
  /** job records, model bundles, triggers and specs all live in one store (an S3 bucket in AWS) */
  store: ObjectStore;
  queue: JobQueue;
  /** files a workflow may read; throws for anything else (the deployment's allow-list) */
  checkSources?(files: string[]): void;
  cacheBytes?: number;
  maxUploadBytes?: number;
  /** hears a line per model loaded (its engine and why) */
  log?(entry: Record<string, unknown>): void;
  /** training data: how keys are named in workflows, opened and uploaded to */
  data?: DataAccess;
  /** the largest .root file an upload URL is issued for (default 2 GiB) */
  maxDataUploadBytes?: number;
  /** the web console's files and sign-in settings */
  console?: ConsoleSite;
}

/** The deployment's policy: what `serve` and the Lambda functions read from the environment alike. */
export interface ServiceConfig {
  /** per-user limits on predict and submit (MLAAS4HEP_RATE_LIMIT_PREDICT / _SUBMIT) */
  rateLimits: RateLimits;
  /** prefixes workflows may read (MLAAS4HEP_ALLOWED_SOURCES); undefined: any source */
  allowedSources?: string[];
  /** the largest .root file the console may upload (MLAAS4HEP_MAX_DATA_UPLOAD_BYTES, default 2 GiB) */
  maxDataUploadBytes?: number;
}

/**
 * The one place the service's policy is read from the environment, once at start. A bad value is
 * a Misconfigured error naming the variable, so the process (or the cold start) fails at once.
 */
export function serviceConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  defaults: { allowedSources?: string[] } = {},
): ServiceConfig {
  try {
    return {
      rateLimits: rateLimitsFromEnv(env),
      allowedSources: allowedSourcesFromEnv(env) ?? defaults.allowedSources,
      maxDataUploadBytes: bytesFromEnv(env, 'MLAAS4HEP_MAX_DATA_UPLOAD_BYTES'),
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new MisconfiguredError(`configuration: ${message}`, { cause: err });
  }
}

function bytesFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  // S3 takes at most 5 GiB in one PUT
  if (!Number.isInteger(n) || n <= 0 || n > 5 * 2 ** 30)
    throw new TypeError(`${name} must be a whole number of bytes from 1 to 5 GiB (got "${v}")`);
  return n;
}

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

/**
 * Every operation the HTTP functions expose, independent of HTTP: the handlers in functions/ and
 * `mlaas4hep serve` parse a request, call one of these, and map the result.
 */
export class Service {
  readonly jobs: JobStore;
  readonly registry: ModelRegistry;
  readonly cache: ModelCache;
  readonly triggers: TriggerStore;

  constructor(private readonly deps: ServiceDeps) {
    this.jobs = new JobStore(deps.store);
    this.registry = new ModelRegistry(deps.store);
    this.cache = new ModelCache(deps.store, { maxBytes: deps.cacheBytes, log: deps.log });
    this.triggers = new TriggerStore(deps.store);
  }

  async submit(caller: Caller, workflow: unknown, idempotencyKey?: string) {
    const rec = await submitJob(
      { jobs: this.jobs, queue: this.deps.queue, checkSources: this.deps.checkSources },
      caller.sub,
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

  listModels() {
    return this.registry.listModels();
  }

  describeModel(name: string, version?: string) {
    return this.registry.describeModel(name, version);
  }

  /** A tar.gz bundle; without a name, the archive's one top folder names the model (as TFaaS). */
  uploadModel(name: string | undefined, tarGz: Uint8Array) {
    return this.registry.uploadBundle(name, tarGz, { maxBytes: this.deps.maxUploadBytes ?? 64 * 2 ** 20 });
  }

  /** TFaaS's upload form: params.json, the model file and labels as form parts. */
  uploadForm(parts: readonly FormFile[], base64Model: boolean, name?: string) {
    const form = formBundle(parts, base64Model);
    const named = name ?? form.name;
    if (!named)
      throw new InvalidInputError('name the model: a "name" field in the form, or params.json "name"');
    return this.registry.uploadFiles(named, form.files);
  }

  deleteModel(name: string, version?: string) {
    return this.registry.deleteModel(name, version);
  }

  downloadModel(name: string, version: string, file?: string) {
    return this.registry.download(name, version, file);
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

  infer(name: string, version: string | undefined, body: unknown) {
    return infer(this.cache, name, version, body);
  }

  putTrigger(caller: Caller, name: string, doc: unknown): Promise<Trigger> {
    return this.triggers.put(name, doc, caller.sub, this.deps.checkSources);
  }

  listTriggers() {
    return this.triggers.list();
  }

  getTrigger(name: string) {
    return this.triggers.get(name);
  }

  deleteTrigger(name: string) {
    return this.triggers.delete(name);
  }

  private dataAccess(): DataAccess {
    if (!this.deps.data)
      throw new UnprocessableError('this deployment has no training data store', 'NoDataStore');
    return this.deps.data;
  }

  private readable = (source: string): boolean => {
    try {
      this.deps.checkSources?.([source]);
      return true;
    } catch {
      return false;
    }
  };

  /** .root files under data/ and incoming/ that workflows here may read. */
  listDataFiles() {
    return listDataFiles(this.deps.store, this.dataAccess(), this.readable);
  }

  /** The trees and branches of one readable file (the allow-list applies as on /submit). */
  inspectData(source: string | undefined) {
    if (!source) throw new InvalidInputError('name the file: ?source=s3://bucket/data/file.root');
    this.deps.checkSources?.([source]);
    return inspectSource(this.dataAccess(), source);
  }

  /** A presigned PUT for one .root file under the caller's folder of data/ or incoming/. */
  uploadTicket(caller: Caller, body: unknown) {
    return uploadTicket(this.dataAccess(), caller.sub, body, this.deps.maxDataUploadBytes ?? 2 * 2 ** 30);
  }

  workflowSchema() {
    return workflowJsonSchema();
  }

  checkExpression(body: unknown) {
    return checkExpression(body);
  }

  consoleConfig() {
    return this.console().config;
  }

  consoleFile(name: string) {
    return this.console().file(name);
  }

  private console(): ConsoleSite {
    if (!this.deps.console) throw new NotFoundError('no web console here', 'NoConsole');
    return this.deps.console;
  }

  /** S3 ObjectCreated: one job per covering rule and object version. */
  async objectCreated(obj: UploadedObject) {
    const jobs = await onObjectCreated(
      {
        jobs: this.jobs,
        queue: this.deps.queue,
        triggers: this.triggers,
        checkSources: this.deps.checkSources,
      },
      obj,
    );
    return jobs.map((j) => j.id);
  }
}
