import { claimModel } from '../bundles/ownership.js';
import { InvalidInputError } from '../errors.js';
import { type Trigger, TriggerStore } from '../jobs/triggers.js';
import { ModelRegistry } from '../serving/registry.js';
import { type FormFile, formBundle } from '../serving/tfaas.js';
import type { ObjectStore } from '../storage/object-store.js';
import { actorOf, type Caller } from './job-service.js';

export interface ModelServiceDeps {
  store: ObjectStore;
  /** files a trigger's workflow may read; throws for anything else (the deployment's allow-list) */
  checkSources?(files: string[]): void | Promise<void>;
  maxUploadBytes?: number;
}

/**
 * The model registry (list, describe, plots, uploads, deletes) and the upload triggers: the `models`
 * function. TensorFlow.js is loaded only when a TensorFlow.js bundle is uploaded and checked.
 */
export class ModelService {
  readonly registry: ModelRegistry;
  readonly triggers: TriggerStore;

  constructor(private readonly deps: ModelServiceDeps) {
    this.registry = new ModelRegistry(deps.store);
    this.triggers = new TriggerStore(deps.store);
  }

  /** Every model's latest version: what predicting needs, never a workflow. */
  listModels() {
    return this.registry.listModels();
  }

  /**
   * A model's versions, features, classes and metrics (the latest version's, or `version`'s); its
   * owner and workflow to the owner and admins only.
   */
  describeModel(caller: Caller, name: string, version?: string) {
    return this.registry.describeModel(name, actorOf(caller), version);
  }

  /** A version to take away: the bundle as a tar.gz, or its model.onnx. */
  downloadModel(name: string, version: string, file?: string) {
    return this.registry.download(name, version, file);
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

  putTrigger(caller: Caller, name: string, doc: unknown): Promise<Trigger> {
    return this.triggers.put(name, doc, caller.sub, this.deps.checkSources, (model, owner) =>
      claimModel(this.registry.bundles, model, { sub: owner }),
    );
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
}
