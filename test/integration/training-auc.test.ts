import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySpecsCache } from '../../lib/dataset/cache.js';
import { parseWorkflow } from '../../lib/dataset/workflow.js';
import { openRoot } from '../../lib/root/file.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { runTrainingJob } from '../../lib/trainer/job.js';
import { initBackend } from '../../lib/training/backend.js';
import { hasShared, SYNTH_DIR } from '../helpers/reference.js';

/** The Bayes-optimal AUC of the synth pair (../shared/README.md), from the exact likelihood ratio. */
const BAYES_AUC = 0.862;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-auc-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasShared)('training quality on the full synth pair', () => {
  it(
    'the default model in standard mode reaches test AUC >= 0.85 (Bayes-optimal 0.862)',
    async () => {
      const backend = await initBackend();
      const w = parseWorkflow({
        name: 'synth-full',
        files: [join(SYNTH_DIR, 'signal.root'), join(SYNTH_DIR, 'background.root')],
        labels: [1, 0],
        // every event; the workflow's defaults otherwise (default model, standard mode)
        params: { branch: 'Events', nevts: -1, chunk_size: 50_000, epochs: 32, batch_size: 256 },
      });
      const t0 = performance.now();
      const outcome = await runTrainingJob(w, {
        dataset: { openFile: (s) => openRoot(s), cache: new MemorySpecsCache() },
        store: new LocalObjectStore(dir),
        backend,
      });
      const m = outcome.metrics;
      console.log(
        `synth-full (500k events, ${outcome.history.length} epochs, ${backend}, ${((performance.now() - t0) / 1000).toFixed(0)} s): test AUC ${m.auc?.toFixed(4)} on ${m.testEvents} events (Bayes-optimal ${BAYES_AUC})`,
      );
      expect(m.testEvents).toBe(100_000);
      expect(m.auc).toBeGreaterThanOrEqual(0.85);
      expect(m.auc).toBeLessThanOrEqual(BAYES_AUC + 0.005); // beyond the optimum would mean a leak
    },
    30 * 60_000,
  );
});
