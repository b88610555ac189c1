import type * as tf from '@tensorflow/tfjs';
import type { BundleContent } from '../bundles/bundle-store.js';
import {
  type BundleParams,
  checkBundleParams,
  checkModelName,
  newVersion,
  TransformSchema,
} from '../bundles/params.js';
import { InvalidInputError, issuePath } from '../errors.js';
import { checkOnnxUpload, type OnnxPart, onnxPath, tensorflowGraphError } from './onnx-upload.js';
import { readTarGz, safeRelativePath, type TarFile } from './tar.js';

export interface UploadLimits {
  /** most bytes of file content once unpacked */
  maxBytes: number;
  maxEntries?: number;
}

/** A validated bundle ready for BundleStore.write (its weights in one weights.bin); nothing written yet. */
export interface UnpackedBundle extends BundleContent {
  extras: Record<string, Uint8Array>;
  /** files of the archive that are not part of a bundle */
  ignored: string[];
}

const PLOT = /^plots\/[a-z0-9_-]+\.svg$/;
const JUNK = /(^|\/)(\._[^/]*|\.DS_Store|PaxHeader[^/]*)$/;
const dec = new TextDecoder();

function parseJson(file: TarFile, what: string): unknown {
  try {
    return JSON.parse(dec.decode(file.data));
  } catch (err) {
    throw new InvalidInputError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Strips one enclosing folder when every file sits under the same one (TFaaS names the model after it). */
function bundleRoot(files: TarFile[]): { files: Map<string, Uint8Array>; top?: string } {
  const kept = files.filter((f) => !JUNK.test(f.path));
  const tops = new Set(kept.map((f) => (f.path.includes('/') ? f.path.split('/')[0] : '')));
  const top = tops.size === 1 && !tops.has('') ? [...tops][0] : undefined;
  const strip = top ? top.length + 1 : 0;
  return { files: new Map(kept.map((f) => [f.path.slice(strip), f.data])), top };
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function expectedWeightBytes(specs: tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const s of specs) {
    const per = BYTES[s.quantization?.dtype ?? s.dtype];
    if (per === undefined) return undefined; // strings: variable length
    total += s.shape.reduce((a, b) => a * b, 1) * per;
  }
  return total;
}

/**
 * Unpacks and validates a TFaaS-style bundle (tar.gz of params.json, a TensorFlow.js layers
 * model.json with its weight files and/or a model.onnx, optional labels.txt and plots/*.svg; at the
 * top level or in one folder, which names the model when `name` is not given, as TFaaS does).
 * Throws InvalidInputError (400), UnprocessableError (422) or BundleTooLargeError (413); never writes.
 */
export async function unpackBundle(
  name: string | undefined,
  tarGz: Uint8Array,
  limits: UploadLimits,
): Promise<UnpackedBundle> {
  if (name !== undefined) checkModelName(name);
  const { files, top } = bundleRoot(await readTarGz(tarGz, limits));
  const named = name ?? top;
  if (!named)
    throw new InvalidInputError(
      "name the model: POST /upload?name=<model>, or put the bundle's files in one folder named after the model",
    );
  return bundleFromFiles(named, files);
}

/** Validates a bundle's files (from a tar.gz or TFaaS's multipart form) into a new version. */
export async function bundleFromFiles(name: string, files: Map<string, Uint8Array>): Promise<UnpackedBundle> {
  checkModelName(name);
  const get = (p: string): TarFile | undefined => {
    const data = files.get(p);
    return data && { path: p, data };
  };
  const paramsFile = get('params.json');
  if (!paramsFile) throw new InvalidInputError('the bundle has no params.json');
  const given = parseJson(paramsFile, 'params.json') as Partial<BundleParams> & Record<string, unknown>;
  if (!given || typeof given !== 'object' || Array.isArray(given))
    throw new InvalidInputError('params.json must hold a JSON object');

  const onnxAt = onnxPath(files, given.model);
  const modelPath =
    typeof given.model === 'string' && given.model.endsWith('.json') && files.has(given.model)
      ? given.model
      : 'model.json';
  const modelFile = get(modelPath);
  if (!modelFile && !onnxAt) {
    const pb = [...files.keys()].find((p) => p.endsWith('.pb'));
    if (pb) throw tensorflowGraphError(pb);
    throw new InvalidInputError('the bundle has no model.json or model.onnx');
  }
  const used = new Set(['params.json', 'labels.txt']);
  const onnx = onnxAt ? await checkOnnxUpload(files.get(onnxAt)!, given) : undefined;
  if (onnxAt) used.add(onnxAt);
  if (!modelFile) {
    if (given.transform !== undefined)
      throw new InvalidInputError(
        'params.json has a transform but the bundle no model.json: an ONNX graph takes raw branch values (params.json "onnx" maps them)',
      );
    const shape = {
      tfjs: false,
      width: onnx!.features.length,
      outputs: onnx!.outputs,
      inputNode: onnx!.inputNode,
      outputNode: onnx!.outputNode,
    };
    return {
      ...finish(name, { ...given, features: onnx!.features }, shape, files, used, onnx),
      onnx: onnx!.onnx,
    };
  }
  used.add(modelPath);
  const mj = parseJson(modelFile, modelPath) as {
    format?: string;
    modelTopology?: tf.io.ModelArtifacts['modelTopology'];
    weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  };
  if (mj?.format === 'graph-model')
    throw new InvalidInputError(
      `${modelPath} is a TensorFlow.js graph model; only layers (Keras) models run here`,
    );
  if (!mj?.modelTopology || !Array.isArray(mj.weightsManifest))
    throw new InvalidInputError(`${modelPath} has no modelTopology or weightsManifest`);
  const dir = modelPath.includes('/') ? modelPath.slice(0, modelPath.lastIndexOf('/') + 1) : '';
  const shards: Uint8Array[] = [];
  for (const group of mj.weightsManifest)
    for (const p of group.paths ?? []) {
      const path = safeRelativePath(dir + p);
      const data = files.get(path);
      if (!data)
        throw new InvalidInputError(`the bundle has no weights file "${path}" named in ${modelPath}`);
      shards.push(data);
      used.add(path);
    }
  const weightSpecs = mj.weightsManifest.flatMap((g) => g.weights ?? []);
  const weights = new Uint8Array(shards.reduce((s, b) => s + b.length, 0));
  let at = 0;
  for (const b of shards) {
    weights.set(b, at);
    at += b.length;
  }
  const expected = expectedWeightBytes(weightSpecs);
  if (weightSpecs.length === 0 || (expected !== undefined && expected !== weights.length))
    throw new InvalidInputError(
      `the weights hold ${weights.length} bytes but ${modelPath} describes ${expected ?? 0}`,
    );

  // TensorFlow.js only now, for a TensorFlow.js bundle: the models function does not load it at cold start
  const { layersModelShape } = await import('./tfjs-upload.js');
  const shape = await layersModelShape(
    { modelTopology: mj.modelTopology, weightsManifest: mj.weightsManifest },
    weights,
    modelPath,
  );
  const { params, extras, ignored } = finish(name, given, shape, files, used, onnx);
  // one weights file, as bundles written here have
  const modelJson = JSON.stringify({
    ...mj,
    weightsManifest: [{ paths: ['weights.bin'], weights: weightSpecs }],
  });
  return { params, modelJson, weights, onnx: onnx?.onnx, extras, ignored };
}

interface ModelShape {
  /** the bundle has a TensorFlow.js model (else only model.onnx) */
  tfjs: boolean;
  width: number;
  outputs: number;
  inputNode: string;
  outputNode: string;
}

function finish(
  name: string,
  given: Partial<BundleParams> & Record<string, unknown>,
  shape: ModelShape,
  files: Map<string, Uint8Array>,
  used: Set<string>,
  onnx?: OnnxPart,
): Pick<UnpackedBundle, 'params' | 'extras' | 'ignored'> {
  const { width, outputs } = shape;
  const transform = given.transform === undefined ? undefined : checkTransform(given.transform, width);
  let features: string[];
  if (given.features !== undefined) {
    const f = given.features as unknown;
    if (!Array.isArray(f) || !f.every((x) => typeof x === 'string') || new Set(f).size !== f.length)
      throw new InvalidInputError('params.json "features" must be a list of distinct names');
    features = f;
  } else features = transform ? transform.layout.names : Array.from({ length: width }, (_, i) => `x_${i}`);
  if (transform && features.join('\n') !== transform.layout.names.join('\n'))
    throw new InvalidInputError('params.json "features" differ from its transform.layout.names');
  if (features.length !== width)
    throw new InvalidInputError(`params.json names ${features.length} features but the model takes ${width}`);
  const labels = files.get('labels.txt');
  const classes = Array.isArray(given.classes)
    ? given.classes
    : labels
      ? new TextDecoder()
          .decode(labels)
          .split(/\r?\n/)
          .map((s) => s.trim())
          .filter(Boolean)
      : Array.from({ length: Math.max(2, outputs) }, (_, i) => i);
  if (outputs > 1 ? classes.length !== outputs : classes.length > 2)
    throw new InvalidInputError(
      `the model gives ${outputs} output(s) but the bundle names ${classes.length} classes (${classes.join(', ')})`,
    );
  const str = (k: keyof BundleParams, d: string): string =>
    typeof given[k] === 'string' ? (given[k] as string) : d;
  const timestamp = new Date().toISOString();
  const params = checkBundleParams(
    {
      ...given,
      name,
      // the file TFaaS's `model` names: the TensorFlow.js model when there is one
      model: shape.tfjs ? 'model.json' : 'model.onnx',
      labels: 'labels.txt',
      inputNode: str('inputNode', shape.inputNode),
      outputNode: str('outputNode', shape.outputNode),
      description: str('description', ''),
      timestamp: str('timestamp', timestamp),
      version: newVersion(new Date(timestamp)),
      features,
      classes,
      transform,
      onnx: onnx?.section,
      metrics: given.metrics && typeof given.metrics === 'object' ? given.metrics : {},
      workflow: given.workflow ?? null,
      datasetFingerprint: str('datasetFingerprint', ''),
      backend: str('backend', 'uploaded'),
      versions: given.versions && typeof given.versions === 'object' ? given.versions : {},
    },
    `the uploaded bundle "${name}"`,
  );
  const extras: Record<string, Uint8Array> = {};
  const ignored: string[] = [];
  for (const [path, data] of files) {
    if (PLOT.test(path)) extras[path] = data;
    else if (!used.has(path)) ignored.push(path);
  }
  return { params, extras, ignored };
}

/**
 * An uploaded transform as serving will read it: the schema's fields, every input branch with
 * its min and max, and as many feature names as the model has inputs.
 */
function checkTransform(t: unknown, width: number): BundleParams['transform'] {
  const r = TransformSchema.safeParse(t);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new InvalidInputError(`params.json "${issuePath(i.path, 'transform')}": ${i.message}`);
  }
  const s = r.data;
  if (s.layout.names.length !== width)
    throw new InvalidInputError(
      `params.json "transform.layout.names" has ${s.layout.names.length} names but the model takes ${width} features`,
    );
  const missing = [...s.layout.flat, ...s.layout.jagged.map((j) => j.name)].filter((b) => !s.branches[b]);
  if (missing.length)
    throw new InvalidInputError(
      `params.json "transform.branches" has no min/max for ${missing.map((m) => `"${m}"`).join(', ')}`,
    );
  const noMoments = Object.entries(s.branches)
    .filter(([, b]) => !('moments' in b))
    .map(([n]) => n);
  if (s.encoding === 'standard' && noMoments.length)
    throw new InvalidInputError(
      `params.json "transform.encoding" is "standard" but "transform.branches" has no moments for ${noMoments.map((m) => `"${m}"`).join(', ')}`,
    );
  return s as BundleParams['transform'];
}
