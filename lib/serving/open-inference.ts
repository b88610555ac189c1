import { randomUUID } from 'node:crypto';
import { InvalidInputError, UnprocessableError } from '../errors.js';
import type { ModelCache, ServedModel } from './model-cache.js';
import { checkRows, float32Problem, type PredictLimits, shown } from './predict.js';
import { ModelRegistry } from './registry.js';
import { scoreRows } from './scoring.js';

/** Open Inference Protocol (KServe v2) tensor metadata. */
export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: 'tensorflowjs' | 'onnxruntime_onnx';
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export interface InferInput {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
  parameters?: Record<string, unknown>;
}

export interface InferRequest {
  id?: string;
  inputs: InferInput[];
  outputs?: Array<{ name: string }>;
  parameters?: Record<string, unknown>;
}

export interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: Array<TensorMetadata & { data: number[] }>;
}

const DATATYPES = new Set(['FP32', 'FP64', 'INT32', 'INT64']);

/** `GET /v2/models/{name}[/versions/{v}]`: the model's tensors; versions lists every complete version. */
export async function metadata(cache: ModelCache, name: string, version?: string): Promise<ModelMetadata> {
  const m = await cache.use(name, version, (s) => s);
  const versions = await new ModelRegistry(cache.store).versions(name);
  const { engine } = m;
  return {
    name: m.name,
    versions: versions.includes(m.version) ? versions : [m.version, ...versions],
    platform: engine.engine === 'onnxruntime' ? 'onnxruntime_onnx' : 'tensorflowjs',
    inputs: m.inputs.tensors.map((t) => ({ ...t, shape: [...t.shape] })),
    outputs: [{ ...engine.output, shape: [...engine.output.shape] }],
  };
}

function malformed(message: string): never {
  throw new InvalidInputError(`malformed inference request: ${message}`);
}

/** Checks the request's shape and types; each tensor is matched to the model's once it is loaded. */
function parse(request: unknown): { id?: string; inputs: InferInput[]; rows: number } {
  const r = request as Partial<InferRequest> | null;
  if (!r || typeof r !== 'object' || Array.isArray(r))
    malformed('the body must be a JSON object with "inputs"');
  if (r.id !== undefined && typeof r.id !== 'string') malformed('"id" must be a string');
  if (!Array.isArray(r.inputs) || r.inputs.length === 0 || r.inputs.length > 64)
    malformed(
      `"inputs" must be a list of 1 to 64 tensors, got ${Array.isArray(r.inputs) ? r.inputs.length : typeof r.inputs}`,
    );
  if (r.outputs !== undefined && !Array.isArray(r.outputs)) malformed('"outputs" must be a list of {name}');
  let rows = -1;
  r.inputs.forEach((input: Partial<InferInput> | null, i) => {
    const at = `inputs[${i}]`;
    if (!input || typeof input !== 'object')
      malformed(`${at} must be an object {name, shape, datatype, data}`);
    if (typeof input.name !== 'string') malformed(`${at}.name must be a string`);
    if (typeof input.datatype !== 'string' || !DATATYPES.has(input.datatype))
      malformed(
        `${at}.datatype must be one of ${[...DATATYPES].join(', ')}, got ${JSON.stringify(input.datatype)}`,
      );
    const { shape } = input;
    if (
      !Array.isArray(shape) ||
      shape.length < 2 ||
      shape.length > 8 ||
      !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
    )
      malformed(`${at}.shape must be [rows, ...] (2 to 8 dimensions), got ${JSON.stringify(shape)}`);
    if (rows >= 0 && shape[0] !== rows) malformed(`${at}.shape has ${shape[0]} rows, inputs[0] has ${rows}`);
    rows = shape[0];
    if (!Array.isArray(input.data)) malformed(`${at}.data must be a list (flat or nested) of numbers`);
  });
  return { id: r.id, inputs: r.inputs as InferInput[], rows };
}

/** Flattens data (flat, or nested as its shape) into x, checking count, finiteness and integer types. */
function flatten(
  input: InferInput,
  at: string,
  x: Float32Array,
  missing: boolean,
  feature?: (n: number) => string,
): void {
  const ints = input.datatype.startsWith('INT');
  const depthMax = input.shape.length;
  let n = 0;
  const walk = (v: unknown, depth: number): void => {
    if (Array.isArray(v)) {
      if (depth >= depthMax) malformed(`${at}.data is nested deeper than its shape`);
      for (const e of v) walk(e, depth + 1);
      return;
    }
    if (v === null && missing && !ints) v = Number.NaN;
    else {
      const problem = float32Problem(v) ?? (ints && !Number.isInteger(v) ? 'not an integer' : undefined);
      if (problem)
        malformed(
          `${at}.data[${n}]${feature ? ` (feature "${feature(n)}")` : ''} is ${shown(v)}, not a finite ${input.datatype} number within float32's range${missing ? ' (or null: missing)' : ''}: ${problem}`,
        );
    }
    if (n >= x.length)
      malformed(`${at}.data holds more than the ${x.length} values of shape ${JSON.stringify(input.shape)}`);
    x[n++] = v as number;
  };
  for (const v of input.data) walk(v, 1);
  if (n !== x.length)
    malformed(`${at}.data holds ${n} values, shape ${JSON.stringify(input.shape)} needs ${x.length}`);
}

/** The request's tensors as the engine's rows, each matched to a graph input by name (or the only one). */
function engineRows(m: ServedModel, inputs: InferInput[], rows: number): Float32Array {
  const want = m.inputs.tensors;
  const widths = want.map((t) => t.shape.slice(1).reduce((a, b) => a * b, 1));
  if (inputs.length !== want.length)
    throw new UnprocessableError(
      `the model takes ${want.length} input tensor(s) (${want.map((t) => `"${t.name}" ${JSON.stringify(t.shape)}`).join(', ')}), the request has ${inputs.length}`,
    );
  const blocks = want.map((t, i) => {
    const input = want.length === 1 ? inputs[0] : inputs.find((r) => r.name === t.name);
    if (!input)
      throw new UnprocessableError(
        `the request has no input "${t.name}"; the model's inputs are ${want.map((w) => `"${w.name}"`).join(', ')}`,
      );
    const at = `inputs[${inputs.indexOf(input)}]`;
    const per = input.shape.slice(1);
    if (per.length !== t.shape.length - 1 || per.some((d, k) => d !== t.shape[k + 1]))
      throw new UnprocessableError(
        `${at}.shape ${JSON.stringify(input.shape)}: input "${t.name}" takes [rows, ${t.shape.slice(1).join(', ')}]${t.shape.length === 2 ? `: expected ${t.shape[1]} features per row (${m.inputs.features.slice(0, 64).join(', ')})` : ''}`,
      );
    const x = new Float32Array(rows * widths[i]);
    // a [rows, features] tensor names the feature of a bad value
    const names = m.inputs.features;
    const byFeature = t.shape.length === 2 && widths[i] === names.length;
    flatten(input, at, x, m.inputs.missing, byFeature ? (n) => names[n % names.length] : undefined);
    return x;
  });
  if (blocks.length === 1) return m.inputs.fromTensors(blocks[0], rows);
  const width = widths.reduce((a, b) => a + b, 0);
  const x = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    let col = r * width;
    blocks.forEach((b, i) => {
      const w = widths[i];
      x.set(b.subarray(r * w, (r + 1) * w), col);
      col += w;
    });
  }
  return m.inputs.fromTensors(x, rows);
}

/** `POST /v2/models/{name}[/versions/{v}]/infer`: the graph's input tensors in, its output out. */
export async function infer(
  cache: ModelCache,
  name: string,
  version: string | undefined,
  request: unknown,
  limits?: PredictLimits,
): Promise<InferResponse> {
  const { id, inputs, rows } = parse(request);
  checkRows(rows, limits);
  const asked = (request as InferRequest).outputs;
  return cache.use(name, version, async (m) => {
    const out = m.engine.output;
    const other = asked?.find((o) => o?.name !== out.name);
    if (other)
      malformed(`unknown output ${JSON.stringify(other?.name)}; the model has one output, "${out.name}"`);
    const p = await scoreRows(m, engineRows(m, inputs, rows), rows);
    return {
      model_name: m.name,
      model_version: m.version,
      id: id ?? randomUUID(),
      outputs: [{ name: out.name, shape: [rows, m.outputs], datatype: 'FP32', data: Array.from(p) }],
    };
  });
}
