/**
 * Training and prediction throughput of the default model on the synth pair, measured in one run:
 *   npm run bench:train [-- --nevts 200000 --epochs 3 --mode standard]
 * Prints, last, one JSON line: training samples/s, prediction rows/s (batches of 1,000 and single
 * rows), the backend that ran, and the test AUC reached.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MemorySpecsCache } from '../lib/dataset/cache.js';
import { parseWorkflow } from '../lib/dataset/workflow.js';
import { openRoot } from '../lib/root/file.js';
import { LocalObjectStore } from '../lib/storage/local.js';
import { runTrainingJob } from '../lib/trainer/job.js';
import { initBackend } from '../lib/training/backend.js';
import { DEFAULT_MODEL } from '../lib/training/model-schema.js';
import { predictRows } from '../lib/training/train.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    nevts: { type: 'string', default: '200000' },
    epochs: { type: 'string', default: '3' },
    mode: { type: 'string', default: 'standard' },
    batch: { type: 'string', default: '256' },
    lr: { type: 'string' },
  },
});
const synth = join(process.cwd(), '../shared/data/synth');
const backend = await initBackend();
const dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-bench-'));
const w = parseWorkflow({
  name: 'bench',
  files: [join(synth, 'signal.root'), join(synth, 'background.root')],
  labels: [1, 0],
  params: {
    branch: 'Events',
    nevts: Number(values.nevts),
    chunk_size: 50_000,
    epochs: Number(values.epochs),
    batch_size: Number(values.batch),
  },
  training: { mode: values.mode },
  ...(values.lr ? { model: { ...DEFAULT_MODEL, learningRate: Number(values.lr) } } : {}),
});
const t0 = performance.now();
const outcome = await runTrainingJob(w, {
  dataset: { openFile: (s) => openRoot(s), cache: new MemorySpecsCache() },
  store: new LocalObjectStore(dir),
  backend,
  onProgress: (p) =>
    process.stderr.write(
      `\rchunk ${p.chunk}/${p.chunks} epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}   `,
    ),
});
const trainSeconds = (performance.now() - t0) / 1000;
process.stderr.write('\n');

const width = outcome.features;
const rate = (rows: number, fn: () => void): number => {
  fn(); // warm-up
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < 2000) {
    fn();
    n += rows;
  }
  return Math.round(n / ((performance.now() - start) / 1000));
};
// through predictRows, as `mlaas4hep predict` and the evaluation after training score rows
const batch = new Float32Array(1000 * width).map(() => Math.random());
const single = batch.subarray(0, width);
const predictBatch = rate(1000, () => predictRows(outcome.model, batch, width));
const predictSingle = rate(1, () => predictRows(outcome.model, single, width));
await rm(dir, { recursive: true, force: true });

console.error(
  `backend ${backend}; ${outcome.history.length} epochs in ${trainSeconds.toFixed(1)} s; test AUC ${outcome.metrics.auc?.toFixed(4)}`,
);
console.log(
  JSON.stringify({
    backend,
    events: Number(values.nevts),
    epochs: outcome.history.length,
    mode: values.mode,
    train_samples_per_s: Math.round(outcome.samplesPerSecond),
    train_seconds_total: Number(trainSeconds.toFixed(1)),
    predict_rows_per_s_batch_1000: predictBatch,
    predict_rows_per_s_single_row: predictSingle,
    test_auc: Number(outcome.metrics.auc?.toFixed(4)),
    test_events: outcome.metrics.testEvents,
  }),
);
