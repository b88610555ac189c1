import type * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '../errors.js';

/**
 * Bytes per element of the dtypes a weights manifest may declare. Strings are refused: their
 * length is not in the manifest, so TensorFlow.js would walk a declared shape of any size before
 * finding the archive too short (an upload declaring [1e9] strings held the server for good).
 */
const BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1 };
/** quantized weights: stored narrower, dequantized to float32 on load */
const QUANTIZED: Readonly<Record<string, number>> = { uint8: 1, uint16: 2, float16: 2 };

/** Largest shape a manifest may declare, so element counts stay exact integers. */
const MAX_ELEMENTS = 2 ** 31;

/**
 * Checks a weights manifest against the bytes the archive holds, before anything is allocated
 * for it: numeric dtypes only, every shape a list of whole numbers, and the declared bytes equal
 * to the archive's. Returns the declared element count (what the topology must account for).
 */
export function checkWeightSpecs(
  specs: readonly tf.io.WeightsManifestEntry[],
  archiveBytes: number,
  modelPath: string,
): number {
  if (specs.length === 0) throw new InvalidInputError(`${modelPath} lists no weights`);
  let bytes = 0;
  let elements = 0;
  for (const s of specs) {
    if (!s || typeof s !== 'object')
      throw new InvalidInputError(`${modelPath}: a weights manifest entry is not an object`);
    const name = typeof s?.name === 'string' ? s.name.slice(0, 80) : '?';
    const q = s.quantization;
    const per = q ? QUANTIZED[q.dtype] : BYTES[s.dtype];
    if (per === undefined || (q && s.dtype !== 'float32'))
      throw new InvalidInputError(
        `${modelPath}: weight "${name}" has dtype "${String(q?.dtype ?? s.dtype).slice(0, 20)}"; only float32, int32 and bool weights (float32 quantized to uint8, uint16 or float16) are accepted`,
      );
    if (!Array.isArray(s.shape) || !s.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new InvalidInputError(
        `${modelPath}: weight "${name}" has no valid shape (a list of whole numbers)`,
      );
    let n = 1;
    for (const d of s.shape) {
      n *= d;
      if (n > MAX_ELEMENTS)
        throw new InvalidInputError(
          `${modelPath}: weight "${name}" declares more than ${MAX_ELEMENTS} values, more than the archive holds`,
        );
    }
    elements += n;
    bytes += n * per;
  }
  if (bytes !== archiveBytes)
    throw new InvalidInputError(`the weights hold ${archiveBytes} bytes but ${modelPath} describes ${bytes}`);
  return elements;
}

interface LayerJson {
  class_name?: unknown;
  config?: Record<string, unknown>;
  name?: unknown;
  inbound_nodes?: unknown;
}

/** layers that hold no weights and keep the width of what they take */
const PASS = new Set([
  'Dropout',
  'Activation',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'LeakyReLU',
  'ReLU',
  'ELU',
  'Softmax',
  'ThresholdedReLU',
  'Flatten',
]);
/** layers with `per` weights for every input feature */
const PER_FEATURE: Readonly<Record<string, number>> = {
  BatchNormalization: 4,
  LayerNormalization: 2,
  PReLU: 1,
};
/** layers joining several inputs of one width */
const MERGE = new Set(['Add', 'Multiply', 'Average', 'Maximum', 'Minimum']);
const SUPPORTED = ['InputLayer', 'Dense', ...Object.keys(PER_FEATURE), ...PASS, ...MERGE, 'Concatenate'];

const width = (shape: unknown): number | undefined => {
  const last = Array.isArray(shape) ? shape.at(-1) : undefined;
  return Number.isSafeInteger(last) && (last as number) > 0 ? (last as number) : undefined;
};

/**
 * The number of weights a layers-model topology creates, counted from its JSON alone: TensorFlow.js
 * allocates every layer's weights while it builds the model, before it compares them with the
 * manifest, so a topology of 5 M units cost seconds and gigabytes before its 400. Counted for the
 * flat [batch, features] models served here; any other layer class is refused by name.
 */
export function topologyWeights(topology: unknown, modelPath: string): number {
  const t = topology as { class_name?: unknown; config?: unknown; model_config?: unknown } | null;
  const root = (t?.model_config ?? t) as { config?: unknown } | null;
  const cfg = root?.config;
  const layers = (Array.isArray(cfg) ? cfg : (cfg as { layers?: unknown } | undefined)?.layers) as
    | LayerJson[]
    | undefined;
  if (!Array.isArray(layers) || layers.length === 0)
    throw new InvalidInputError(`${modelPath}: modelTopology has no layers`);
  const bad = (i: number, why: string) => new InvalidInputError(`${modelPath}: layer ${i} ${why}`);
  const widths = new Map<string, number>();
  let previous: number | undefined;
  let total = 0;
  layers.forEach((l, i) => {
    const kind = typeof l?.class_name === 'string' ? l.class_name : '';
    const c = l?.config ?? {};
    if (!SUPPORTED.includes(kind))
      throw bad(
        i,
        `has class "${kind.slice(0, 40)}", which cannot be uploaded here (supported: ${SUPPORTED.join(', ')})`,
      );
    const inputs = inboundNames(l.inbound_nodes);
    const inWidths = inputs ? inputs.map((n) => widths.get(n)) : [previous];
    const declared = width(c.batch_input_shape) ?? width(c.batchInputShape) ?? width(c.input_shape);
    const inWidth = declared ?? inWidths[0];
    let out: number | undefined;
    if (kind === 'InputLayer') out = declared;
    else if (inWidth === undefined || (inWidths.length > 1 && inWidths.some((w) => w === undefined)))
      throw bad(i, `("${kind}") has no known input width`);
    else if (kind === 'Dense') {
      const units = c.units;
      if (!Number.isSafeInteger(units) || (units as number) <= 0)
        throw bad(i, '(Dense) has no valid "units"');
      total += inWidth * (units as number) + (c.use_bias === false ? 0 : (units as number));
      out = units as number;
    } else if (PER_FEATURE[kind] !== undefined) {
      total += PER_FEATURE[kind] * inWidth;
      out = inWidth;
    } else if (kind === 'Concatenate') out = (inWidths as number[]).reduce((a, b) => a + b, 0);
    else out = inWidth;
    if (!out) throw bad(i, `("${kind}") has no known width`);
    // past any manifest an archive could carry: stop counting before the numbers lose meaning
    if (!Number.isSafeInteger(total) || total > MAX_ELEMENTS)
      throw bad(i, `("${kind}") makes the model hold more than ${MAX_ELEMENTS} weights`);
    const name = typeof c.name === 'string' ? c.name : typeof l.name === 'string' ? l.name : `#${i}`;
    widths.set(name, out);
    previous = out;
  });
  return total;
}

/** Names of the layers a functional model's layer takes (Keras' inbound_nodes), if it says. */
function inboundNames(nodes: unknown): string[] | undefined {
  if (!Array.isArray(nodes) || nodes.length === 0) return undefined;
  const first = nodes[0] as unknown;
  const list = Array.isArray(first) ? first : (first as { args?: unknown })?.args;
  if (!Array.isArray(list)) return undefined;
  const names = list.map((e) => (Array.isArray(e) && typeof e[0] === 'string' ? e[0] : undefined));
  return names.every((n) => n !== undefined) ? (names as string[]) : undefined;
}
