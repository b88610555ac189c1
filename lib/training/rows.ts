import * as tf from '@tensorflow/tfjs';
import type { DatasetChunk } from '../dataset/dataset.js';
import { seededRandom, shuffleInPlace } from '../dataset/random.js';
import { gather, gatherRows, TRAIN } from '../dataset/split.js';
import { accuracy, auc, binaryCrossEntropy } from './metrics.js';
import { categoricalCrossEntropy, macroAuc, multiclassAccuracy } from './multiclass-metrics.js';

export interface Held {
  x: Float32Array;
  y: Float32Array;
  rows: number;
  /** where each row comes from (file index, entry number) */
  file?: Uint16Array;
  entry?: Float64Array;
}

export interface Part {
  x: Float32Array;
  y: Float32Array;
  file: Uint16Array;
  entry: Float64Array;
}

export class Collector {
  private parts: Part[] = [];
  /** the rows joined, kept once asked for (the parts are let go: one copy in memory, not two) */
  private joined: Held | undefined;
  rows = 0;
  constructor(private readonly width: number) {}
  add(p: Part): void {
    if (this.joined) {
      const { x, y, file, entry } = this.joined;
      this.parts = [{ x, y, file: file!, entry: entry! }];
      this.joined = undefined;
    }
    this.parts.push(p);
    this.rows += p.y.length;
  }
  held(): Held {
    if (this.joined) return this.joined;
    const x = new Float32Array(this.rows * this.width);
    const y = new Float32Array(this.rows);
    const file = new Uint16Array(this.rows);
    const entry = new Float64Array(this.rows);
    let at = 0;
    for (const p of this.parts) {
      x.set(p.x, at * this.width);
      y.set(p.y, at);
      file.set(p.file, at);
      entry.set(p.entry, at);
      at += p.y.length;
    }
    this.parts = [];
    this.joined = { x, y, rows: this.rows, file, entry };
    return this.joined;
  }
}

/** Rows of one split in the chunk's seeded order; training rows reshuffled for each epoch. */
export function part(c: DatasetChunk, which: number, seed: number): Part {
  let n = 0;
  for (let i = 0; i < c.rows; i++) if (c.parts[i] === which) n++;
  const idx = new Int32Array(n);
  for (let i = 0, j = 0; i < c.rows; i++) if (c.parts[c.order[i]] === which) idx[j++] = c.order[i];
  if (which === TRAIN) shuffleInPlace(idx, seededRandom(seed));
  return {
    x: gatherRows(c.x, c.width, idx),
    y: gather(c.y, idx),
    file: gather(c.file, idx),
    entry: gather(c.entry, idx),
  };
}

export function targets(y: Float32Array, classes: number): tf.Tensor {
  if (classes <= 2) return tf.tensor2d(y, [y.length, 1]);
  return tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), classes).toFloat());
}

/** Class scores of rows: P(class 1) for two classes, else the softmax rows flattened. */
export function predictRows(
  model: tf.LayersModel,
  x: Float32Array,
  width: number,
  batch = 8192,
): Float32Array {
  const rows = x.length / width;
  const outs: Float32Array[] = [];
  for (let at = 0; at < rows; at += batch) {
    const n = Math.min(batch, rows - at);
    // batchSize n: predict's default of 32 rows slices the input, a copy per slice on wasm
    const p = tf.tidy(
      () =>
        model.predict(tf.tensor2d(x.subarray(at * width, (at + n) * width), [n, width]), {
          batchSize: n,
        }) as tf.Tensor,
    );
    outs.push(p.dataSync() as Float32Array);
    p.dispose();
  }
  const total = outs.reduce((s, o) => s + o.length, 0);
  const out = new Float32Array(total);
  let at = 0;
  for (const o of outs) {
    out.set(o, at);
    at += o.length;
  }
  return out;
}

/**
 * The model's own compiled loss on held rows, from its scores, by Keras's formulas: a spec may
 * train with mean squared error, and its validation loss (what early stopping watches) must be
 * that loss, not a cross-entropy.
 */
function heldLoss(model: tf.LayersModel, scores: Float32Array, classes: number, y: Float32Array): number {
  const binary = classes <= 2;
  if (model.loss !== 'meanSquaredError')
    return binary ? binaryCrossEntropy(scores, y) : categoricalCrossEntropy(scores, classes, y);
  // the mean over every output of every row: the targets are the labels, or their one-hot rows
  const k = binary ? 1 : classes;
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    const target = binary ? y[i] : Number(y[Math.floor(i / k)] === i % k);
    sum += (scores[i] - target) ** 2;
  }
  return sum / scores.length;
}

/**
 * Loss, accuracy and AUC of a model on held rows, from its scores (predicted in batches). Not
 * model.evaluate: it takes all the rows into the backend at once, and the WebAssembly memory that
 * grows for them (17 MB for 100k validation rows) is never given back.
 */
export function evaluate(
  model: tf.LayersModel,
  h: Held,
  width: number,
  classes: number,
): { loss: number; accuracy: number; auc?: number } {
  if (!h.rows) return { loss: Number.NaN, accuracy: Number.NaN };
  const scores = predictRows(model, h.x, width);
  // a model that diverged scores NaN: its loss is NaN (early stopping skips it), not an error
  if (!scores.every((s) => Number.isFinite(s))) return { loss: Number.NaN, accuracy: Number.NaN };
  const binary = classes <= 2;
  const loss = heldLoss(model, scores, classes, h.y);
  const acc = binary ? accuracy(scores, h.y) : multiclassAccuracy(scores, classes, h.y);
  let a: number | undefined;
  try {
    a = binary ? auc(scores, h.y) : macroAuc(scores, classes, h.y);
  } catch {
    a = undefined; // one class only in this sample
  }
  return { loss, accuracy: acc, auc: a };
}
