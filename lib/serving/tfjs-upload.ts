import type * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '../errors.js';
import { initBackend } from '../training/backend.js';
import { loadModel, type ModelJson } from '../training/model-io.js';

/** What an uploaded layers model takes and gives, found by loading it. */
export interface LayersModelShape {
  tfjs: true;
  width: number;
  outputs: number;
  inputNode: string;
  outputNode: string;
}

/**
 * Loads an uploaded TensorFlow.js layers model to check it (imported only when one is uploaded):
 * it must take one [batch, features] input and give one [batch, classes] output.
 */
export async function layersModelShape(
  modelJson: ModelJson,
  weights: Uint8Array,
  modelPath: string,
): Promise<LayersModelShape> {
  await initBackend();
  let model: tf.LayersModel;
  try {
    model = await loadModel(modelJson, weights);
  } catch (err) {
    throw new InvalidInputError(`${modelPath} cannot be loaded: ${(err as Error).message}`);
  }
  try {
    const inShape = model.inputs.length === 1 ? model.inputs[0].shape : [];
    const outShape = model.outputs.length === 1 ? model.outputs[0].shape : [];
    const width = inShape[1];
    if (inShape.length !== 2 || typeof width !== 'number' || outShape.length !== 2 || !outShape[1])
      throw new InvalidInputError(
        `the model must take one input of shape [batch, features] and give one output of shape [batch, classes]; it takes ${JSON.stringify(model.inputs.map((i) => i.shape))}`,
      );
    return {
      tfjs: true,
      width,
      outputs: outShape[1],
      inputNode: model.inputs[0].name,
      outputNode: model.outputs[0].name,
    };
  } finally {
    model.dispose();
  }
}
