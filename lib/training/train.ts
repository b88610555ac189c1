import * as tf from '@tensorflow/tfjs';
import type { Dataset, DatasetChunk } from '../dataset/dataset.js';
import { deriveSeed, seededRandom, shuffleInPlace } from '../dataset/random.js';
import { gather, gatherRows, TEST, TRAIN, VALIDATION } from '../dataset/split.js';
import { auc, macroAuc } from './metrics.js';
import type { ModelDefinition } from './model-schema.js';
import { type BuiltModel, buildModel } from './model-spec.js';
import {
  fitStandardizer,
  foldStandardizer,
  inputDense,
  type Standardizer,
  standardize,
} from './standardize.js';

export type TrainingMode = 'chunk' | 'standard';

export interface TrainConfig {
  /** chunk: MLaaS4HEP's (all epochs on each chunk in turn); standard: each epoch passes over every chunk */
  mode: TrainingMode;
  epochs: number;
  batchSize: number;
  seed: number;
  /** train on standardised features, folded into the first Dense layer at the end (default true) */
  standardize?: boolean;
  /** cosine: in standard mode the learning rate falls to 1/20 of the model's over the epochs (default) */
  lrSchedule?: 'cosine' | 'constant';
  /** stop when the validation loss has not improved for `patience` epochs (standard mode) */
  earlyStopping?: { patience: number; minDelta?: number };
  /** aborting stops training at the next batch boundary */
  signal?: AbortSignal;
  onProgress?(p: Progress): void;
  /** hears each epoch's record as it is added to the history (live curves while a job trains) */
  onEpoch?(m: EpochMetrics): void;
}

export interface Progress {
  chunk: number;
  chunks: number;
  epoch: number;
  epochs: number;
  loss: number;
  samplesPerSecond: number;
}

export interface EpochMetrics {
  epoch: number;
  chunk?: number;
  loss: number;
  accuracy: number;
  auc?: number;
  valLoss?: number;
  valAccuracy?: number;
  valAuc?: number;
  learningRate?: number;
}

export interface Held {
  x: Float32Array;
  y: Float32Array;
  rows: number;
  /** where each row comes from (file index, entry number) */
  file?: Uint16Array;
  entry?: Float64Array;
}

export interface TrainResult extends BuiltModel {
  history: EpochMetrics[];
  /** the test split, never trained on, for the final evaluation */
  test: Held;
  validation: Held;
  interrupted: boolean;
  stoppedEarly: boolean;
  samples: number;
  seconds: number;
}

interface Part {
  x: Float32Array;
  y: Float32Array;
  file: Uint16Array;
  entry: Float64Array;
}

class Collector {
  private parts: Part[] = [];
  rows = 0;
  constructor(private readonly width: number) {}
  add(p: Part): void {
    this.parts.push(p);
    this.rows += p.y.length;
  }
  held(): Held {
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
    return { x, y, rows: this.rows, file, entry };
  }
}

/** Rows of one split in the chunk's seeded order; training rows reshuffled for each epoch. */
function part(c: DatasetChunk, which: number, seed: number): Part {
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

function targets(y: Float32Array, classes: number): tf.Tensor {
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

function evaluate(
  model: tf.LayersModel,
  h: Held,
  width: number,
  classes: number,
): { loss: number; accuracy: number; auc?: number } {
  if (!h.rows) return { loss: Number.NaN, accuracy: Number.NaN };
  const xt = tf.tensor2d(h.x, [h.rows, width]);
  const yt = targets(h.y, classes);
  const res = model.evaluate(xt, yt, { batchSize: 8192 }) as tf.Scalar[];
  const [loss, accuracy] = res.map((r) => r.dataSync()[0]);
  tf.dispose([xt, yt, ...res]);
  const scores = predictRows(model, h.x, width);
  let a: number | undefined;
  try {
    a = classes <= 2 ? auc(scores, h.y) : macroAuc(scores, classes, h.y);
  } catch {
    a = undefined; // one class only in this sample
  }
  return { loss, accuracy, auc: a };
}

/** Trains a model on a dataset's chunks; the test split is held back untouched. */
export async function trainModel(ds: Dataset, def: ModelDefinition, cfg: TrainConfig): Promise<TrainResult> {
  const width = ds.layout.names.length;
  const classes = Math.max(2, ds.classes.length);
  const built = await buildModel(def, width, classes, cfg.seed);
  const { model } = built;
  const history: EpochMetrics[] = [];
  const test = new Collector(width);
  const validation = new Collector(width);
  const t0 = performance.now();
  let samples = 0;
  let interrupted = false;
  let stoppedEarly = false;
  const scaled = (cfg.standardize ?? true) && inputDense(model) !== undefined;
  let std: Standardizer | undefined;
  // the first training rows seen set the standardisation (a seeded, proportional mix of every file)
  const fx = (x: Float32Array): Float32Array => {
    if (!scaled) return x;
    std ??= fitStandardizer(x, width);
    return standardize(std, x);
  };
  const fh = (h: Held): Held => ({ ...h, x: fx(h.x) });

  const fitRows = async (
    x: Float32Array,
    y: Float32Array,
    epochs: number,
    progress: Omit<Progress, 'loss' | 'samplesPerSecond' | 'epoch'> & { epoch?: number },
    val?: Held,
  ) => {
    const rows = y.length;
    if (!rows) return [] as Array<{ loss: number; acc: number; valLoss?: number; valAcc?: number }>;
    const xt = tf.tensor2d(x, [rows, width]);
    const yt = targets(y, classes);
    const vx = val?.rows ? tf.tensor2d(val.x, [val.rows, width]) : undefined;
    const vy = val?.rows ? targets(val.y, classes) : undefined;
    const out: Array<{ loss: number; acc: number; valLoss?: number; valAcc?: number }> = [];
    try {
      await model.fit(xt, yt, {
        epochs,
        batchSize: cfg.batchSize,
        shuffle: false, // rows are shuffled with the workflow's seed, so runs are reproducible
        validationData: vx && vy ? [vx, vy] : undefined,
        verbose: 0,
        callbacks: {
          onBatchEnd: async () => {
            if (cfg.signal?.aborted) {
              model.stopTraining = true;
              interrupted = true;
            }
          },
          onEpochEnd: async (epoch, logs) => {
            samples += rows;
            const l = logs ?? {};
            out.push({
              loss: l.loss,
              acc: l.acc ?? l.accuracy,
              valLoss: l.val_loss,
              valAcc: l.val_acc ?? l.val_accuracy,
            });
            cfg.onProgress?.({
              epoch: epoch + 1,
              ...progress,
              loss: l.loss,
              samplesPerSecond: samples / ((performance.now() - t0) / 1000),
            });
          },
        },
      });
    } finally {
      tf.dispose([xt, yt, ...(vx ? [vx] : []), ...(vy ? [vy] : [])]);
    }
    return out;
  };

  const chunks = ds.plan.chunks.length;
  if (cfg.mode === 'chunk') {
    for await (const c of ds.chunks()) {
      const train = part(c, TRAIN, deriveSeed(cfg.seed, c.index, 3));
      const trainX = fx(train.x);
      const val = part(c, VALIDATION, 0);
      test.add(part(c, TEST, 0));
      validation.add(val);
      const vh = fh({ ...val, rows: val.y.length });
      const logs = await fitRows(
        trainX,
        train.y,
        cfg.epochs,
        { chunk: c.index + 1, chunks, epochs: cfg.epochs },
        vh,
      );
      logs.forEach((l, e) => {
        history.push({
          epoch: e + 1,
          chunk: c.index + 1,
          loss: l.loss,
          accuracy: l.acc,
          valLoss: l.valLoss,
          valAccuracy: l.valAcc,
        });
      });
      const last = history.at(-1);
      if (last && vh.rows) last.valAuc = evaluate(model, vh, width, classes).auc;
      for (const h of history.slice(history.length - logs.length)) cfg.onEpoch?.(h);
      if (interrupted) break;
    }
  } else {
    let best = Number.POSITIVE_INFINITY;
    let bestWeights: tf.Tensor[] | undefined;
    let since = 0;
    let heldOut: Held | undefined;
    const lr0 = learningRate(model);
    for (let epoch = 1; epoch <= cfg.epochs && !interrupted; epoch++) {
      if ((cfg.lrSchedule ?? 'cosine') === 'cosine' && lr0 !== undefined && cfg.epochs > 1) {
        const cos = 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / (cfg.epochs - 1)));
        setLearningRate(model, lr0 / 20 + (lr0 - lr0 / 20) * cos);
      }
      let lossSum = 0;
      let accSum = 0;
      let n = 0;
      let lastTrain: Held | undefined;
      for await (const c of ds.chunks()) {
        if (epoch === 1) {
          test.add(part(c, TEST, 0));
          validation.add(part(c, VALIDATION, 0));
        }
        const train = part(c, TRAIN, deriveSeed(cfg.seed, c.index, epoch));
        const trainX = fx(train.x);
        const [l] = await fitRows(trainX, train.y, 1, {
          chunk: c.index + 1,
          chunks,
          epochs: cfg.epochs,
          epoch,
        });
        if (l) {
          lossSum += l.loss * train.y.length;
          accSum += l.acc * train.y.length;
          n += train.y.length;
        }
        lastTrain = { x: trainX, y: train.y, rows: train.y.length };
        if (interrupted) break;
      }
      heldOut ??= fh(validation.held());
      const v = evaluate(model, heldOut, width, classes);
      const trainAuc = lastTrain ? evaluate(model, lastTrain, width, classes).auc : undefined;
      history.push({
        epoch,
        loss: lossSum / n,
        accuracy: accSum / n,
        auc: trainAuc,
        valLoss: v.loss,
        valAccuracy: v.accuracy,
        valAuc: v.auc,
        learningRate: learningRate(model),
      });
      cfg.onEpoch?.(history.at(-1)!);
      if (cfg.earlyStopping && Number.isFinite(v.loss)) {
        if (v.loss < best - (cfg.earlyStopping.minDelta ?? 0)) {
          best = v.loss;
          since = 0;
          tf.dispose(bestWeights ?? []);
          bestWeights = model.getWeights().map((w) => w.clone());
        } else if (++since >= cfg.earlyStopping.patience) {
          stoppedEarly = true;
          break;
        }
      }
    }
    if (stoppedEarly && bestWeights) model.setWeights(bestWeights);
    tf.dispose(bestWeights ?? []);
  }
  if (std) foldStandardizer(model, std);
  return {
    ...built,
    history,
    test: test.held(),
    validation: validation.held(),
    interrupted,
    stoppedEarly,
    samples,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The optimizer's current learning rate, when it has one we can read (Adam, RMSProp, SGD, ...). */
function learningRate(model: tf.LayersModel): number | undefined {
  const lr = (model.optimizer as unknown as { learningRate?: unknown }).learningRate;
  return typeof lr === 'number' ? lr : undefined;
}

function setLearningRate(model: tf.LayersModel, lr: number): void {
  // tfjs optimizers read this field on every step; SGD also has a setter
  const opt = model.optimizer as unknown as { learningRate: number; setLearningRate?(lr: number): void };
  if (opt.setLearningRate) opt.setLearningRate(lr);
  else opt.learningRate = lr;
}
