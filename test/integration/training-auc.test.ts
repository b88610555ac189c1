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

describe.skipIf(!hasShared)('training quality on the synth pair', () => {
  it(
    'the default model with default settings reaches test AUC >= 0.85 in 5 epochs on 200k events (Bayes-optimal 0.862)',
    async () => {
      const backend = await initBackend();
      const w = parseWorkflow({
        name: 'synth-200k',
        files: [join(SYNTH_DIR, 'signal.root'), join(SYNTH_DIR, 'background.root')],
        labels: [1, 0],
        // 100k events of each file; everything else the workflow's defaults (model, encoding, epochs, batch)
        params: { branch: 'Events', nevts: 200_000, chunk_size: 50_000 },
      });
      const outcome = await runTrainingJob(w, {
        dataset: { openFile: (s) => openRoot(s), cache: new MemorySpecsCache() },
        store: new LocalObjectStore(dir),
        backend,
      });
      const m = outcome.metrics;
      console.log(
        `synth-200k (${outcome.history.length} epochs, ${backend}): test AUC ${m.auc?.toFixed(4)} on ${m.testEvents} events, validation AUC per epoch ${outcome.history.map((h) => h.valAuc?.toFixed(4)).join(' ')} (Bayes-optimal ${BAYES_AUC})`,
      );
      expect(outcome.history.length).toBeLessThanOrEqual(5);
      expect(m.testEvents).toBe(40_000);
      expect(m.auc).toBeGreaterThanOrEqual(0.85);
      expect(m.auc).toBeLessThanOrEqual(BAYES_AUC + 0.005); // beyond the optimum would mean a leak
      for (const h of outcome.history) expect(h.valAuc).toBeGreaterThan(0.5);
    },
    15 * 60_000,
  );
});
