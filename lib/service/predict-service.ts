import { ModelCache } from '../serving/model-cache.js';
import { infer, metadata } from '../serving/open-inference.js';
import { predictJson } from '../serving/predict.js';
import { checkReadiness } from '../serving/readiness.js';
import type { ObjectStore } from '../storage/object-store.js';

export interface PredictServiceDeps {
  store: ObjectStore;
  cacheBytes?: number;
  /** hears a line per model loaded (its engine and why) */
  log?(entry: Record<string, unknown>): void;
}

/** Predictions (TFaaS /json, the Open Inference Protocol v2) and readiness: the `predict` function. */
export class PredictService {
  readonly cache: ModelCache;

  constructor(private readonly deps: PredictServiceDeps) {
    this.cache = new ModelCache(deps.store, { maxBytes: deps.cacheBytes, log: deps.log });
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
}
