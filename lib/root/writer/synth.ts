import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError } from '../../errors.js';
import { RootFileWriter } from './file-writer.js';
import { Random } from './random.js';
import type { TreeWriter } from './tree-writer.js';

/** The densities of one sample; see shared/README.md for the signal/background pair. */
export interface SampleDensity {
  /** means of the unit-variance normal features f0..f7 */
  featureMeans: readonly number[];
  /** Poisson mean of nJet */
  meanJets: number;
  /** exponential scale of Jet_pt */
  ptScale: number;
  /** normal width of Jet_eta (mean 0) */
  etaWidth: number;
}

export const SIGNAL: SampleDensity = {
  featureMeans: [0.3, 0.3, 0.2, 0.2, 0.1, 0.1, 0, 0],
  meanJets: 4,
  ptScale: 40,
  etaWidth: 1.5,
};

export const BACKGROUND: SampleDensity = {
  featureMeans: [0, 0, 0, 0, 0, 0, 0, 0],
  meanJets: 3,
  ptScale: 30,
  etaWidth: 2.5,
};

export interface SynthOptions {
  outDir: string;
  /** entries per file (default 250,000) */
  events?: number;
  seed?: number;
  /** entries per basket (default 8000) */
  basketEntries?: number;
  /** zlib level (default 4) */
  compression?: number;
}

export interface SynthFiles {
  signal: string;
  background: string;
}

const FEATURES = 8;
const EVENTS_PER_LUMI = 1000;
/** streams of the generator for the two samples, so that they are independent for one seed */
const SIGNAL_STREAM = 1;
const BACKGROUND_STREAM = 2;

function declare(tree: TreeWriter): void {
  for (let i = 0; i < FEATURES; i++) tree.branch(`f${i}`, 'F');
  tree.branch('run', 'I').branch('luminosityBlock', 'I').branch('event', 'L').branch('nJet', 'I');
  tree.branch('Jet_pt', 'F', { counter: 'nJet' }).branch('Jet_eta', 'F', { counter: 'nJet' });
}

/** Generates entries [first, first + n) of a sample as one chunk of columns. */
function slice(rng: Random, d: SampleDensity, first: number, n: number) {
  const f = Array.from({ length: FEATURES }, () => new Float32Array(n));
  const run = new Int32Array(n).fill(1);
  const lumi = new Int32Array(n);
  const event = new Float64Array(n);
  const nJet = new Int32Array(n);
  // Jets are generated before their count is summed, so collect them in scratch space first.
  let pt = new Float32Array(n * (d.meanJets + 4));
  let eta = new Float32Array(pt.length);
  let jets = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < FEATURES; k++) f[k][i] = d.featureMeans[k] + rng.normal();
    const global = first + i;
    lumi[i] = 1 + Math.floor(global / EVENTS_PER_LUMI);
    event[i] = global + 1;
    const m = rng.poisson(d.meanJets);
    nJet[i] = m;
    if (jets + m > pt.length) {
      const grow = (a: Float32Array) => {
        const b = new Float32Array(2 * a.length + m);
        b.set(a);
        return b;
      };
      pt = grow(pt);
      eta = grow(eta);
    }
    for (let j = 0; j < m; j++, jets++) {
      pt[jets] = rng.exponential(d.ptScale);
      eta[jets] = d.etaWidth * rng.normal();
    }
  }
  const columns: Record<string, Float32Array | Int32Array | Float64Array> = {
    run,
    luminosityBlock: lumi,
    event,
    nJet,
    Jet_pt: pt.subarray(0, jets),
    Jet_eta: eta.subarray(0, jets),
  };
  for (let k = 0; k < FEATURES; k++) columns[`f${k}`] = f[k];
  return columns;
}

async function writeSample(
  path: string,
  d: SampleDensity,
  rng: Random,
  events: number,
  basketEntries: number,
  compression: number,
): Promise<void> {
  const file = await RootFileWriter.open(path, { compression });
  try {
    const tree = file.tree('Events', { basketEntries });
    declare(tree);
    // One basket's worth at a time: memory stays bounded whatever the number of events.
    for (let first = 0; first < events; first += basketEntries) {
      await tree.append(slice(rng, d, first, Math.min(basketEntries, events - first)));
    }
  } finally {
    await file.close();
  }
}

/**
 * Writes `signal.root` and `background.root` (tree `Events`) into `outDir`, with the densities of
 * SIGNAL and BACKGROUND. The same seed gives the same values.
 */
export async function generateSynth(options: SynthOptions): Promise<SynthFiles> {
  const { outDir, events = 250_000, seed = 42, basketEntries = 8000, compression = 4 } = options;
  if (!Number.isInteger(events) || events < 0) {
    throw new InvalidInputError(`events must be a non-negative integer, not ${events}`);
  }
  await mkdir(outDir, { recursive: true });
  const files = { signal: join(outDir, 'signal.root'), background: join(outDir, 'background.root') };
  await Promise.all([
    writeSample(files.signal, SIGNAL, new Random(seed, SIGNAL_STREAM), events, basketEntries, compression),
    writeSample(
      files.background,
      BACKGROUND,
      new Random(seed, BACKGROUND_STREAM),
      events,
      basketEntries,
      compression,
    ),
  ]);
  return files;
}
