import { randomUUID } from 'node:crypto';
import { InvalidInputError, UnprocessableError } from '../errors.js';
import type { ModelCache, ServedModel } from './model-cache.js';
import { checkRows, type PredictLimits } from './predict.js';
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
  platform: 'tensorflowjs';
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
const OUTPUT = 'probabilities';

function inputName(m: ServedModel): string {
  return m.params.inputNode || 'input';
}

/** `GET /v2/models/{name}[/versions/{v}]`: the model's tensors; versions lists every complete version. */
export async function metadata(cache: ModelCache, name: string, version?: string): Promise<ModelMetadata> {
  const m = await cache.use(name, version, (s) => s);
  const versions = await new ModelRegistry(cache.store).versions(name);
  return {
    name: m.name,
    versions: versions.includes(m.version) ? versions : [m.version, ...versions],
    platform: 'tensorflowjs',
    inputs: [{ name: inputName(m), datatype: 'FP32', shape: [-1, m.width] }],
    outputs: [{ name: OUTPUT, datatype: 'FP32', shape: [-1, m.outputs] }],
  };
}

function malformed(message: string): never {
  throw new InvalidInputError(`malformed inference request: ${message}`);
}

/** Checks the request's shape and types; the model's width is checked once it is loaded. */
function parse(request: unknown): { id?: string; input: InferInput; rows: number } {
  const r = request as Partial<InferRequest> | null;
  if (!r || typeof r !== 'object' || Array.isArray(r))
    malformed('the body must be a JSON object with "inputs"');
  if (r.id !== undefined && typeof r.id !== 'string') malformed('"id" must be a string');
  if (!Array.isArray(r.inputs) || r.inputs.length !== 1)
    malformed(
      `"inputs" must be a list of exactly one tensor, got ${Array.isArray(r.inputs) ? r.inputs.length : typeof r.inputs}`,
    );
  if (r.outputs !== undefined) {
    if (!Array.isArray(r.outputs)) malformed('"outputs" must be a list of {name}');
    const other = r.outputs.find((o) => o?.name !== OUTPUT);
    if (other)
      malformed(`unknown output ${JSON.stringify(other?.name)}; the model has one output, "${OUTPUT}"`);
  }
  const input = r.inputs[0] as Partial<InferInput> | null;
  if (!input || typeof input !== 'object')
    malformed('inputs[0] must be an object {name, shape, datatype, data}');
  if (typeof input.name !== 'string') malformed('inputs[0].name must be a string');
  if (typeof input.datatype !== 'string' || !DATATYPES.has(input.datatype))
    malformed(
      `inputs[0].datatype must be one of ${[...DATATYPES].join(', ')}, got ${JSON.stringify(input.datatype)}`,
    );
  const { shape } = input;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    malformed(`inputs[0].shape must be [rows, features], got ${JSON.stringify(shape)}`);
  if (!Array.isArray(input.data)) malformed('inputs[0].data must be a list (flat or nested) of numbers');
  return { id: r.id, input: input as InferInput, rows: shape[0] };
}

/** Flattens data (flat, or nested row by row) into x, checking count, finiteness and integer types. */
function flatten(input: InferInput, x: Float32Array): void {
  const ints = input.datatype.startsWith('INT');
  let at = 0;
  const walk = (v: unknown, depth: number): void => {
    if (Array.isArray(v)) {
      if (depth >= 2) malformed('inputs[0].data is nested deeper than its shape');
      for (const e of v) walk(e, depth + 1);
      return;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || (ints && !Number.isInteger(v)))
      malformed(`inputs[0].data[${at}] is ${JSON.stringify(v)}, not a finite ${input.datatype} number`);
    if (at >= x.length)
      malformed(
        `inputs[0].data holds more than the ${x.length} values of shape ${JSON.stringify(input.shape)}`,
      );
    x[at++] = v;
  };
  for (const v of input.data) walk(v, 0);
  if (at !== x.length)
    malformed(`inputs[0].data holds ${at} values, shape ${JSON.stringify(input.shape)} needs ${x.length}`);
}

/** `POST /v2/models/{name}[/versions/{v}]/infer`: one FP32 tensor [rows, features] in, probabilities out. */
export async function infer(
  cache: ModelCache,
  name: string,
  version: string | undefined,
  request: unknown,
  limits?: PredictLimits,
): Promise<InferResponse> {
  const { id, input, rows } = parse(request);
  checkRows(rows, limits);
  return cache.use(name, version, async (m) => {
    if (input.shape[1] !== m.width)
      throw new UnprocessableError(
        `inputs[0].shape ${JSON.stringify(input.shape)}: expected ${m.width} features per row (${m.params.features.join(', ')})`,
      );
    const x = new Float32Array(rows * m.width);
    flatten(input, x);
    const p = await scoreRows(m, x, rows);
    return {
      model_name: m.name,
      model_version: m.version,
      id: id ?? randomUUID(),
      outputs: [{ name: OUTPUT, shape: [rows, m.outputs], datatype: 'FP32', data: Array.from(p) }],
    };
  });
}
