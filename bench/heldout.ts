/**
 * A held-out synth sample: events drawn from the densities ../shared/README.md documents for
 * data/synth (another seed than the files'), as raw branch columns, with the exact log-likelihood
 * ratio of each event, whose AUC is the Bayes-optimal one (0.862).
 */
import type { NumColumn } from '../lib/dataset/columns.js';
import { seededRandom } from '../lib/dataset/random.js';

const MU = [0.3, 0.3, 0.2, 0.2, 0.1, 0.1, 0, 0];
const SIGNAL = { jets: 4, ptScale: 40, etaSigma: 1.5 };
const BACKGROUND = { jets: 3, ptScale: 30, etaSigma: 2.5 };

export interface HeldOut {
  columns: Record<string, NumColumn>;
  labels: Float32Array;
  /** log p(x | signal) - log p(x | background) */
  logRatio: Float64Array;
  events: number;
}

export function heldOutSample(perClass: number, seed: number): HeldOut {
  const rnd = seededRandom(seed);
  const normal = () => {
    let u = 0;
    while (u === 0) u = rnd();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
  const poisson = (lambda: number) => {
    const l = Math.exp(-lambda);
    let k = 0;
    let p = rnd();
    while (p > l) {
      k++;
      p *= rnd();
    }
    return k;
  };
  const events = 2 * perClass;
  const f = MU.map(() => new Float64Array(events));
  const nJet = new Float64Array(events);
  const offsets = new Int32Array(events + 1);
  const pt: number[] = [];
  const eta: number[] = [];
  const labels = new Float32Array(events);
  const logRatio = new Float64Array(events);
  const logNormal = (x: number, s: number) => -Math.log(s) - (x * x) / (2 * s * s);
  for (let i = 0; i < events; i++) {
    const sig = i < perClass;
    const d = sig ? SIGNAL : BACKGROUND;
    labels[i] = sig ? 1 : 0;
    let lr = 0;
    for (let j = 0; j < MU.length; j++) {
      const v = Math.fround((sig ? MU[j] : 0) + normal());
      f[j][i] = v;
      lr += MU[j] * v - (MU[j] * MU[j]) / 2;
    }
    const n = poisson(d.jets);
    nJet[i] = n;
    lr += n * Math.log(SIGNAL.jets / BACKGROUND.jets) - (SIGNAL.jets - BACKGROUND.jets);
    for (let k = 0; k < n; k++) {
      const p = Math.fround(-Math.log(1 - rnd()) * d.ptScale);
      const e = Math.fround(normal() * d.etaSigma);
      pt.push(p);
      eta.push(e);
      lr +=
        -Math.log(SIGNAL.ptScale) -
        p / SIGNAL.ptScale +
        Math.log(BACKGROUND.ptScale) +
        p / BACKGROUND.ptScale +
        logNormal(e, SIGNAL.etaSigma) -
        logNormal(e, BACKGROUND.etaSigma);
    }
    offsets[i + 1] = pt.length;
    logRatio[i] = lr;
  }
  const columns: Record<string, NumColumn> = { nJet: { values: nJet } };
  f.forEach((v, j) => {
    columns[`f${j}`] = { values: v };
  });
  columns.Jet_pt = { values: Float64Array.from(pt), offsets };
  columns.Jet_eta = { values: Float64Array.from(eta), offsets: offsets.slice() };
  return { columns, labels, logRatio, events };
}
