import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFolder } from '../../lib/bundles/bundle-store.js';
import { MemorySpecsCache } from '../../lib/dataset/cache.js';
import { transformRecords } from '../../lib/dataset/transform.js';
import { parseWorkflow } from '../../lib/dataset/workflow.js';
import { openRoot } from '../../lib/root/file.js';
import { readColumns } from '../../lib/root/iterate.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { runTrainingJob } from '../../lib/trainer/job.js';
import { initBackend } from '../../lib/training/backend.js';
import { loadModel, type ModelJson } from '../../lib/training/model-io.js';
import { predictRows } from '../../lib/training/train.js';
import { hasShared, SYNTH_DIR } from '../helpers/reference.js';

const SIGNAL = join(SYNTH_DIR, 'signal.root');
const BRANCHES = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'nJet', 'Jet_eta', 'Jet_pt'];
let dir: string;
let backend: string;

beforeAll(async () => {
  // the real name: training worker threads start the same backend
  backend = await initBackend();
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-onnx-export-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function train(name: string, extra: Record<string, unknown>) {
  const store = new LocalObjectStore(join(dir, name));
  const outcome = await runTrainingJob(
    parseWorkflow({
      name,
      files: [SIGNAL, join(SYNTH_DIR, 'background.root')],
      labels: [1, 0],
      params: { branch: 'Events', nevts: 8_000, chunk_size: 4_000, epochs: 1, ...(extra.params as object) },
      ...(extra.model ? { model: extra.model } : {}),
    }),
    { dataset: { openFile: (s) => openRoot(s), cache: new MemorySpecsCache() }, store, backend },
  );
  return readFolder(store, `models/${name}/${outcome.version}`);
}

/** Raw values of the first events of signal.root: jets as lists (for tfjs) and NaN-padded slots (for the graph). */
async function firstEvents(n: number, jdim: number) {
  const f = await openRoot(SIGNAL);
  const { columns } = await readColumns(await f.tree('Events'), { branches: BRANCHES, entryStop: n });
  await f.close();
  const records = Array.from({ length: n }, (_, e) =>
    BRANCHES.map((b) => {
      const c = columns[b];
      return c.offsets
        ? Array.from(c.values.subarray(c.offsets[e], c.offsets[e + 1]) as Float32Array)
        : Number(c.values[e]);
    }),
  );
  const raw = records.flatMap((r) => {
    const slots = (v: number[]) => Array.from({ length: jdim }, (_, k) => (k < v.length ? v[k] : Number.NaN));
    return [...(r.slice(0, 9) as number[]), ...slots(r[9] as number[]), ...slots(r[10] as number[])];
  });
  return { records, raw: Float32Array.from(raw) };
}

describe.skipIf(!hasShared)('model.onnx of every model mlaas4hep trains', () => {
  it.each([
    ['the default model', 'default-mlp', {}],
    [
      'a model with batch normalisation, gelu, swish and the slot mask',
      'bn-mask',
      {
        params: { mask: true },
        model: {
          layers: [
            { type: 'dense', units: 32, activation: 'gelu' },
            { type: 'batchNormalization' },
            { type: 'dense', units: 16, activation: 'swish' },
          ],
        },
      },
    ],
  ])(
    '%s: verified in the trainer, and reproduced by ONNX Runtime on raw branch values',
    async (_t, name, extra) => {
      const bundle = await train(name as string, extra as Record<string, unknown>);
      const { params } = bundle;
      const report = params.metrics.onnx as { exported: boolean; maxAbsDiff: number; verifiedRows: number };
      expect(report.exported, JSON.stringify(report)).toBe(true);
      expect(report.maxAbsDiff).toBeLessThanOrEqual(1e-5);
      expect(report.verifiedRows).toBe((params.metrics.test as { testEvents: number }).testEvents);
      expect(bundle.onnx).toBeDefined();
      expect(params.onnx?.inputs[0].name).toBe('features');

      // independently of the trainer: the graph on raw values against tfjs on the bundle's encoding
      const t = params.transform!;
      const jdim = t.layout.jagged[0].jdim;
      const { records, raw } = await firstEvents(200, jdim);
      const session = await ort.InferenceSession.create(bundle.onnx!);
      const width = raw.length / 200;
      const out = await session.run({ features: new ort.Tensor('float32', raw, [200, width]) });
      const graph = out.probabilities.data as Float32Array;
      const model = await loadModel(
        JSON.parse(new TextDecoder().decode(bundle.modelJson)) as ModelJson,
        bundle.weights!,
      );
      const tfjs = predictRows(model, transformRecords(t, BRANCHES, records), params.features.length);
      const worst = Math.max(...Array.from(graph, (g, i) => Math.abs(g - tfjs[i])));
      console.log(
        `${name}: ONNX Runtime vs TensorFlow.js on 200 raw events, max abs difference ${worst.toExponential(2)}`,
      );
      expect(worst).toBeLessThanOrEqual(1e-5);
      await session.release();
      model.dispose();
      // the graph and its inputs are what the bundle says
      expect(
        await readFile(join(dir, name as string, 'models', name as string, params.version, 'model.onnx')),
      ).toEqual(Buffer.from(bundle.onnx!));
    },
    240_000,
  );
});
