import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predict } from '../../bin/commands/predict.js';
import { MemorySpecsCache } from '../../lib/dataset/cache.js';
import { parseWorkflow } from '../../lib/dataset/workflow.js';
import { openRoot } from '../../lib/root/index.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { runTrainingJob } from '../../lib/trainer/job.js';
import { initBackend } from '../../lib/training/backend.js';
import { ROOT_DIR } from '../helpers/reference.js';

const MUONS = join(ROOT_DIR, 'Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root');

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe.skipIf(!existsSync(MUONS))('a training workflow on an RNTuple', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-rntuple-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('trains on the Run2012 muons (one class per side of nMuon >= 2) and predicts on the same RNTuple', async () => {
    const store = new LocalObjectStore(dir);
    const backend = await initBackend();
    // the label is a cut; nMuon itself is kept out of the features, which are the padded muon collections
    const workflow = parseWorkflow({
      name: 'muons',
      files: [MUONS],
      labels: 'dimuon',
      params: {
        branch: 'Events',
        nevts: -1,
        chunk_size: 500,
        epochs: 8,
        batch_size: 32,
        exclude_branches: ['nMuon'],
      },
      preproc: { define: { dimuon: 'nMuon >= 2' } },
    });
    const outcome = await runTrainingJob(workflow, {
      dataset: { openFile: (s: string) => openRoot(s), cache: new MemorySpecsCache() },
      store,
      backend,
    });
    const m = outcome.metrics;
    console.log(
      `Run2012 muons, nMuon >= 2 from the muon collections: test AUC ${m.auc?.toFixed(4)} on ${m.testEvents} events`,
    );
    expect(outcome.features).toBeGreaterThan(5 * 2);
    expect(m.testEvents).toBeGreaterThan(100);
    expect(m.auc).toBeGreaterThan(0.8);

    const out = new Capture();
    await predict(['--model', join(dir, 'models', 'muons', outcome.version!), MUONS], out);
    const lines = out.text.trim().split('\n');
    expect(lines[0]).toBe('entry,score');
    expect(lines).toHaveLength(1001);
    const scores = lines.slice(1).map((l) => Number(l.split(',')[1]));
    expect(scores.every((s) => s >= 0 && s <= 1)).toBe(true);
  });
});
