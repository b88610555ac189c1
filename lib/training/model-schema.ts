import { z } from 'zod';
import { issuePath, UnprocessableError } from '../errors.js';

/**
 * The workflow's `model` section, checked without TensorFlow.js: `/submit` refuses a bad model
 * here (422 naming the field) instead of queueing a job that can only fail in the trainer.
 */

const Activation = z.enum([
  'relu',
  'elu',
  'selu',
  'tanh',
  'sigmoid',
  'softmax',
  'linear',
  'softplus',
  'swish',
  'gelu',
  'leakyRelu',
]);

const Layer = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('dense'),
      units: z.number().int().positive().max(65_536),
      activation: Activation.optional(),
    })
    .strict(),
  z.object({ type: z.literal('dropout'), rate: z.number().gte(0).lt(1) }).strict(),
  z.object({ type: z.literal('batchNormalization') }).strict(),
  z.object({ type: z.literal('activation'), activation: Activation }).strict(),
]);

/** A declarative model: hidden layers; the output layer and the loss follow from the classes. */
export const ModelSpecSchema = z
  .object({
    layers: z.array(Layer).min(1).max(64),
    optimizer: z.enum(['adam', 'sgd', 'rmsprop', 'adagrad']).default('adam'),
    /** where the cosine schedule starts (standard mode); measured with batches of 512 (bench:train) */
    learningRate: z.number().positive().max(10).default(0.003),
    loss: z.enum(['binaryCrossentropy', 'categoricalCrossentropy', 'meanSquaredError']).optional(),
  })
  .strict();

export type ModelSpec = z.output<typeof ModelSpecSchema>;

/** MLaaS4HEP's example model: Dense(128, relu), Dropout(0.5), Dense(64, relu), Dropout(0.5), output. */
export const DEFAULT_MODEL: ModelSpec = {
  layers: [
    { type: 'dense', units: 128, activation: 'relu' },
    { type: 'dropout', rate: 0.5 },
    { type: 'dense', units: 64, activation: 'relu' },
    { type: 'dropout', rate: 0.5 },
  ],
  optimizer: 'adam',
  learningRate: 0.003,
};

/**
 * A Keras `model.to_json()`: a Sequential or functional model whose layers each name a class and
 * a config. Whether TensorFlow.js knows every class is checked when the trainer builds it.
 */
const KerasTopologySchema = z.looseObject({
  class_name: z.string().min(1),
  config: z.looseObject({
    layers: z
      .array(z.looseObject({ class_name: z.string().min(1), config: z.record(z.string(), z.unknown()) }))
      .min(1)
      .max(256),
  }),
});

/** What a workflow's "model" may hold: our declarative spec, or a Keras topology (model.to_json()). */
export type ModelDefinition =
  | { kind: 'spec'; spec: ModelSpec }
  | { kind: 'keras'; topology: Record<string, unknown> };

export function parseModelDefinition(doc: unknown): ModelDefinition {
  if (doc === undefined || doc === null) return { kind: 'spec', spec: DEFAULT_MODEL };
  const keras =
    typeof doc === 'object' && doc !== null && 'keras' in doc ? (doc as { keras: unknown }).keras : undefined;
  if (keras !== undefined) {
    const topology = typeof keras === 'string' ? safeJson(keras) : keras;
    const r = KerasTopologySchema.safeParse(topology);
    if (!r.success) throw invalid('expected the JSON of model.to_json()', r.error, ['keras']);
    return { kind: 'keras', topology: topology as Record<string, unknown> };
  }
  const r = ModelSpecSchema.safeParse(doc);
  if (!r.success) throw invalid('', r.error);
  return { kind: 'spec', spec: r.data };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UnprocessableError(`model.keras is not valid JSON: ${(err as Error).message}`, 'InvalidModel');
  }
}

function invalid(what: string, error: z.ZodError, at: string[] = []): UnprocessableError {
  const issues = error.issues.map((i) => `${issuePath([...at, ...i.path], 'model')}: ${i.message}`);
  return new UnprocessableError(
    `invalid model: ${issues.join('; ')}${what ? ` (${what})` : ''}`,
    'InvalidModel',
  );
}

/** What training a model costs before a byte of data is read: its size and an estimate of its memory. */
export interface ModelBudget {
  /** trainable and non-trainable weights */
  parameters: number;
  /** weights, gradients and two optimizer moments (4 bytes each), plus one batch's activations and their gradients */
  trainingBytes: number;
}

export interface ModelShape {
  /** features per event (at submit, a lower bound: the selected branches) */
  inputs: number;
  /** classes of the labels (an output unit for two, one per class beyond) */
  classes: number;
  batchSize: number;
}

const BYTES = 4;

function positive(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

function product(v: unknown): number {
  if (Array.isArray(v)) return v.reduce<number>((p, x) => p * (positive(x) ?? 1), 1);
  return positive(v) ?? 1;
}

/** Widths and weights of a Keras topology, layer by layer in the order written (functional models approximately). */
function kerasLayers(
  topology: Record<string, unknown>,
  inputs: number,
): { params: number; widths: number[] } {
  const layers = (
    topology.config as { layers: Array<{ class_name: string; config: Record<string, unknown> }> }
  ).layers;
  let width = inputs;
  let params = 0;
  const widths: number[] = [];
  for (const { class_name: cls, config: c } of layers) {
    const shape = (c.batch_input_shape ?? c.batch_shape) as unknown[] | undefined;
    if (Array.isArray(shape) && shape.length) width = positive(shape[shape.length - 1]) ?? width;
    const units = positive(c.units);
    if (cls === 'Dense' && units) {
      params += width * units + units;
      width = units;
    } else if (cls === 'BatchNormalization') params += 4 * width;
    else if (/^Conv[123]D$/.test(cls) && positive(c.filters)) {
      const filters = positive(c.filters)!;
      params += product(c.kernel_size) * width * filters + filters;
      width = filters;
    } else if (cls === 'Embedding') {
      const out = positive(c.output_dim) ?? 1;
      params += (positive(c.input_dim) ?? 1) * out;
      width = out;
    } else if ((cls === 'LSTM' || cls === 'GRU' || cls === 'SimpleRNN') && units) {
      const gates = cls === 'LSTM' ? 4 : cls === 'GRU' ? 3 : 1;
      params += gates * units * (width + units + 2);
      width = units;
    }
    widths.push(width);
  }
  return { params, widths };
}

/**
 * The parameter count and training memory of a model definition for a given input width, without
 * TensorFlow.js: the arithmetic of Dense (and, for Keras topologies, BatchNormalization, Conv,
 * Embedding and recurrent) layers. An estimate, on the low side for shapes it cannot know.
 */
export function modelBudget(def: ModelDefinition, shape: ModelShape): ModelBudget {
  const inputs = Math.max(1, shape.inputs);
  let params = 0;
  const widths: number[] = [inputs];
  if (def.kind === 'keras') {
    const k = kerasLayers(def.topology, inputs);
    params = k.params;
    widths.push(...k.widths);
  } else {
    let width = inputs;
    for (const l of def.spec.layers) {
      if (l.type === 'dense') {
        params += width * l.units + l.units;
        width = l.units;
      } else if (l.type === 'batchNormalization') params += 4 * width;
      widths.push(width);
    }
    const outputs = shape.classes > 2 ? shape.classes : 1;
    params += width * outputs + outputs;
    widths.push(outputs);
  }
  const activations = widths.reduce((s, w) => s + w, 0) * Math.max(1, shape.batchSize);
  return { parameters: params, trainingBytes: (params * 4 + activations * 3) * BYTES };
}

const MB = (b: number) => `${Math.ceil(b / 2 ** 20).toLocaleString('en-US')} MiB`;

/**
 * Refuses (422, naming the limit and the variable that sets it) a model whose parameter count or
 * estimated training memory is over the deployment's limits: checked at submit with the input
 * width the workflow implies, and by the trainer again once the real width is known.
 */
export function checkModelBudget(
  def: ModelDefinition,
  shape: ModelShape,
  limits: { maxParameters: number; maxTrainingBytes: number },
): ModelBudget {
  const b = modelBudget(def, shape);
  if (b.parameters > limits.maxParameters)
    throw new UnprocessableError(
      `the model has ${b.parameters.toLocaleString('en-US')} parameters for ${shape.inputs} input feature(s), over this service's limit of ${limits.maxParameters.toLocaleString('en-US')} (MLAAS4HEP_MAX_PARAMETERS); use fewer or narrower layers`,
      'ModelTooLarge',
    );
  if (b.trainingBytes > limits.maxTrainingBytes)
    throw new UnprocessableError(
      `training the model needs about ${MB(b.trainingBytes)} (${b.parameters.toLocaleString('en-US')} parameters, batch_size ${shape.batchSize}), over this service's limit of ${MB(limits.maxTrainingBytes)} (MLAAS4HEP_MAX_TRAINING_MEMORY_MB); use a smaller model or batch_size`,
      'ModelTooLarge',
    );
  return b;
}
