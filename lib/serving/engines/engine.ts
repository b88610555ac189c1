/**
 * The inference engine contract (KServe's load / ready / predict): a loaded model takes one
 * float32 block per named input (rows × that input's per-row values) and gives rows × `outputs`
 * values of its output. The model cache, `/json`, the Open Inference Protocol and
 * `mlaas4hep predict` talk to this interface only; TensorFlow.js and ONNX Runtime sit behind it.
 */
export type EngineName = 'tfjs' | 'onnxruntime';

/** A tensor as the Open Inference Protocol describes it; -1 marks the dynamic batch axis. */
export interface TensorInfo {
  name: string;
  datatype: 'FP32';
  shape: number[];
}

export interface LoadedModel {
  readonly engine: EngineName;
  /** the graph's inputs, batch axis first (-1) */
  readonly inputs: readonly TensorInfo[];
  /** the output read, batch axis first (-1) */
  readonly output: TensorInfo;
  /** values per row of each input (the product of its shape after the batch axis) */
  readonly inputWidths: readonly number[];
  /** values per row of the output: 1 for a sigmoid or a regression, k for a k-class softmax */
  readonly outputs: number;
  /** `feeds[i]` holds rows × inputWidths[i] values of input i */
  predict(feeds: readonly Float32Array[], rows: number): Promise<Float32Array>;
  dispose(): void;
}

/** Which engine runs a bundle, and why (logged when the model is loaded). */
export interface EngineChoice {
  engine: EngineName;
  reason: string;
}

/** Splits rows of all inputs side by side into one block per input (no copy for a single input). */
export function splitRows(x: Float32Array, widths: readonly number[], rows: number): Float32Array[] {
  if (widths.length === 1) return [x.length === rows * widths[0] ? x : x.subarray(0, rows * widths[0])];
  const width = widths.reduce((a, b) => a + b, 0);
  const feeds = widths.map((w) => new Float32Array(rows * w));
  for (let r = 0; r < rows; r++) {
    let at = r * width;
    for (let i = 0; i < widths.length; i++) {
      const w = widths[i];
      feeds[i].set(x.subarray(at, at + w), r * w);
      at += w;
    }
  }
  return feeds;
}
