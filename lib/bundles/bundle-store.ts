import { NotFoundError, PreconditionFailedError, UnprocessableError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type BundleParams, checkModelName, checkVersion, parseBundleParams } from './params.js';

/**
 * The files of one version, as written and read (the model is opaque bytes here, not tensors): a
 * TensorFlow.js model, an ONNX graph, or both (what mlaas4hep trains).
 */
export interface BundleContent {
  params: BundleParams;
  /** model.json: a TensorFlow.js layers model with one weights file, weights.bin */
  modelJson?: string | Uint8Array;
  weights?: Uint8Array;
  /** model.onnx, described by params.onnx */
  onnx?: Uint8Array;
  /** extra files (plots), by relative path */
  extras?: Record<string, string | Uint8Array>;
}

export interface StoredBundle {
  params: BundleParams;
  modelJson?: Uint8Array;
  weights?: Uint8Array;
  onnx?: Uint8Array;
}

/** A version's files, relative to its folder: what listings of a model are made of. */
export type VersionFiles = Map<string, Set<string>>;

const dec = new TextDecoder();
const PLOT = /^plots\/([a-z0-9_-]+)\.svg$/;

/**
 * The model bundles of an object store, and the only code that knows their layout:
 *
 *     models/<name>/<version>/params.json, model.json, weights.bin, model.onnx, labels.txt, plots/*.svg
 *     models/<name>/<version>/COMPLETE   written last: the version may be served
 *     models/<name>/latest               the version served when none is named
 *     models/<name>/OWNER                who may publish versions (./ownership.ts), created once
 *
 * Writing a version (`write`) and publishing it (`publish`: COMPLETE, then `latest`) are separate
 * steps, so a caller can record what it is about to publish, or adopt what an earlier attempt
 * wrote, in between. A version folder is immutable: `write` refuses to write over one.
 */
export class BundleStore {
  constructor(readonly store: ObjectStore) {}

  private base(name: string, version: string): string {
    return `models/${checkModelName(name)}/${checkVersion(version)}`;
  }

  private latestKey(name: string): string {
    return `models/${checkModelName(name)}/latest`;
  }

  /** Every file of a version, params.json first (conditional: the version must not exist yet). */
  async write(b: BundleContent): Promise<void> {
    const base = this.base(b.params.name, b.params.version);
    await this.store.put(`${base}/params.json`, JSON.stringify(b.params, null, 2), {
      contentType: 'application/json',
      ifNoneMatch: '*',
    });
    if ((b.modelJson === undefined) !== (b.weights === undefined) || (!b.modelJson && !b.onnx))
      throw new TypeError('a bundle holds model.json with weights.bin, model.onnx, or both');
    if (b.modelJson && b.weights) {
      await this.store.put(`${base}/model.json`, b.modelJson, { contentType: 'application/json' });
      await this.store.put(`${base}/weights.bin`, b.weights, { contentType: 'application/octet-stream' });
    }
    if (b.onnx)
      await this.store.put(`${base}/model.onnx`, b.onnx, { contentType: 'application/octet-stream' });
    await this.store.put(`${base}/labels.txt`, `${b.params.classes.join('\n')}\n`, {
      contentType: 'text/plain',
    });
    for (const [path, body] of Object.entries(b.extras ?? {})) {
      await this.store.put(`${base}/${path}`, body, {
        contentType: path.endsWith('.svg') ? 'image/svg+xml' : undefined,
      });
    }
  }

  /**
   * Makes a written version servable (its COMPLETE marker) and the latest, unless a newer one
   * already is (versions sort by time): `latest` only moves forward, by a conditional write.
   */
  async publish(name: string, version: string): Promise<void> {
    await this.store.put(`${this.base(name, version)}/COMPLETE`, new Date().toISOString());
    for (let attempt = 0; ; attempt++) {
      const cur = await this.store.get(this.latestKey(name));
      if (cur && dec.decode(cur.body).trim() >= version) return;
      try {
        await this.store.put(this.latestKey(name), version, {
          contentType: 'text/plain',
          ...(cur ? { ifMatch: cur.etag } : { ifNoneMatch: '*' }),
        });
        return;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError) || attempt >= 10) throw err;
      }
    }
  }

  /** The model's OWNER record as stored (JSON), or undefined when the name was never claimed. */
  async ownerRecord(name: string): Promise<Uint8Array | undefined> {
    return (await this.store.get(`models/${checkModelName(name)}/OWNER`))?.body;
  }

  /** Writes the OWNER record if there is none (PreconditionFailedError when another claim won). */
  async createOwnerRecord(name: string, record: string): Promise<void> {
    await this.store.put(`models/${checkModelName(name)}/OWNER`, record, {
      contentType: 'application/json',
      ifNoneMatch: '*',
    });
  }

  async isComplete(name: string, version: string): Promise<boolean> {
    return (await this.stamp(`${this.base(name, version)}/COMPLETE`)) !== undefined;
  }

  /** Removes a version that was written but never published (an attempt that died half way). */
  async discard(name: string, version: string): Promise<void> {
    const base = this.base(name, version);
    for (const o of await this.store.list(`${base}/`)) await this.store.delete(o.key);
  }

  /** The version `latest` names, or undefined. */
  async latest(name: string): Promise<string | undefined> {
    const o = await this.store.get(this.latestKey(name));
    return o && dec.decode(o.body).trim();
  }

  /**
   * Tokens that change when `latest` is rewritten or a version's COMPLETE marker is (re)written,
   * without reading bodies where the store can stamp: the per-request revalidation of the cache.
   */
  latestStamp(name: string): Promise<string | undefined> {
    return this.stamp(this.latestKey(name));
  }

  completeStamp(name: string, version: string): Promise<string | undefined> {
    return this.stamp(`${this.base(name, version)}/COMPLETE`);
  }

  private stamp(key: string): Promise<string | undefined> {
    const s = this.store;
    return s.stamp ? s.stamp(key) : s.get(key).then((o) => o?.etag);
  }

  /** A version's params.json, checked against the schema; undefined when there is none. */
  async params(name: string, version: string): Promise<BundleParams | undefined> {
    const o = await this.store.get(`${this.base(name, version)}/params.json`);
    return o && parseBundleParams(o.body, `version "${version}" of model "${name}"`);
  }

  /** A complete version (the latest unless one is named); NotFoundError otherwise. */
  async read(name: string, version?: string): Promise<StoredBundle & { version: string }> {
    const v = version ?? (await this.latest(name));
    if (!v) throw new NotFoundError(`no model named "${name}"`, 'ModelNotFound');
    const b = await readFolder(this.store, this.base(name, v), `version "${v}" of model "${name}"`);
    return { ...b, version: v };
  }

  /** The names of the models that have a `latest`. */
  async names(): Promise<string[]> {
    return (await this.store.list('models/'))
      .map(({ key }) => /^models\/([^/]+)\/latest$/.exec(key)?.[1])
      .filter((n): n is string => n !== undefined);
  }

  /** Every version folder of a model with its files, and whether it has a `latest`. */
  async listing(name: string): Promise<{ versions: VersionFiles; hasLatest: boolean }> {
    const prefix = `models/${checkModelName(name)}/`;
    const versions: VersionFiles = new Map();
    let hasLatest = false;
    for (const { key } of await this.store.list(prefix)) {
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) {
        hasLatest ||= rest === 'latest';
        continue;
      }
      const v = rest.slice(0, slash);
      if (!versions.has(v)) versions.set(v, new Set());
      versions.get(v)!.add(rest.slice(slash + 1));
    }
    return { versions, hasLatest };
  }

  /** Complete versions of a model, newest first (versions sort by time). */
  async versions(name: string): Promise<string[]> {
    return completeVersions((await this.listing(name)).versions);
  }

  /** Plot names of a version's files (plots/<name>.svg). */
  static plots(files: Set<string> | undefined): string[] {
    return [...(files ?? [])]
      .map((f) => PLOT.exec(f)?.[1])
      .filter((f): f is string => f !== undefined)
      .sort();
  }

  /** Every file of a version (relative path → bytes) but the COMPLETE marker: what a download holds. */
  async files(name: string, version: string): Promise<Array<[string, Uint8Array]>> {
    const base = `${this.base(name, version)}/`;
    const out: Array<[string, Uint8Array]> = [];
    for (const { key } of await this.store.list(base)) {
      const rel = key.slice(base.length);
      if (rel === 'COMPLETE') continue;
      const o = await this.store.get(key);
      if (o) out.push([rel, o.body]);
    }
    return out;
  }

  /** The SVG of plots/<file>.svg of a version; undefined when there is none. */
  async plot(name: string, version: string, file: string): Promise<Uint8Array | undefined> {
    return (await this.store.get(`${this.base(name, version)}/plots/${file}.svg`))?.body;
  }

  /**
   * Deletes a whole model (`latest` first, so it stops being served at once), or one version
   * (its COMPLETE first); `latest` then moves to the newest remaining complete version unless a
   * new upload moved it meanwhile. Returns the versions deleted and what `latest` names after.
   */
  async delete(name: string, version?: string): Promise<{ deleted: string[]; latest?: string }> {
    const l = await this.listing(name);
    if (version === undefined) {
      if (!l.versions.size && !l.hasLatest) throw notFound(name);
      await this.store.delete(this.latestKey(name));
      for (const [v, files] of l.versions) await this.deleteFiles(this.base(name, v), files);
      // the name is free again once its model is gone
      await this.store.delete(`models/${checkModelName(name)}/OWNER`);
      return { deleted: [...l.versions.keys()].sort().reverse() };
    }
    const files = l.versions.get(checkVersion(version));
    if (!files) throw new NotFoundError(`model "${name}" has no version "${version}"`, 'ModelNotFound');
    await this.deleteFiles(this.base(name, version), files);
    l.versions.delete(version);
    const cur = await this.store.get(this.latestKey(name));
    if (!cur) return { deleted: [version] };
    const named = dec.decode(cur.body).trim();
    if (named !== version) return { deleted: [version], latest: named };
    const next = completeVersions(l.versions)[0];
    try {
      if (next)
        await this.store.put(this.latestKey(name), next, { contentType: 'text/plain', ifMatch: cur.etag });
      else await this.store.delete(this.latestKey(name));
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      return { deleted: [version], latest: await this.latest(name) };
    }
    return { deleted: [version], latest: next };
  }

  private async deleteFiles(base: string, files: Set<string>): Promise<void> {
    if (files.has('COMPLETE')) await this.store.delete(`${base}/COMPLETE`);
    await Promise.all(
      [...files].filter((f) => f !== 'COMPLETE').map((f) => this.store.delete(`${base}/${f}`)),
    );
  }
}

/** Complete versions among a listing's, newest first. */
export function completeVersions(versions: VersionFiles): string[] {
  return [...versions]
    .filter(([, files]) => files.has('COMPLETE'))
    .map(([v]) => v)
    .sort()
    .reverse();
}

function notFound(name: string): NotFoundError {
  return new NotFoundError(`no model named "${name}"`, 'ModelNotFound');
}

/**
 * The complete bundle stored under `base` ("" when the store is the bundle's own folder, as for
 * `mlaas4hep predict --model <dir>`). NotFoundError when a file or the COMPLETE marker is missing.
 */
export async function readFolder(
  store: ObjectStore,
  base: string,
  what = `the model bundle in ${store.name}`,
): Promise<StoredBundle> {
  const at = (f: string): string => (base ? `${base}/${f}` : f);
  const [complete, paramsObj, modelObj, weightsObj, onnxObj] = await Promise.all([
    store.get(at('COMPLETE')),
    store.get(at('params.json')),
    store.get(at('model.json')),
    store.get(at('weights.bin')),
    store.get(at('model.onnx')),
  ]);
  const tfjs = modelObj && weightsObj;
  if (!complete || !paramsObj || (!tfjs && !onnxObj))
    throw new NotFoundError(`no complete ${what}`, 'ModelNotFound');
  const params = parseBundleParams(paramsObj.body, what);
  if (onnxObj && !params.onnx)
    throw new UnprocessableError(
      `params.json of ${what} does not describe its model.onnx (no "onnx" section)`,
      'CorruptBundle',
    );
  return {
    params,
    modelJson: tfjs ? modelObj.body : undefined,
    weights: tfjs ? weightsObj.body : undefined,
    onnx: onnxObj?.body,
  };
}
