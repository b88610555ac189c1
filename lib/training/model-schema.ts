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
