import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { deriveSeed } from '../dataset/random.js';
import { InvalidInputError } from '../errors.js';

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
    /** where the cosine schedule starts (standard mode); twice Keras's 0.001, as the schedule ends at 1/20 */
    learningRate: z.number().positive().max(10).default(0.002),
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
  learningRate: 0.002,
};

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
    if (!topology || typeof topology !== 'object')
      throw new InvalidInputError('model.keras: expected the JSON of model.to_json()');
    return { kind: 'keras', topology: topology as Record<string, unknown> };
  }
  const r = ModelSpecSchema.safeParse(doc);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `model.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new InvalidInputError(`invalid model: ${msg}`);
  }
  return { kind: 'spec', spec: r.data };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`model.keras is not valid JSON: ${(err as Error).message}`);
  }
}

export interface BuiltModel {
  model: tf.LayersModel;
  loss: string;
}

function lossFor(classes: number, spec?: ModelSpec): string {
  return spec?.loss ?? (classes > 2 ? 'categoricalCrossentropy' : 'binaryCrossentropy');
}

function optimizerFor(spec: ModelSpec): tf.Optimizer {
  const lr = spec.learningRate;
  switch (spec.optimizer) {
    case 'sgd':
      return tf.train.sgd(lr);
    case 'rmsprop':
      return tf.train.rmsprop(lr);
    case 'adagrad':
      return tf.train.adagrad(lr);
    default:
      return tf.train.adam(lr);
  }
}

/** Builds and compiles a model for `inputs` features and `classes` classes, its weights seeded. */
export async function buildModel(
  def: ModelDefinition,
  inputs: number,
  classes: number,
  seed: number,
): Promise<BuiltModel> {
  const outputs = classes > 2 ? classes : 1;
  if (def.kind === 'keras') return buildKeras(def.topology, inputs, outputs, classes);
  const spec = def.spec;
  const m = tf.sequential();
  spec.layers.forEach((l, i) => {
    const s = deriveSeed(seed, i);
    const first = i === 0 ? { inputShape: [inputs] } : {};
    if (l.type === 'dense') {
      m.add(
        tf.layers.dense({
          ...first,
          units: l.units,
          activation: l.activation as never,
          kernelInitializer: tf.initializers.glorotUniform({ seed: s }),
        }),
      );
    } else if (l.type === 'dropout') m.add(tf.layers.dropout({ ...first, rate: l.rate, seed: s }));
    else if (l.type === 'batchNormalization') m.add(tf.layers.batchNormalization(first));
    else m.add(tf.layers.activation({ ...first, activation: l.activation as never }));
  });
  m.add(
    tf.layers.dense({
      units: outputs,
      activation: outputs === 1 ? 'sigmoid' : 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, 999) }),
    }),
  );
  const loss = lossFor(classes, spec);
  m.compile({ optimizer: optimizerFor(spec), loss, metrics: ['accuracy'] });
  return { model: m, loss };
}

async function buildKeras(
  topology: Record<string, unknown>,
  inputs: number,
  outputs: number,
  classes: number,
): Promise<BuiltModel> {
  const cfg = (topology.config ?? {}) as {
    layers?: Array<{ class_name?: string; config?: { name?: string } }>;
  };
  const known = new Set(Object.keys(tf.serialization.SerializationMap.getMap().classNameMap));
  (cfg.layers ?? []).forEach((l, i) => {
    if (!l.class_name || !known.has(l.class_name)) {
      throw new InvalidInputError(
        `model.keras: layer ${i} (${l.config?.name ?? 'unnamed'}) has an unknown class "${l.class_name ?? ''}"`,
      );
    }
  });
  let model: tf.LayersModel;
  try {
    model = await tf.models.modelFromJSON({ modelTopology: topology } as tf.io.ModelJSON as never);
  } catch (err) {
    throw new InvalidInputError(`model.keras cannot be built: ${(err as Error).message}`);
  }
  const inShape = model.inputs[0].shape;
  if (inShape[inShape.length - 1] !== inputs) {
    throw new InvalidInputError(
      `model.keras expects ${inShape[inShape.length - 1]} inputs, but the workflow produces ${inputs} features`,
    );
  }
  const outShape = model.outputs[0].shape;
  if (outShape[outShape.length - 1] !== outputs) {
    throw new InvalidInputError(
      `model.keras has ${outShape[outShape.length - 1]} outputs; ${classes} classes need ${outputs}`,
    );
  }
  const loss = lossFor(classes);
  model.compile({ optimizer: tf.train.adam(0.001), loss, metrics: ['accuracy'] });
  return { model, loss };
}
