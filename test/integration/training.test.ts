import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predict } from '../../bin/commands/predict.js';
import { MemorySpecsCache } from '../../lib/dataset/cache.js';
import { parseWorkflow } from '../../lib/dataset/workflow.js';
import { JobStore } from '../../lib/jobs/job-store.js';
import { openRoot } from '../../lib/root/file.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { runTrainingJob, type TrainingOutcome } from '../../lib/trainer/job.js';
import { runJob } from '../../lib/trainer/trainer.js';
import { initBackend } from '../../lib/training/backend.js';
import { hasShared, SYNTH_DIR } from '../helpers/reference.js';

const SIGNAL = join(SYNTH_DIR, 'signal.root');
const BACKGROUND = join(SYNTH_DIR, 'background.root');
const small = (extra: Record<string, unknown> = {}) =>
  parseWorkflow({
    name: 'synth-small',
    files: [SIGNAL, BACKGROUND],
    labels: [1, 0],
    params: { branch: 'Events', nevts: 20_000, chunk_size: 10_000, epochs: 2, batch_size: 256 },
    ...extra,
  });

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

let dir: string;
let store: LocalObjectStore;
let backend: string;
const deps = () => ({
  dataset: { openFile: (s: string) => openRoot(s), cache: new MemorySpecsCache() },
  store,
  backend,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-train-'));
  store = new LocalObjectStore(dir);
  backend = await initBackend();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasShared)('training', () => {
  let outcome: TrainingOutcome;

  it('trains the default model in standard mode, evaluates on the held-back test split and writes a bundle', async () => {
    outcome = await runTrainingJob(small(), deps());
    const m = outcome.metrics;
    console.log(
      `synth-small (20k events, 2 epochs): test AUC ${m.auc?.toFixed(4)} on ${m.testEvents} events, ${backend} backend`,
    );
    expect(m.testEvents).toBe(4_000);
    expect(m.auc).toBeGreaterThan(0.6); // learning, on little data; the full-data figure is printed by bench:train
    expect(outcome.history).toHaveLength(2);
    const base = join(dir, 'models', 'synth-small', outcome.version!);
    const params = JSON.parse(await readFile(join(base, 'params.json'), 'utf8'));
    expect(params).toMatchObject({
      name: 'synth-small',
      model: 'model.json',
      labels: 'labels.txt',
      classes: [0, 1],
    });
    expect(params.features).toHaveLength(outcome.features);
    expect(await readFile(join(base, 'labels.txt'), 'utf8')).toBe('0\n1\n');
    for (const plot of ['loss', 'roc', 'scores'])
      expect(await readFile(join(base, 'plots', `${plot}.svg`), 'utf8')).toMatch(/^<svg/);
    expect((await readFile(join(dir, 'models', 'synth-small', 'latest'), 'utf8')).trim()).toBe(
      outcome.version,
    );
  });

  it('is reproducible: the same seed gives the same test scores', async () => {
    const again = await runTrainingJob(small({ name: 'synth-again' }), deps());
    expect(Array.from(again.testScores.subarray(0, 50))).toEqual(
      Array.from(outcome.testScores.subarray(0, 50)),
    );
  });

  it('mlaas4hep predict reproduces, within 1e-5, the scores the model gave the same events in training', async () => {
    const out = new Capture();
    const bundle = join(dir, 'models', 'synth-small', outcome.version!);
    await predict(['--model', bundle, SIGNAL, '--tree', 'Events'], out);
    const lines = out.text.trim().split('\n');
    expect(lines[0]).toBe('entry,score');
    expect(lines).toHaveLength(250_001);
    const scores = new Float64Array(250_000);
    for (const l of lines.slice(1)) {
      const [e, s] = l.split(',');
      scores[Number(e)] = Number(s);
    }
    const { file, entry } = outcome.testOrigin;
    let compared = 0;
    for (let i = 0; i < file.length; i++) {
      if (outcome.testOrigin.files[file[i]] !== SIGNAL) continue;
      expect(Math.abs(scores[entry[i]] - outcome.testScores[i])).toBeLessThan(1e-5);
      compared++;
    }
    expect(compared).toBe(2_000);
  });

  it('chunk mode (MLaaS4HEP) trains the given epochs on each chunk in turn', async () => {
    const chunk = await runTrainingJob(small({ name: 'synth-chunk', training: { mode: 'chunk' } }), deps());
    expect(chunk.history.map((h) => [h.chunk, h.epoch])).toEqual([
      [1, 1],
      [1, 2],
      [2, 1],
      [2, 2],
    ]);
    expect(chunk.metrics.auc).toBeGreaterThan(0.65);
  });
});

describe.skipIf(!hasShared)('trainer jobs', () => {
  it('runs a queued job to succeeded, recording the model and metrics', async () => {
    const jobs = new JobStore(store);
    const job = await jobs.create('alice', {
      ...small({ name: 'job-model' }),
      params: { ...small().params, epochs: 1 },
    });
    const rec = await runJob(job.id, { jobs, models: store, dataset: deps().dataset, backend, pollMs: 100 });
    expect(rec.status).toBe('succeeded');
    expect(rec.model?.name).toBe('job-model');
    expect(rec.attempts).toBe(1);
    expect(await jobs.logs(job.id)).toMatch(/finished: model job-model/);
  });

  it('a shutdown signal stops training at a batch boundary and records the job as interrupted; it resumes later', async () => {
    const jobs = new JobStore(store);
    const w = small({ name: 'job-interrupted' });
    const job = await jobs.create('bob', { ...w, params: { ...w.params, epochs: 30 } });
    // the signal comes once the job reports training progress (a fixed delay raced training)
    const shutdown = new AbortController();
    const watch = setInterval(async () => {
      if ((await jobs.get(job.id)).progress) {
        clearInterval(watch);
        shutdown.abort();
      }
    }, 50);
    const rec = await runJob(job.id, {
      jobs,
      models: store,
      dataset: deps().dataset,
      backend,
      shutdown: shutdown.signal,
      pollMs: 100,
    });
    expect(rec.status).toBe('interrupted');
    const again = await runJob(job.id, {
      jobs,
      models: store,
      dataset: deps().dataset,
      backend,
      pollMs: 100,
    });
    expect(again.status).toBe('succeeded');
    expect(again.attempts).toBe(2);
  });

  it('a bad workflow fails the job with a message the physicist can act on', async () => {
    const jobs = new JobStore(store);
    const job = await jobs.create('carol', { ...small(), params: { ...small().params, branch: 'events' } });
    const rec = await runJob(job.id, { jobs, models: store, dataset: deps().dataset, backend });
    expect(rec.status).toBe('failed');
    expect(rec.error).toMatch(/no TTree named "events".*Events/);
  });
});
