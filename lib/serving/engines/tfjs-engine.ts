import * as tf from '@tensorflow/tfjs';
import { UnprocessableError } from '../../errors.js';
import { initBackend } from '../../training/backend.js';
import { loadModel, type ModelJson } from '../../training/model-io.js';
import type { LoadedModel } from './engine.js';

/** Rows per model call: bounds the size of one tensor and the time one call holds the thread. */
const CHUNK = 8192;

/** A TensorFlow.js layers model from a bundle's model.json and weights.bin. */
async function buildModel(modelJson: Uint8Array, weights: Uint8Array, what: string): Promise<tf.LayersModel> {
  let json: ModelJson;
  try {
    json = JSON.parse(new TextDecoder().decode(modelJson)) as ModelJson;
  } catch {
    throw new UnprocessableError(`model.json of ${what} is not valid JSON`, 'CorruptBundle');
  }
  return loadModel(json, weights);
}

/** Probabilities of n rows: n × outputs floats (one tidy, one dataSync per 8192 rows). */
function scores(
  model: tf.LayersModel,
  x: Float32Array,
  n: number,
  width: number,
  outputs: number,
): Float32Array {
  const run = (from: number, rows: number): Float32Array => {
    const t = tf.tidy(
      () =>
        // one batch per call: predict's default of 32 rows slices the input, and every slice
        // is a copy out of the wasm heap (most of the time of a 10,000-row request)
        model.predict(tf.tensor2d(x.subarray(from * width, (from + rows) * width), [rows, width]), {
          batchSize: rows,
        }) as tf.Tensor,
    );
    const out = t.dataSync() as Float32Array;
    t.dispose();
    return out;
  };
  if (n <= CHUNK) return run(0, n);
  const out = new Float32Array(n * outputs);
  for (let at = 0; at < n; at += CHUNK) out.set(run(at, Math.min(CHUNK, n - at)), at * outputs);
  return out;
}

/** Loads a TensorFlow.js layers model behind the engine interface (one input [batch, features]). */
export async function loadTfjsModel(
  modelJson: Uint8Array,
  weights: Uint8Array,
  inputName: string,
  what: string,
): Promise<LoadedModel> {
  await initBackend();
  const model = await buildModel(modelJson, weights, what);
  const width = model.inputs[0].shape[1];
  const outputs = model.outputs[0].shape[1] ?? 1;
  if (model.inputs.length !== 1 || typeof width !== 'number') {
    model.dispose();
    throw new UnprocessableError(
      `${what}: the model must take one input of shape [batch, features]`,
      'CorruptBundle',
    );
  }
  return {
    engine: 'tfjs',
    inputs: [{ name: inputName, datatype: 'FP32', shape: [-1, width] }],
    output: { name: 'probabilities', datatype: 'FP32', shape: [-1, outputs] },
    inputWidths: [width],
    outputs,
    predict: async (feeds, rows) => scores(model, feeds[0], rows, width, outputs),
    dispose: () => model.dispose(),
  };
}
