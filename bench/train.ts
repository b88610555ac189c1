/**
 * Training quality and speed on the synth pair, and PyTorch's on the same rows, in one run:
 *   npm run bench:train [-- --nevts 200000 --epochs 5 --batch 256 --lr 0.002]
 * Our model is trained by `runTrainingJob` with the workflow's defaults (unless overridden), then
 * scored on a held-out sample drawn from the synth densities with another seed (./heldout.ts),
 * encoded by the bundle's own transform. When /usr/bin/python3 has torch, bench/torch_peer.py
 * trains the same model on the same encoded training rows with the same batch size, optimizer and
 * schedule (OMP_WAIT_POLICY=PASSIVE) and scores the same held-out rows.
 * Prints figures on stderr and, last, one JSON line: auc_5ep (held-out AUC after the epochs),
 * samples_per_s, torch_samples_per_s, ratio_to_torch, and more.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BundleStore } from '../lib/bundles/bundle-store.js';
import { MemorySpecsCache } from '../lib/dataset/cache.js';
import { prepareDataset } from '../lib/dataset/dataset.js';
import { featureRows } from '../lib/dataset/features.js';
import { transformEncoding } from '../lib/dataset/input-mapping.js';
import { TRAIN, VALIDATION } from '../lib/dataset/split.js';
import { parseWorkflow } from '../lib/dataset/workflow.js';
import { openRoot } from '../lib/root/file.js';
import { LocalObjectStore } from '../lib/storage/local.js';
import { runTrainingJob } from '../lib/trainer/job.js';
import { initBackend } from '../lib/training/backend.js';
import { auc } from '../lib/training/metrics.js';
import { DEFAULT_MODEL, type ModelSpec } from '../lib/training/model-schema.js';
import { Collector, part } from '../lib/training/rows.js';
import { predictRows } from '../lib/training/train.js';
import { heldOutSample } from './heldout.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    nevts: { type: 'string', default: '200000' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    workers: { type: 'string' },
    heldout: { type: 'string', default: '50000' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const synth = join(process.cwd(), '../shared/data/synth');
const backend = await initBackend();
const dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-bench-'));
const spec: ModelSpec = values.lr ? { ...DEFAULT_MODEL, learningRate: Number(values.lr) } : DEFAULT_MODEL;
const w = parseWorkflow({
  name: 'bench',
  files: [join(synth, 'signal.root'), join(synth, 'background.root')],
  labels: [1, 0],
  params: {
    branch: 'Events',
    nevts: Number(values.nevts),
    chunk_size: 50_000,
    ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
    ...(values.batch ? { batch_size: Number(values.batch) } : {}),
  },
  ...(values.lr ? { model: spec } : {}),
});
const store = new LocalObjectStore(dir);
const t0 = performance.now();
const outcome = await runTrainingJob(w, {
  dataset: { openFile: (s) => openRoot(s), cache: new MemorySpecsCache() },
  store,
  backend,
  ...(values.workers ? { workers: Number(values.workers) } : {}),
  log: (line) => process.stderr.write(`\n${line}\n`),
  onProgress: (p) =>
    process.stderr.write(
      `\rchunk ${p.chunk}/${p.chunks} epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}${p.valAuc !== undefined ? ` validation AUC ${p.valAuc.toFixed(4)}` : ''}   `,
    ),
});
const trainSeconds = (performance.now() - t0) / 1000;
process.stderr.write('\n');

// the held-out sample, encoded by the bundle's transform as serving encodes raw values
const params = await new BundleStore(store).params('bench', outcome.version!);
const transform = params!.transform!;
const held = heldOutSample(Number(values.heldout), 20261202);
const hx = featureRows(held.columns, held.events, transform.layout, transformEncoding(transform), {
  truncatedEvents: 0,
  nonFinite: 0,
});
const ours = auc(predictRows(outcome.model, hx, outcome.features), held.labels);
const bayes = auc(Float32Array.from(held.logRatio), held.labels);
const epochs = outcome.history.length;
const last = outcome.history.at(-1);
process.stderr.write(
  `ours: backend ${backend}, ${epochs} epochs in ${trainSeconds.toFixed(1)} s (whole job), ${Math.round(outcome.samplesPerSecond)} samples/s in training steps; ` +
    `held-out AUC ${ours.toFixed(4)}, test AUC ${outcome.metrics.auc?.toFixed(4)}, validation AUC ${last?.valAuc?.toFixed(4)} (Bayes-optimal on the held-out sample ${bayes.toFixed(4)})\n`,
);

// PyTorch on the same rows, when it is installed
interface Peer {
  torch: string;
  threads: number;
  samples_per_s: number;
  auc_validation: number;
  auc_heldout: number;
}
let peer: Peer | undefined;
const hasTorch = spawnSync(values.python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) process.stderr.write(`PyTorch peer skipped: ${values.python} cannot import torch\n`);
else {
  const ds = await prepareDataset(w, { openFile: (s) => openRoot(s), cache: new MemorySpecsCache() });
  const width = ds.layout.names.length;
  const train = new Collector(width);
  const validation = new Collector(width);
  for await (const c of ds.chunks()) {
    train.add(part(c, TRAIN, 1));
    validation.add(part(c, VALIDATION, 0));
  }
  await ds.close();
  const t = train.held();
  const v = validation.held();
  const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  await writeFile(join(dir, 'train_x.bin'), bytes(t.x));
  await writeFile(join(dir, 'train_y.bin'), bytes(t.y));
  await writeFile(join(dir, 'validation_x.bin'), bytes(v.x));
  await writeFile(join(dir, 'validation_y.bin'), bytes(v.y));
  await writeFile(join(dir, 'heldout_x.bin'), bytes(hx));
  await writeFile(join(dir, 'heldout_y.bin'), bytes(held.labels));
  await writeFile(
    join(dir, 'meta.json'),
    JSON.stringify({
      width,
      epochs: w.params.epochs,
      batch: w.params.batch_size,
      lr: spec.learningRate,
      seed: w.params.seed,
      layers: spec.layers,
      threads: availableParallelism(),
    }),
  );
  const r = spawnSync(values.python, [join(process.cwd(), 'bench/torch_peer.py'), dir], {
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
    encoding: 'utf8',
  });
  if (r.status !== 0) process.stderr.write(`PyTorch peer failed: ${r.stderr}\n`);
  else {
    peer = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Peer;
    process.stderr.write(
      `PyTorch ${peer.torch} (${peer.threads} threads), same model, encoding, rows, batch and schedule: ${peer.samples_per_s} samples/s, held-out AUC ${peer.auc_heldout}, validation AUC ${peer.auc_validation}\n`,
    );
  }
}
await rm(dir, { recursive: true, force: true });

const samples = Math.round(outcome.samplesPerSecond);
console.log(
  JSON.stringify({
    backend,
    events: Number(values.nevts),
    epochs,
    batch: w.params.batch_size,
    learning_rate: spec.learningRate,
    auc_5ep: Number(ours.toFixed(4)),
    test_auc: Number(outcome.metrics.auc?.toFixed(4)),
    bayes_auc_heldout: Number(bayes.toFixed(4)),
    samples_per_s: samples,
    train_seconds_total: Number(trainSeconds.toFixed(1)),
    torch_samples_per_s: peer?.samples_per_s ?? null,
    torch_auc_5ep: peer?.auc_heldout ?? null,
    ratio_to_torch: peer ? Number((samples / peer.samples_per_s).toFixed(3)) : null,
  }),
);
