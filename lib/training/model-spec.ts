import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../dataset/random.js';
import { InvalidInputError } from '../errors.js';
import type { ModelDefinition, ModelSpec } from './model-schema.js';

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
