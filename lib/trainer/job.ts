import type * as tf from '@tensorflow/tfjs';
import { BundleStore } from '../bundles/bundle-store.js';
import { type BundleParams, checkModelName, newVersion } from '../bundles/params.js';
import { type DatasetDeps, prepareDataset } from '../dataset/dataset.js';
import { transformSpecOf } from '../dataset/transform.js';
import type { Workflow } from '../dataset/workflow.js';
import { type Limits, limitsFromEnv } from '../limits.js';
import type { ObjectStore } from '../storage/object-store.js';
import { trainWorkers } from '../training/lean/pool.js';
import {
  auc,
  confusionMatrix,
  macroAuc,
  multiclassAccuracy,
  oneVsRestAuc,
  rocCurve,
  scoreHistograms,
} from '../training/metrics.js';
import { serializeModel } from '../training/model-io.js';
import { checkModelBudget, parseModelDefinition } from '../training/model-schema.js';
import { lossCurveSvg, rocCurveSvg, scoreDistributionsSvg } from '../training/plots.js';
import { type EpochMetrics, type Progress, predictRows, trainModel } from '../training/train.js';
import { exportVerified } from './onnx-export.js';

export interface TrainingJobDeps {
  dataset: DatasetDeps;
  store: ObjectStore;
  backend: string;
  signal?: AbortSignal;
  onProgress?(p: Progress): void;
  onEpoch?(m: EpochMetrics): void;
  /** training threads (default: MLAAS4HEP_TRAIN_WORKERS, else one per core; see lib/training/lean/pool.ts) */
  workers?: number;
  /** lines for the job's log: what the physicist should know about the data (constant features, NaN) */
  log?(line: string): void;
  versions?: Record<string, string>;
  /**
   * Runs before the first file of the new version is written, and must succeed: the trainer
   * records there which version this job publishes (lib/trainer/publication.ts).
   */
  claim?(p: { name: string; version: string }): Promise<void>;
  /** the model's size and memory limits; default the deployment's (limitsFromEnv) */
  limits?: Limits;
}

export interface FinalMetrics {
  testEvents: number;
  auc?: number;
  accuracy: number;
  threshold?: number;
  confusion?: ReturnType<typeof confusionMatrix>;
  perClassAuc?: number[];
  roc?: Array<{ fpr: number; tpr: number; threshold: number }>;
  histograms?: ReturnType<typeof scoreHistograms>;
}

export interface TrainingOutcome {
  name: string;
  version?: string;
  interrupted: boolean;
  stoppedEarly: boolean;
  history: EpochMetrics[];
  metrics: FinalMetrics;
  samplesPerSecond: number;
  features: number;
  classes: Array<number | string>;
  /** test-split scores inside training, and where each test row comes from (files[file], entry) */
  testScores: Float32Array;
  testOrigin: { files: string[]; file: Uint16Array; entry: Float64Array };
  model: tf.LayersModel;
}

/** Evaluates on the held-back test split: AUC, ROC, accuracy and confusion at 0.5, score histograms. */
export function finalMetrics(scores: Float32Array, labels: Float32Array, classes: number): FinalMetrics {
  if (labels.length === 0) return { testEvents: 0, accuracy: Number.NaN };
  if (classes > 2) {
    const perClassAuc = oneVsRestAuc(scores, classes, labels);
    return {
      testEvents: labels.length,
      accuracy: multiclassAccuracy(scores, classes, labels),
      perClassAuc,
      auc: macroAuc(scores, classes, labels),
    };
  }
  const confusion = confusionMatrix(scores, labels, 0.5);
  return {
    testEvents: labels.length,
    auc: auc(scores, labels),
    accuracy: confusion.accuracy,
    threshold: 0.5,
    confusion,
    roc: rocCurve(scores, labels, 200),
    histograms: scoreHistograms(scores, labels, 50, [0, 1]),
  };
}

/**
 * One training job: dataset from the workflow, model from its spec, training, final evaluation on
 * the test split, plots, and a bundle written to the model store (unless interrupted).
 */
export async function runTrainingJob(
  w: Workflow,
  deps: TrainingJobDeps,
  name = w.name ?? 'model',
): Promise<TrainingOutcome> {
  checkModelName(name);
  const def = parseModelDefinition(w.model);
  const limits = deps.limits ?? limitsFromEnv();
  const ds = await prepareDataset(w, { ...deps.dataset, maxFiles: limits.maxFiles });
  try {
    // submit checked the model against a lower bound of its width; now the width is known
    checkModelBudget(
      def,
      { inputs: ds.layout.names.length, classes: ds.classes.length, batchSize: w.params.batch_size },
      limits,
    );
    for (const line of ds.warnings) deps.log?.(`warning: ${line}`);
    const res = await trainModel(ds, def, {
      mode: w.training.mode,
      standardize: w.training.standardize,
      lrSchedule: w.training.lr_schedule,
      epochs: w.params.epochs,
      batchSize: w.params.batch_size,
      seed: w.params.seed,
      earlyStopping: w.training.early_stopping && {
        patience: w.training.early_stopping.patience,
        minDelta: w.training.early_stopping.min_delta,
      },
      signal: deps.signal,
      onProgress: deps.onProgress,
      onEpoch: deps.onEpoch,
      backend: deps.backend,
      workers: deps.workers ?? trainWorkers(deps.backend),
    });
    deps.log?.(
      `trained on ${res.workers} thread(s), training rows ${res.cached ? 'kept in memory' : 'streamed from the files every epoch'}: ${Math.round(res.samples / Math.max(res.stepSeconds, 1e-9))} samples/s`,
    );
    const width = ds.layout.names.length;
    const classes = Math.max(2, ds.classes.length);
    const testScores = predictRows(res.model, res.test.x, width);
    const metrics = finalMetrics(testScores, res.test.y, classes);
    const outcome: TrainingOutcome = {
      name,
      interrupted: res.interrupted,
      stoppedEarly: res.stoppedEarly,
      history: res.history,
      metrics,
      samplesPerSecond: res.samples / Math.max(res.stepSeconds, 1e-9),
      features: width,
      classes: ds.classes,
      testScores,
      testOrigin: { files: ds.files, file: res.test.file!, entry: res.test.entry! },
      model: res.model,
    };
    if (res.interrupted) return outcome;
    const names = ds.classes.map(String);
    const extras: Record<string, string> = {
      'plots/loss.svg': lossCurveSvg(res.history, `${name}: loss per epoch`),
    };
    if (metrics.roc && metrics.auc !== undefined)
      extras['plots/roc.svg'] = rocCurveSvg(metrics.roc, metrics.auc, `${name}: ROC on the test split`);
    if (metrics.histograms)
      extras['plots/scores.svg'] = scoreDistributionsSvg(
        metrics.histograms,
        names,
        `${name}: scores on the test split`,
      );
    const timestamp = new Date().toISOString();
    const version = newVersion(new Date(timestamp));
    const transform = transformSpecOf(ds);
    // the model as ONNX too, encoding inside, checked against TensorFlow.js on the test split
    const exported = await exportVerified(
      res.model,
      transform,
      { files: ds.files, file: res.test.file!, entry: res.test.entry!, scores: testScores },
      deps.dataset,
      { name, version },
    );
    const params: BundleParams = {
      name,
      model: 'model.json',
      labels: 'labels.txt',
      inputNode: res.model.inputs[0].name,
      outputNode: res.model.outputs[0].name,
      description: `${def.kind === 'keras' ? 'Keras topology' : 'MLP'} trained by mlaas4hep on ${ds.files.length} file(s), ${ds.plan.total} events`,
      timestamp,
      version,
      features: ds.layout.names,
      classes: ds.classes,
      transform,
      onnx: exported.section,
      metrics: { test: { ...metrics, histograms: undefined }, history: res.history, onnx: exported.report },
      workflow: w,
      datasetFingerprint: ds.specs.key,
      backend: deps.backend,
      versions: deps.versions ?? {},
    };
    const bundles = new BundleStore(deps.store);
    const model = await serializeModel(res.model);
    await deps.claim?.({ name, version: params.version });
    await bundles.write({ params, ...model, onnx: exported.onnx, extras });
    await bundles.publish(name, params.version);
    outcome.version = params.version;
    return outcome;
  } finally {
    await ds.close();
  }
}
