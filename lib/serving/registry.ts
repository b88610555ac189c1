import { InvalidInputError, NotFoundError, PreconditionFailedError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type BundleParams, checkModelName, writeBundle } from '../training/bundle.js';
import { type UploadLimits, unpackBundle } from './bundle-upload.js';

const VERSION = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const PLOT = /^[a-z0-9_-]+$/;
const dec = new TextDecoder();

/** A version named by a caller: refused unless it looks like one ("latest" means the latest). */
export function checkVersion(version: string): string {
  if (!VERSION.test(version)) throw new InvalidInputError(`invalid model version "${version}"`);
  return version;
}

export interface ModelDescription {
  name: string;
  latest: string;
  /** complete versions, newest first */
  versions: string[];
  description: string;
  timestamp: string;
  features: string[];
  classes: Array<number | string>;
  metrics: Record<string, unknown>;
  /** plot names of the latest version, for `plot(name, latest, file)` */
  plots: string[];
}

export interface UploadResult {
  name: string;
  version: string;
  features: string[];
  classes: Array<number | string>;
  /** files of the archive that are not part of a bundle */
  ignored: string[];
}

interface Listing {
  /** version → its file names (relative to the version folder) */
  versions: Map<string, Set<string>>;
  latest?: string;
}

/** The models of an object store, laid out as `models/<name>/<version>/…` plus `models/<name>/latest`. */
export class ModelRegistry {
  constructor(readonly store: ObjectStore) {}

  private async text(key: string): Promise<{ text: string; etag: string } | undefined> {
    const o = await this.store.get(key);
    return o && { text: dec.decode(o.body).trim(), etag: o.etag };
  }

  private async params(name: string, version: string): Promise<BundleParams | undefined> {
    const p = await this.text(`models/${name}/${version}/params.json`);
    return p && (JSON.parse(p.text) as BundleParams);
  }

  private async listing(name: string): Promise<Listing> {
    const prefix = `models/${checkModelName(name)}/`;
    const versions = new Map<string, Set<string>>();
    let latest = false;
    for (const { key } of await this.store.list(prefix)) {
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) {
        latest ||= rest === 'latest';
        continue;
      }
      const v = rest.slice(0, slash);
      if (!versions.has(v)) versions.set(v, new Set());
      versions.get(v)!.add(rest.slice(slash + 1));
    }
    return { versions, latest: latest ? (await this.text(`${prefix}latest`))?.text : undefined };
  }

  /** Complete versions of a model, newest first (versions sort by time). */
  async versions(name: string): Promise<string[]> {
    return completeVersions(await this.listing(name));
  }

  /** The latest params.json of every model (TFaaS's `GET /models`), sorted by name. */
  async listModels(): Promise<BundleParams[]> {
    const names = (await this.store.list('models/'))
      .map(({ key }) => /^models\/([^/]+)\/latest$/.exec(key)?.[1])
      .filter((n): n is string => n !== undefined);
    const all = await Promise.all(
      names.map(async (n) => {
        const v = (await this.text(`models/${n}/latest`))?.text;
        return v ? this.params(n, v) : undefined;
      }),
    );
    return all.filter((p): p is BundleParams => p !== undefined).sort((a, b) => a.name.localeCompare(b.name));
  }

  async describeModel(name: string): Promise<ModelDescription> {
    const l = await this.listing(name);
    const versions = completeVersions(l);
    const latest = l.latest && versions.includes(l.latest) ? l.latest : versions[0];
    const p = latest ? await this.params(name, latest) : undefined;
    if (!latest || !p) throw notFound(name);
    return {
      name,
      latest,
      versions,
      description: p.description ?? '',
      timestamp: p.timestamp,
      features: p.features,
      classes: p.classes,
      metrics: p.metrics ?? {},
      plots: [...(l.versions.get(latest) ?? [])]
        .map((f) => /^plots\/([a-z0-9_-]+)\.svg$/.exec(f)?.[1])
        .filter((f): f is string => f !== undefined)
        .sort(),
    };
  }

  /**
   * Deletes a whole model, or one version of it. `latest` goes first (a whole model) or moves to
   * the newest remaining complete version (the latest one), so readers never see a half-deleted
   * version as the latest.
   */
  async deleteModel(name: string, version?: string): Promise<{ deleted: string[]; latest?: string }> {
    const l = await this.listing(name);
    const base = `models/${name}`;
    if (version === undefined) {
      if (!l.versions.size && l.latest === undefined) throw notFound(name);
      await this.store.delete(`${base}/latest`);
      for (const [v, files] of l.versions) await this.deleteFiles(`${base}/${v}`, files);
      return { deleted: [...l.versions.keys()].sort().reverse() };
    }
    const files = l.versions.get(checkVersion(version));
    if (!files) throw new NotFoundError(`model "${name}" has no version "${version}"`, 'ModelNotFound');
    await this.deleteFiles(`${base}/${version}`, files);
    l.versions.delete(version);
    const cur = await this.store.get(`${base}/latest`);
    if (!cur) return { deleted: [version] };
    if (dec.decode(cur.body).trim() !== version)
      return { deleted: [version], latest: dec.decode(cur.body).trim() };
    const next = completeVersions(l)[0];
    try {
      if (next)
        await this.store.put(`${base}/latest`, next, { contentType: 'text/plain', ifMatch: cur.etag });
      else await this.store.delete(`${base}/latest`);
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err; // a new upload moved it meanwhile: keep that
      return { deleted: [version], latest: (await this.text(`${base}/latest`))?.text };
    }
    return { deleted: [version], latest: next };
  }

  /** COMPLETE first, so the version stops being served before its files go. */
  private async deleteFiles(base: string, files: Set<string>): Promise<void> {
    if (files.has('COMPLETE')) await this.store.delete(`${base}/COMPLETE`);
    await Promise.all(
      [...files].filter((f) => f !== 'COMPLETE').map((f) => this.store.delete(`${base}/${f}`)),
    );
  }

  /** The SVG bytes of `plots/<file>.svg` of a version ("latest" or undefined: the latest one). */
  async plot(name: string, version: string | undefined, file: string): Promise<Uint8Array> {
    checkModelName(name);
    if (!PLOT.test(file))
      throw new InvalidInputError(`invalid plot name "${file}": use a-z, 0-9, "_" and "-"`);
    let v = version === undefined || version === 'latest' ? undefined : checkVersion(version);
    v ??= (await this.text(`models/${name}/latest`))?.text;
    if (!v) throw notFound(name);
    const o = await this.store.get(`models/${name}/${v}/plots/${file}.svg`);
    if (!o) {
      const have = (await this.store.list(`models/${name}/${v}/plots/`)).map((k) =>
        k.key.slice(k.key.lastIndexOf('/') + 1).replace(/\.svg$/, ''),
      );
      throw new NotFoundError(
        `version "${v}" of model "${name}" has no plot "${file}"${have.length ? `; it has ${have.join(', ')}` : ''}`,
        'PlotNotFound',
      );
    }
    return o.body;
  }

  /**
   * Unpacks a TFaaS-style bundle (tar.gz) and stores it as a new version, which becomes the latest.
   * Everything is validated (paths, sizes, params.json, the model loads) before the first write.
   */
  async uploadBundle(
    name: string,
    tarGz: Uint8Array,
    limits: UploadLimits = { maxBytes: 64 * 1024 * 1024 },
  ): Promise<UploadResult> {
    const b = await unpackBundle(name, tarGz, limits);
    try {
      const version = await writeBundle(this.store, b.model, { params: b.params, extras: b.extras });
      return { name, version, features: b.params.features, classes: b.params.classes, ignored: b.ignored };
    } finally {
      b.model.dispose();
    }
  }
}

function completeVersions(l: Listing): string[] {
  return [...l.versions]
    .filter(([, files]) => files.has('COMPLETE'))
    .map(([v]) => v)
    .sort()
    .reverse();
}

function notFound(name: string): NotFoundError {
  return new NotFoundError(`no model named "${name}"`, 'ModelNotFound');
}
