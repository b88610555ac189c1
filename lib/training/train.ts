export { type Held, predictRows } from './rows.js';

import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../dataset/dataset.js';
import { deriveSeed } from '../dataset/random.js';
import { TEST, TRAIN, VALIDATION } from '../dataset/split.js';
import { leanSpecOf } from './lean/net.js';
import type { ModelDefinition } from './model-schema.js';
import { type BuiltModel, buildModel } from './model-spec.js';
import { Collector, evaluate, type Held, part, targets } from './rows.js';
import {
  fitStandardizer,
  foldStandardizer,
  inputDense,
  type Standardizer,
  standardize,
} from './standardize.js';
import { trainLean } from './train-lean.js';

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
  /** worker threads training data-parallel (lean models, standard mode; default 1: this thread) */
  workers?: number;
  /** the TensorFlow.js backend the workers start (the one this thread runs) */
  backend?: string;
  /** keep the training rows in memory when they take at most this (default ./train-lean.ts) */
  cacheBytes?: number;
}

export interface Progress {
  chunk: number;
  chunks: number;
  epoch: number;
  epochs: number;
  loss: number;
  samplesPerSecond: number;
  /** after each epoch: the validation split's AUC */
  valAuc?: number;
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
  /** wall-clock seconds of the epoch: reading (when not cached), training steps, evaluation */
  seconds?: number;
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
  /** seconds in training steps (the lean path; the whole training otherwise) */
  stepSeconds: number;
  /** whether the training rows were kept in memory, and the threads that trained */
  cached: boolean;
  workers: number;
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
  // the standard encoding is standardised already; MLaaS4HEP's min-max one is not
  const scaled = ds.encoding === 'minmax' && (cfg.standardize ?? true) && inputDense(model) !== undefined;
  let std: Standardizer | undefined;
  // the first training rows seen set the standardisation (a seeded, proportional mix of every file)
  const fx = (x: Float32Array): Float32Array => {
    if (!scaled) return x;
    std ??= fitStandardizer(x, width);
    return standardize(std, x);
  };
  const fh = (h: Held): Held => ({ ...h, x: fx(h.x) });
  const lean =
    cfg.mode === 'standard' && def.kind === 'spec' ? leanSpecOf(def.spec, width, classes) : undefined;
  if (lean) {
    const out = await trainLean({ ds, model, spec: lean, cfg, fx });
    if (std) foldStandardizer(model, std);
    return { ...built, ...out, seconds: (performance.now() - t0) / 1000 };
  }

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
    stepSeconds: (performance.now() - t0) / 1000,
    cached: false,
    workers: 1,
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
