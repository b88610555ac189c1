import type * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../dataset/dataset.js';
import { deriveSeed, seededRandom, shuffleInPlace } from '../dataset/random.js';
import { TEST, TRAIN, VALIDATION } from '../dataset/split.js';
import { flatWeights, type LeanNetSpec, setFlatWeights } from './lean/net.js';
import { type StepRunner, startRunner } from './lean/pool.js';
import { Collector, evaluate, type Held, part } from './rows.js';
import type { EpochMetrics, TrainConfig, TrainResult } from './train.js';

/**
 * The prepared training rows are kept in memory, and every epoch after the first trains from
 * there, when they take at most this many bytes: 512 MiB (3 million events of 43 features).
 * MLAAS4HEP_TRAIN_CACHE_MB overrides it; 0 streams every epoch from the files.
 */
export function trainCacheBytes(env = process.env.MLAAS4HEP_TRAIN_CACHE_MB): number {
  if (env === undefined || env === '') return 512 * 2 ** 20;
  const mb = Number(env);
  if (!Number.isFinite(mb) || mb < 0)
    throw new Error(`MLAAS4HEP_TRAIN_CACHE_MB must be a number of MiB >= 0, got "${env}"`);
  return mb * 2 ** 20;
}

export interface LeanRun {
  ds: Dataset;
  model: tf.LayersModel;
  spec: LeanNetSpec;
  cfg: TrainConfig;
  /** the encoding applied on top of the dataset's (min-max standardisation), per row block */
  fx(x: Float32Array): Float32Array;
}

/** What the lean path gives back: the part of TrainResult it measures (the caller adds the model). */
export type LeanOutcome = Pick<
  TrainResult,
  | 'history'
  | 'test'
  | 'validation'
  | 'interrupted'
  | 'stoppedEarly'
  | 'samples'
  | 'stepSeconds'
  | 'cached'
  | 'workers'
>;

const TRAIN_METRIC_ROWS = 20_000;

/**
 * Standard-mode training of a declarative model with the lean step (./lean/net.ts): every epoch
 * passes over all training rows, from memory when they fit the cache budget (shuffled anew each
 * epoch), else chunk by chunk from the files as MLaaS4HEP streams them. Validation loss, accuracy
 * and AUC after each epoch; early stopping restores the best epoch's weights.
 */
export async function trainLean(r: LeanRun): Promise<LeanOutcome> {
  const { ds, model, cfg } = r;
  const width = ds.layout.names.length;
  const classes = Math.max(2, ds.classes.length);
  const chunks = ds.plan.chunks.length;
  const test = new Collector(width);
  const validation = new Collector(width);
  const history: EpochMetrics[] = [];
  const bytes = ds.plan.total * (width + 1) * 4;
  const cached = bytes <= (cfg.cacheBytes ?? trainCacheBytes());
  const runner: StepRunner = await startRunner(
    r.spec,
    flatWeights(model),
    cfg.workers ?? 1,
    cfg.backend ?? 'wasm',
  );
  const lr0 = r.spec.learningRate;
  let samples = 0;
  let step = 0;
  let stepSeconds = 0;
  let interrupted = false;
  let stoppedEarly = false;
  let best = Number.POSITIVE_INFINITY;
  let bestWeights: Float32Array | undefined;
  let since = 0;
  let heldOut: Held | undefined;
  let trainSample: Held | undefined;

  const pass = async (x: Float32Array, y: Float32Array, order: Int32Array, lr: number) => {
    const s0 = performance.now();
    const res = await runner.run(
      { x, y, order, batch: cfg.batchSize, learningRate: lr, firstStep: step, seed: cfg.seed },
      cfg.signal,
    );
    stepSeconds += (performance.now() - s0) / 1000;
    step += res.steps;
    samples += res.rows;
    if (res.stopped) interrupted = true;
    return res;
  };
  const progress = (chunk: number, epoch: number, loss: number, valAuc?: number) =>
    cfg.onProgress?.({
      chunk,
      chunks,
      epoch,
      epochs: cfg.epochs,
      loss,
      samplesPerSecond: samples / Math.max(stepSeconds, 1e-9),
      valAuc,
    });

  // the cache: every chunk's training rows, gathered in the first read of the files
  let cx: Float32Array | undefined;
  let cy: Float32Array | undefined;
  let cachedRows = 0;
  try {
    const fill0 = performance.now();
    if (cached) {
      cx = new Float32Array(new SharedArrayBuffer(ds.plan.total * width * 4));
      cy = new Float32Array(new SharedArrayBuffer(ds.plan.total * 4));
      for await (const c of ds.chunks()) {
        test.add(part(c, TEST, 0));
        validation.add(part(c, VALIDATION, 0));
        const t = part(c, TRAIN, deriveSeed(cfg.seed, c.index, 1));
        cx.set(r.fx(t.x), cachedRows * width);
        cy.set(t.y, cachedRows);
        cachedRows += t.y.length;
      }
      const n = Math.min(cachedRows, TRAIN_METRIC_ROWS);
      trainSample = { x: cx.slice(0, n * width), y: cy.slice(0, n), rows: n };
    }
    const cacheFill = performance.now() - fill0;
    // the first epoch of a cached run includes the read that fills the cache
    let epochStart = performance.now() - cacheFill;
    for (let epoch = 1; epoch <= cfg.epochs && !interrupted; epoch++) {
      const lr =
        (cfg.lrSchedule ?? 'cosine') === 'cosine' && cfg.epochs > 1
          ? lr0 / 20 + (lr0 - lr0 / 20) * 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / (cfg.epochs - 1)))
          : lr0;
      let lossSum = 0;
      let rows = 0;
      if (cx && cy) {
        const order = Int32Array.from({ length: cachedRows }, (_, i) => i);
        shuffleInPlace(order, seededRandom(deriveSeed(cfg.seed, epoch, 11)));
        const res = await pass(cx, cy, order, lr);
        lossSum += res.lossSum;
        rows += res.rows;
      } else {
        for await (const c of ds.chunks()) {
          if (epoch === 1) {
            test.add(part(c, TEST, 0));
            validation.add(part(c, VALIDATION, 0));
          }
          const t = part(c, TRAIN, deriveSeed(cfg.seed, c.index, epoch));
          const x = r.fx(t.x);
          const res = await pass(
            x,
            t.y,
            Int32Array.from({ length: t.y.length }, (_, i) => i),
            lr,
          );
          lossSum += res.lossSum;
          rows += res.rows;
          trainSample = { x, y: t.y, rows: t.y.length };
          progress(c.index + 1, epoch, res.rows ? res.lossSum / res.rows : Number.NaN);
          if (interrupted) break;
        }
      }
      // a partial epoch (interrupted) leaves the history as it was
      if (interrupted) break;
      const weights = runner.values();
      setFlatWeights(model, weights);
      if (!heldOut) {
        const h = validation.held();
        heldOut = { ...h, x: r.fx(h.x) };
      }
      const v = evaluate(model, heldOut, width, classes);
      const tr = trainSample ? evaluate(model, trainSample, width, classes) : undefined;
      const loss = rows ? lossSum / rows : Number.NaN;
      history.push({
        epoch,
        loss,
        accuracy: tr?.accuracy ?? Number.NaN,
        auc: tr?.auc,
        valLoss: v.loss,
        valAccuracy: v.accuracy,
        valAuc: v.auc,
        learningRate: lr,
        seconds: (performance.now() - epochStart) / 1000,
      });
      cfg.onEpoch?.(history.at(-1)!);
      epochStart = performance.now();
      progress(chunks, epoch, loss, v.auc);
      if (cfg.earlyStopping && Number.isFinite(v.loss)) {
        if (v.loss < best - (cfg.earlyStopping.minDelta ?? 0)) {
          best = v.loss;
          since = 0;
          bestWeights = weights;
        } else if (++since >= cfg.earlyStopping.patience) {
          stoppedEarly = true;
          break;
        }
      }
    }
    setFlatWeights(model, stoppedEarly && bestWeights ? bestWeights : runner.values());
  } finally {
    await runner.close();
  }
  return {
    history,
    test: test.held(),
    validation: validation.held(),
    interrupted,
    stoppedEarly,
    samples,
    stepSeconds,
    cached,
    workers: runner.workers,
  };
}
