import type { Config } from '../config.js';
import type { ConsoleSite } from '../console/site.js';
import type { DataAccess } from '../data/files.js';
import type { JobQueue } from '../jobs/queue.js';
import type { UploadedObject } from '../jobs/triggers.js';
import type { Limits } from '../limits.js';
import type { FormFile } from '../serving/tfaas.js';
import type { ObjectStore } from '../storage/object-store.js';
import { DataService } from './data-service.js';
import { type Caller, JobService, SubmitService } from './job-service.js';
import { ModelService } from './model-service.js';
import { PredictService } from './predict-service.js';

export type { Caller } from './job-service.js';

export interface ServiceDeps {
  /** job records, model bundles, triggers and specs all live in one store (an S3 bucket in AWS) */
  store: ObjectStore;
  queue: JobQueue;
  /** files a workflow may read; throws for anything else (the deployment's allow-list) */
  checkSources?(files: string[]): void | Promise<void>;
  /** what one workflow may ask for (epochs, sizes, files, expressions, the model); default DEFAULT_LIMITS */
  limits?: Limits;
  cacheBytes?: number;
  maxUploadBytes?: number;
  /** hears a line per model loaded (its engine and why) */
  log?(entry: Record<string, unknown>): void;
  /** training data for the console: how keys are named in workflows, opened and uploaded to */
  data?: DataAccess;
  /** the largest .root file an upload URL is issued for (default 2 GiB) */
  maxDataUploadBytes?: number;
  /** the web console's files and sign-in settings */
  console?: ConsoleSite;
}

/** The deployment's policy, as `serve` and the Lambda functions read it (lib/config). */
export type ServiceConfig = Pick<Config, 'rateLimits' | 'allowedSources' | 'limits'>;

/**
 * Every operation of the HTTP API in one object, for `mlaas4hep serve` and the tests. Each Lambda
 * function builds only its own part instead (functions/*): JobService, SubmitService, ModelService
 * or PredictService, so a function bundles and loads only what its routes use.
 */
export class Service {
  readonly parts: {
    jobs: JobService;
    submit: SubmitService;
    models: ModelService;
    predict: PredictService;
    data: DataService;
    console?: ConsoleSite;
  };

  constructor(deps: ServiceDeps) {
    this.parts = {
      jobs: new JobService(deps.store),
      submit: new SubmitService(deps),
      models: new ModelService(deps),
      predict: new PredictService(deps),
      data: new DataService(deps),
      console: deps.console,
    };
  }

  get jobs() {
    return this.parts.jobs.jobs;
  }
  get registry() {
    return this.parts.models.registry;
  }
  get cache() {
    return this.parts.predict.cache;
  }
  get triggers() {
    return this.parts.models.triggers;
  }

  submit(caller: Caller, workflow: unknown, idempotencyKey?: string) {
    return this.parts.submit.submit(caller, workflow, idempotencyKey);
  }
  objectCreated(obj: UploadedObject) {
    return this.parts.submit.objectCreated(obj);
  }
  listJobs(caller: Caller) {
    return this.parts.jobs.listJobs(caller);
  }
  getJob(caller: Caller, id: string) {
    return this.parts.jobs.getJob(caller, id);
  }
  jobLogs(caller: Caller, id: string) {
    return this.parts.jobs.jobLogs(caller, id);
  }
  cancelJob(caller: Caller, id: string) {
    return this.parts.jobs.cancelJob(caller, id);
  }
  listModels() {
    return this.parts.models.listModels();
  }
  describeModel(caller: Caller, name: string, version?: string) {
    return this.parts.models.describeModel(caller, name, version);
  }
  uploadModel(caller: Caller, name: string | undefined, tarGz: Uint8Array, group?: string) {
    return this.parts.models.uploadModel(caller, name, tarGz, group);
  }
  uploadForm(
    caller: Caller,
    parts: readonly FormFile[],
    base64Model: boolean,
    name?: string,
    group?: string,
  ) {
    return this.parts.models.uploadForm(caller, parts, base64Model, name, group);
  }
  deleteModel(name: string, version?: string) {
    return this.parts.models.deleteModel(name, version);
  }
  plot(name: string, version: string | undefined, file: string) {
    return this.parts.models.plot(name, version, file);
  }
  putTrigger(caller: Caller, name: string, doc: unknown) {
    return this.parts.models.putTrigger(caller, name, doc);
  }
  getTrigger(name: string) {
    return this.parts.models.getTrigger(name);
  }
  deleteTrigger(name: string) {
    return this.parts.models.deleteTrigger(name);
  }
  predictJson(body: unknown) {
    return this.parts.predict.predictJson(body);
  }
  modelMetadata(name: string, version?: string) {
    return this.parts.predict.modelMetadata(name, version);
  }
  modelReady(name: string, version?: string) {
    return this.parts.predict.modelReady(name, version);
  }
  /** KServe's server readiness: the inference backend started and the store readable. */
  ready() {
    return this.parts.predict.ready();
  }
  infer(name: string, version: string | undefined, body: unknown) {
    return this.parts.predict.infer(name, version, body);
  }
}
