/**
 * The held-out AUC of a model trained on the synth pair (`mlaas4hep train` writes it to a store):
 *   npx tsx bench/heldout-score.ts <store dir> <model name> [events per class, default 50000]
 * Raw branch values of a sample drawn from the synth densities with another seed (./heldout.ts)
 * go through the bundle's transform and the engine serving picks, as `/json` with branch names.
 */
import { featureRows } from '../lib/dataset/features.js';
import { transformEncoding } from '../lib/dataset/input-mapping.js';
import { ModelCache } from '../lib/serving/model-cache.js';
import { scoreRows } from '../lib/serving/scoring.js';
import { LocalObjectStore } from '../lib/storage/local.js';
import { initBackend } from '../lib/training/backend.js';
import { auc } from '../lib/training/metrics.js';
import { heldOutSample } from './heldout.js';

const [dir, name, perClass = '50000'] = process.argv.slice(2);
if (!dir || !name) throw new Error('usage: heldout-score.ts <store dir> <model name> [events per class]');
await initBackend();
const held = heldOutSample(Number(perClass), 20261202);
const cache = new ModelCache(new LocalObjectStore(dir));
const result = await cache.use(name, undefined, async (m) => {
  const t = m.params.transform!;
  const x = featureRows(held.columns, held.events, t.layout, transformEncoding(t), {
    truncatedEvents: 0,
    nonFinite: 0,
  });
  // the bundle's features, as an engine takes them (ONNX graphs of models trained here take raw values)
  const s = await scoreRows(m, m.inputs.fromFeatures(x, held.events), held.events);
  return { version: m.version, engine: m.choice.engine, auc: auc(s, held.labels) };
});
const bayes = auc(Float32Array.from(held.logRatio), held.labels);
console.log(
  JSON.stringify({
    model: name,
    ...result,
    events: held.events,
    bayes_auc: Number(bayes.toFixed(4)),
    auc: Number(result.auc.toFixed(4)),
  }),
);
