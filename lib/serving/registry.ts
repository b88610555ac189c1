import { BundleStore, completeVersions } from '../bundles/bundle-store.js';
import { type Actor, claimModel, maySeeInternals, modelOwner } from '../bundles/ownership.js';
import { type BundleParams, checkModelName, checkVersion } from '../bundles/params.js';
import { InvalidInputError, NotFoundError, truncateName } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ModelOwner, ModelDescription as WireModelDescription } from '../wire-types.js';
import { bundleFromFiles, type UnpackedBundle, type UploadLimits, unpackBundle } from './bundle-upload.js';
import { writeTarGz } from './tar-write.js';
import { listEntry, type ModelListEntry } from './tfaas.js';

const PLOT = /^[a-z0-9_-]+$/;

/** GET /models/{name} (the console reads the same declaration) */
export type ModelDescription = WireModelDescription<BundleParams['onnx']>;

/** Who publishes an upload: the name is claimed for them (or their group), 403 if it is another's. */
export interface Publisher {
  actor: Actor;
  group?: string;
}

export interface UploadResult {
  name: string;
  version: string;
  features: string[];
  classes: Array<number | string>;
  /** files of the archive that are not part of a bundle */
  ignored: string[];
}

/** The models of an object store (the layout is BundleStore's), as TFaaS's registry shows them. */
export class ModelRegistry {
  readonly bundles: BundleStore;

  constructor(readonly store: ObjectStore) {
    this.bundles = new BundleStore(store);
  }

  /** Complete versions of a model, newest first (versions sort by time). */
  versions(name: string): Promise<string[]> {
    return this.bundles.versions(name);
  }

  /**
   * Every model's latest version as TFaaS lists it (`GET /models`, TFParams and ours) with its
   * owner (whom to ask about a model is no secret; its workflow is), sorted by name.
   */
  async listModels(): Promise<ModelListEntry[]> {
    const all = await Promise.all(
      (await this.bundles.names()).map(async (n) => {
        const v = await this.bundles.latest(n);
        const [p, owner] = await Promise.all([
          v ? this.bundles.params(n, v) : undefined,
          modelOwner(this.bundles, n),
        ]);
        return p && { ...listEntry(p), ...(owner ? { owner: owner.user, ownerGroup: owner.group } : {}) };
      }),
    );
    return all
      .filter((p): p is ModelListEntry => p !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The latest version, or `version` (the console compares two), as anyone with the predict scope
   * sees it (features, classes, metrics, plots, owner); `viewer`, when the model's owner or an
   * admin, also sees its workflow (the files it read).
   */
  async describeModel(name: string, viewer?: Actor, version?: string): Promise<ModelDescription> {
    const { versions: files } = await this.bundles.listing(name);
    const versions = completeVersions(files);
    const named = await this.bundles.latest(name);
    const latest = named && versions.includes(named) ? named : versions[0];
    if (version !== undefined && version !== 'latest' && !versions.includes(checkVersion(version)))
      throw new NotFoundError(`model "${name}" has no version "${version}"`, 'ModelNotFound');
    const shown = version !== undefined && version !== 'latest' ? version : latest;
    const p = shown ? await this.bundles.params(name, shown) : undefined;
    if (!latest || !shown || !p) throw notFound(name);
    return {
      name,
      latest,
      version: shown,
      versions,
      description: p.description,
      timestamp: p.timestamp,
      features: p.features,
      classes: p.classes,
      metrics: p.metrics,
      plots: BundleStore.plots(files.get(shown)),
      onnx: p.onnx,
      ...(await this.ownerAndWorkflow(name, p, viewer)),
    };
  }

  private async ownerAndWorkflow(name: string, p: BundleParams, viewer: Actor | undefined) {
    const owner = await modelOwner(this.bundles, name);
    const workflow = viewer && maySeeInternals(owner, viewer) ? { workflow: p.workflow ?? undefined } : {};
    return { ...(owner ? { owner } : {}), ...workflow };
  }

  /** Deletes a whole model, or one version of it (see BundleStore.delete). */
  deleteModel(name: string, version?: string): Promise<{ deleted: string[]; latest?: string }> {
    return this.bundles.delete(name, version);
  }

  /**
   * A version to take away: the whole bundle as <name>/... in a tar.gz (what POST /upload takes
   * back), or only its model.onnx.
   */
  async download(
    name: string,
    version: string,
    file?: string,
  ): Promise<{ bytes: Uint8Array; filename: string }> {
    checkModelName(name);
    const v = version === 'latest' ? await this.bundles.latest(name) : checkVersion(version);
    if (!v || !(await this.bundles.isComplete(name, v))) throw notFound(name);
    if (file !== undefined && file !== 'model.onnx')
      throw new InvalidInputError(
        `file "${file}": only model.onnx is offered alone; omit file for the bundle`,
      );
    const files = await this.bundles.files(name, v);
    const published = Date.parse((await this.bundles.params(name, v))?.timestamp ?? '');
    if (file) {
      const onnx = files.find(([p]) => p === 'model.onnx');
      if (!onnx)
        throw new NotFoundError(`version "${v}" of model "${name}" has no model.onnx`, 'FileNotFound');
      return { bytes: onnx[1], filename: `${name}-${v}.onnx` };
    }
    return {
      // dated as the version was published: the same version downloads as the same bytes
      bytes: writeTarGz(
        files.map(([p, b]) => [`${name}/${p}`, b] as const),
        Number.isFinite(published) ? published : 0,
      ),
      filename: `${name}-${v}.tar.gz`,
    };
  }

  /** The SVG bytes of `plots/<file>.svg` of a version ("latest" or undefined: the latest one). */
  async plot(name: string, version: string | undefined, file: string): Promise<Uint8Array> {
    checkModelName(name);
    if (!PLOT.test(file))
      throw new InvalidInputError(`invalid plot name "${truncateName(file)}": use a-z, 0-9, "_" and "-"`);
    let v = version === undefined || version === 'latest' ? undefined : checkVersion(version);
    v ??= await this.bundles.latest(name);
    if (!v) throw notFound(name);
    const svg = await this.bundles.plot(name, v, file);
    if (!svg) {
      const have = BundleStore.plots((await this.bundles.listing(name)).versions.get(v));
      throw new NotFoundError(
        `version "${v}" of model "${name}" has no plot "${file}"${have.length ? `; it has ${have.join(', ')}` : ''}`,
        'PlotNotFound',
      );
    }
    return svg;
  }

  /**
   * Unpacks a TFaaS-style bundle (tar.gz) and stores it as a new version, which becomes the latest.
   * Everything is validated (paths, sizes, params.json, the model loads) before the first write.
   */
  async uploadBundle(
    name: string | undefined,
    tarGz: Uint8Array,
    limits: UploadLimits = { maxBytes: 64 * 1024 * 1024 },
    publisher?: Publisher,
  ): Promise<UploadResult> {
    // a name given up front is checked before the archive is unpacked
    if (name !== undefined && publisher) await this.claim(name, publisher);
    return this.publishUpload(await unpackBundle(name, tarGz, limits), publisher);
  }

  /** A bundle's files from TFaaS's upload form, validated and stored like a tar.gz's. */
  async uploadFiles(
    name: string,
    files: Map<string, Uint8Array>,
    publisher?: Publisher,
  ): Promise<UploadResult> {
    if (publisher) await this.claim(name, publisher);
    return this.publishUpload(await bundleFromFiles(name, files), publisher);
  }

  private claim(name: string, p: Publisher): Promise<ModelOwner> {
    return claimModel(this.bundles, name, p.actor, p.group);
  }

  private async publishUpload(b: UnpackedBundle, publisher?: Publisher): Promise<UploadResult> {
    const { name, version } = b.params;
    if (publisher) await this.claim(name, publisher);
    await this.bundles.write(b);
    await this.bundles.publish(name, version);
    return { name, version, features: b.params.features, classes: b.params.classes, ignored: b.ignored };
  }
}

function notFound(name: string): NotFoundError {
  return new NotFoundError(`no model named "${name}"`, 'ModelNotFound');
}
