import * as tf from '@tensorflow/tfjs';
import { UnprocessableError } from '../../errors.js';
import { initBackend, resetBackend } from '../../training/backend.js';
import { loadModel, type ModelJson } from '../../training/model-io.js';
import { holdReadiness } from '../readiness.js';
import type { LoadedModel } from './engine.js';

/** Rows per model call at most: bounds the time one call holds the thread. */
const CHUNK = 8192;
/**
 * Bytes of activations one model call may hold in WebAssembly memory. 8,192 rows through a
 * 65,536-unit layer wanted 2 GiB at once and left the backend faulted for every model; wide models
 * now predict in smaller calls instead.
 */
const CALL_BYTES = 64 * 2 ** 20;

/** Rows per call for this model: its layers' widths (what each row holds in flight) within CALL_BYTES. */
export function rowsPerCall(model: tf.LayersModel, callBytes = CALL_BYTES): number {
  let perRow = 0;
  for (const l of model.layers) {
    const shapes = (Array.isArray(l.outputShape[0]) ? l.outputShape : [l.outputShape]) as Array<
      Array<number | null>
    >;
    for (const s of shapes) perRow += s.slice(1).reduce<number>((a, d) => a * (d ?? 1), 1);
  }
  // input, output and one intermediate per layer, in float32
  return Math.max(1, Math.min(CHUNK, Math.floor(callBytes / (4 * 2 * Math.max(1, perRow)))));
}

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

/** Probabilities of n rows: n × outputs floats (one tidy, one dataSync per `chunk` rows). */
function scores(
  model: tf.LayersModel,
  x: Float32Array,
  n: number,
  width: number,
  outputs: number,
  chunk: number,
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
  if (n <= chunk) return run(0, n);
  const out = new Float32Array(n * outputs);
  for (let at = 0; at < n; at += chunk) out.set(run(at, Math.min(chunk, n - at)), at * outputs);
  return out;
}

/**
 * Starts the TensorFlow.js backend afresh after a WebAssembly memory fault (every model built on
 * the old one is gone), with readiness held false meanwhile.
 */
export async function restartTfjsEngine(): Promise<void> {
  const release = holdReadiness('the TensorFlow.js engine is restarting after a memory fault');
  try {
    await resetBackend();
  } finally {
    release();
  }
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
  const chunk = rowsPerCall(model);
  return {
    engine: 'tfjs',
    inputs: [{ name: inputName, datatype: 'FP32', shape: [-1, width] }],
    output: { name: 'probabilities', datatype: 'FP32', shape: [-1, outputs] },
    inputWidths: [width],
    outputs,
    predict: async (feeds, rows) => scores(model, feeds[0], rows, width, outputs, chunk),
    dispose: () => model.dispose(),
  };
}
