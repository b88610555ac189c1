import { randomBytes } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { TransformSpec } from '../dataset/transform.js';
import { InvalidInputError, NotFoundError, UnprocessableError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';

/** params.json of a bundle: TFaaS's fields first, then what our serving and predict need. */
export interface BundleParams {
  name: string;
  model: string;
  labels: string;
  inputNode: string;
  outputNode: string;
  description: string;
  timestamp: string;
  version: string;
  features: string[];
  classes: Array<number | string>;
  transform: TransformSpec;
  metrics: Record<string, unknown>;
  workflow: unknown;
  datasetFingerprint: string;
  backend: string;
  versions: Record<string, string>;
}

export interface BundleFiles {
  params: BundleParams;
  /** extra files (plots), by relative path */
  extras?: Record<string, string | Uint8Array>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export function checkModelName(name: string): string {
  if (!NAME.test(name))
    throw new InvalidInputError(
      `invalid model name "${name}": use letters, digits, "_", "." and "-" (at most 100)`,
    );
  return name;
}

/** Versions sort by time and never collide: 20261128-153012-a1b2c3. */
export function newVersion(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(3).toString('hex')}`;
}

async function serialise(model: tf.LayersModel): Promise<{ json: string; weights: Uint8Array }> {
  let json = '';
  let weights = new Uint8Array(0);
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData;
      const buffers = data === undefined ? [] : Array.isArray(data) ? data : [data];
      const total = buffers.reduce((s, b) => s + b.byteLength, 0);
      weights = new Uint8Array(total);
      let at = 0;
      for (const b of buffers) {
        weights.set(new Uint8Array(b), at);
        at += b.byteLength;
      }
      json = JSON.stringify({
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
      });
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return { json, weights };
}

/**
 * Writes models/<name>/<version>/ (model.json, weights.bin, params.json, labels.txt, extras), then
 * moves models/<name>/latest: a reader never sees a half-written version as the latest.
 */
export async function writeBundle(
  store: ObjectStore,
  model: tf.LayersModel,
  files: BundleFiles,
): Promise<string> {
  const { params } = files;
  const base = `models/${checkModelName(params.name)}/${params.version}`;
  const { json, weights } = await serialise(model);
  // the version folder is immutable: refuse to write over an existing one
  await store.put(`${base}/params.json`, JSON.stringify(params, null, 2), {
    contentType: 'application/json',
    ifNoneMatch: '*',
  });
  await store.put(`${base}/model.json`, json, { contentType: 'application/json' });
  await store.put(`${base}/weights.bin`, weights, { contentType: 'application/octet-stream' });
  await store.put(`${base}/labels.txt`, `${params.classes.join('\n')}\n`, { contentType: 'text/plain' });
  for (const [path, body] of Object.entries(files.extras ?? {})) {
    await store.put(`${base}/${path}`, body, {
      contentType: path.endsWith('.svg') ? 'image/svg+xml' : undefined,
    });
  }
  await store.put(`${base}/COMPLETE`, params.timestamp);
  await store.put(`models/${params.name}/latest`, params.version, { contentType: 'text/plain' });
  return params.version;
}

export interface LoadedBundle {
  params: BundleParams;
  model: tf.LayersModel;
  /** bytes of model.json + weights.bin, for cache accounting */
  bytes: number;
}

export async function latestVersion(store: ObjectStore, name: string): Promise<string> {
  const latest = await store.get(`models/${checkModelName(name)}/latest`);
  if (!latest) throw new NotFoundError(`no model named "${name}"`, 'ModelNotFound');
  return new TextDecoder().decode(latest.body).trim();
}

/** Reads a complete bundle (the latest version unless one is named) and builds its model. */
export async function readBundle(store: ObjectStore, name: string, version?: string): Promise<LoadedBundle> {
  const v = version ?? (await latestVersion(store, name));
  return readBundleAt(store, `models/${checkModelName(name)}/${v}`, `version "${v}" of model "${name}"`);
}

/** Reads the bundle stored under `base` ("" when the store is the bundle's own folder). */
export async function readBundleAt(
  store: ObjectStore,
  base: string,
  what = `the model bundle in ${store.name}`,
): Promise<LoadedBundle> {
  const at = (f: string): string => (base ? `${base}/${f}` : f);
  const [complete, paramsObj, modelObj, weightsObj] = await Promise.all([
    store.get(at('COMPLETE')),
    store.get(at('params.json')),
    store.get(at('model.json')),
    store.get(at('weights.bin')),
  ]);
  if (!complete || !paramsObj || !modelObj || !weightsObj)
    throw new NotFoundError(`no complete ${what}`, 'ModelNotFound');
  const parse = (bytes: Uint8Array, file: string): unknown => {
    try {
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new UnprocessableError(`${file} of ${what} is not valid JSON`, 'CorruptBundle');
    }
  };
  const params = parse(paramsObj.body, 'params.json') as BundleParams;
  const mj = parse(modelObj.body, 'model.json') as {
    modelTopology: tf.io.ModelArtifacts['modelTopology'];
    weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>;
  };
  const w = weightsObj.body;
  const weightData = w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: mj.modelTopology,
      weightSpecs: mj.weightsManifest.flatMap((m) => m.weights),
      weightData,
    }),
  );
  return { params, model, bytes: modelObj.body.length + w.length };
}
