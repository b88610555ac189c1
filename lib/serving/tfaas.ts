import type { BundleParams } from '../bundles/params.js';
import { InvalidInputError, truncateName } from '../errors.js';
import { safeRelativePath } from './tar.js';

/**
 * TFaaS's TFParams (src/Go/tfaas.go in vkuznet/TFaaS), snake_case, as its clients read /models;
 * our own fields follow. The list view leaves the heavy parts (ROC curves, training history, the
 * transform, the workflow) to GET /models/{name}.
 */
export interface ModelListEntry {
  name: string;
  model: string;
  labels: string;
  op: string;
  input_name: string;
  output_name: string;
  img_channels: number;
  options: string[];
  input_node: string;
  output_node: string;
  description: string;
  timestamp: string;
  version: string;
  /** the engines the bundle can run on */
  formats: Array<'onnx' | 'tfjs'>;
  features: string[];
  classes: Array<number | string>;
  inputNode: string;
  outputNode: string;
  /** the test-split summary of a model trained here */
  metrics: { auc?: unknown; accuracy?: unknown; testEvents?: unknown };
  /** who may publish versions (the registry adds it; absent for models older than ownership) */
  owner?: string;
  ownerGroup?: string;
}

export function listEntry(p: BundleParams): ModelListEntry {
  const formats: ModelListEntry['formats'] = [];
  if (p.onnx) formats.push('onnx');
  if (p.model.endsWith('.json')) formats.push('tfjs');
  const test = ((p.metrics as { test?: Record<string, unknown> }).test ?? {}) as Record<string, unknown>;
  return {
    name: p.name,
    model: p.model,
    labels: p.labels,
    op: '',
    input_name: p.inputNode,
    output_name: p.outputNode,
    img_channels: 0,
    options: [],
    input_node: p.inputNode,
    output_node: p.outputNode,
    description: p.description,
    timestamp: p.timestamp,
    version: p.version,
    formats,
    features: p.features,
    classes: p.classes,
    inputNode: p.inputNode,
    outputNode: p.outputNode,
    metrics: { auc: test.auc, accuracy: test.accuracy, testEvents: test.testEvents },
  };
}

/** What a multipart form part carries (lib/http/multipart.ts's FormPart). */
export interface FormFile {
  name: string;
  filename?: string;
  data: Uint8Array;
}

/**
 * TFaaS's upload form (curl -F name=... -F params=@params.json -F model=@model.onnx -F
 * labels=@labels.txt) as a bundle's files. TFaaS's Python client sends the model part base64
 * encoded and says so with `Content-Encoding: base64` on the request (`base64Model`).
 */
export function formBundle(
  parts: readonly FormFile[],
  base64Model: boolean,
): { name?: string; files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  let name: string | undefined;
  const text = (d: Uint8Array) => Buffer.from(d).toString('utf8').trim();
  for (const p of parts) {
    if (p.name === 'name') name = text(p.data);
    else if (p.name === 'params') files.set('params.json', p.data);
    else if (p.name === 'labels') files.set('labels.txt', p.data);
    else if (p.name === 'model') {
      const base = safeRelativePath((p.filename ?? 'model').split('/').pop() || 'model');
      files.set(base, base64Model ? Buffer.from(text(p.data), 'base64') : p.data);
    }
  }
  if (!files.has('params.json'))
    throw new InvalidInputError(
      'the upload form has no "params" file (params.json); TFaaS clients send -F params=@params.json',
    );
  if (![...files.keys()].some((k) => k !== 'params.json' && k !== 'labels.txt'))
    throw new InvalidInputError('the upload form has no "model" file: send -F model=@model.onnx');
  let given: { name?: unknown } = {};
  try {
    given = JSON.parse(Buffer.from(files.get('params.json')!).toString('utf8')) ?? {};
  } catch {
    // bundleFromFiles names the bad params.json
  }
  if (name && typeof given.name === 'string' && given.name !== name)
    throw new InvalidInputError(
      `the form names the model "${truncateName(name)}" but params.json names it "${truncateName(given.name)}"`,
    );
  return { name: name || (typeof given.name === 'string' ? given.name : undefined), files };
}
