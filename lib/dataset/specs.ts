import { createHash } from 'node:crypto';
import type { EntrySource } from '../root/entry-source.js';
import { iterate } from '../root/iterate.js';
import { type NumColumn, numeric } from './columns.js';
import type { BranchSpec } from './features.js';
import { addColumn, emptyMoments, mergeMoments } from './moments.js';
import { applyPreproc, type Preprocessing } from './preproc.js';
import type { Selection } from './selection.js';

/** What the first pass learns from one file. */
export interface FileSpecs {
  source: string;
  fingerprint: string;
  entries: number;
  /** events that pass the cuts */
  events: number;
  branches: Record<string, BranchSpec>;
  /** distinct values of the label branch, when labels come from a branch */
  labelValues?: number[];
}

export interface GlobalSpecs {
  version: 1;
  key: string;
  tree: string;
  files: FileSpecs[];
  branches: Record<string, BranchSpec>;
}

/** What the first pass gathers about one feature branch: range, longest entry, moments, bad values. */
export class BranchAccumulator {
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  jdim = 0;
  jagged = false;
  nonFinite = 0;
  readonly moments = emptyMoments();

  add(c: NumColumn, n: number): void {
    const v = c.values;
    let { min, max } = this;
    // NaN never passes these comparisons; ±Inf is kept out too: both are missing values
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x < min && x !== Number.NEGATIVE_INFINITY) min = x;
      if (x > max && x !== Number.POSITIVE_INFINITY) max = x;
    }
    this.min = min;
    this.max = max;
    this.nonFinite += addColumn(this.moments, v, c.offsets?.subarray(0, n + 1));
    if (c.offsets) {
      this.jagged = true;
      const o = c.offsets;
      for (let i = 0; i < n; i++) if (o[i + 1] - o[i] > this.jdim) this.jdim = o[i + 1] - o[i];
    }
  }

  spec(): BranchSpec {
    const empty = this.min > this.max;
    return {
      min: empty ? 0 : this.min,
      max: empty ? 0 : this.max,
      jagged: this.jagged,
      jdim: this.jdim,
      moments: this.moments,
      nonFinite: this.nonFinite,
    };
  }
}

/** Events of one read step after new branches and cuts; `mask` (when cuts ran) says which entries passed. */
export interface Preprocessed {
  columns: Record<string, NumColumn>;
  events: number;
  entryStart: number;
  mask?: Uint8Array;
}

/** Reads the needed branches of a file and yields its events after new branches and cuts. */
export async function* preprocessed(
  tree: EntrySource,
  sel: Selection,
  pre: Preprocessing,
  stepSize: number,
): AsyncGenerator<Preprocessed> {
  for await (const chunk of iterate(tree, { branches: sel.read, stepSize })) {
    const cols: Record<string, NumColumn> = {};
    for (const [name, c] of Object.entries(chunk.columns)) cols[name] = numeric(c);
    yield { ...applyPreproc(pre, cols, chunk.entryStop - chunk.entryStart), entryStart: chunk.entryStart };
  }
}

/** First pass over one file: min/max of every feature branch, jagged lengths, events after cuts. */
export async function fileSpecs(
  tree: EntrySource,
  sel: Selection,
  pre: Preprocessing,
  stepSize = 100_000,
): Promise<FileSpecs> {
  const ranges = new Map(sel.features.map((f) => [f, new BranchAccumulator()]));
  const labels = new Set<number>();
  let events = 0;
  for await (const { columns, events: n } of preprocessed(tree, sel, pre, stepSize)) {
    for (const [name, r] of ranges) r.add(columns[name], n);
    if (sel.labelBranch) for (const v of columns[sel.labelBranch].values) labels.add(v);
    events += n;
  }
  const branches: Record<string, BranchSpec> = {};
  for (const [name, r] of ranges) branches[name] = r.spec();
  return {
    source: tree.file.name,
    fingerprint: await tree.file.source.fingerprint(),
    entries: tree.entries,
    events,
    branches,
    ...(sel.labelBranch ? { labelValues: [...labels].sort((a, b) => a - b) } : {}),
  };
}

/** Global specs: min of mins, max of maxes, max of jdims, moments merged and bad values summed over all files. */
export function mergeSpecs(key: string, tree: string, files: FileSpecs[]): GlobalSpecs {
  const branches: Record<string, BranchSpec> = {};
  // a file whose events all fail the cuts says nothing about the ranges
  const informative = files.some((f) => f.events > 0) ? files.filter((f) => f.events > 0) : files.slice(0, 1);
  for (const f of informative) {
    for (const [name, s] of Object.entries(f.branches)) {
      const g = branches[name];
      const moments = s.moments && mergeMoments(emptyMoments(), s.moments);
      if (!g) branches[name] = { ...s, moments };
      else {
        g.min = Math.min(g.min, s.min);
        g.max = Math.max(g.max, s.max);
        g.jdim = Math.max(g.jdim, s.jdim);
        g.jagged ||= s.jagged;
        if (g.moments && s.moments) mergeMoments(g.moments, s.moments);
        else g.moments = undefined; // a file without moments: none for the whole, rather than wrong ones
        g.nonFinite = (g.nonFinite ?? 0) + (s.nonFinite ?? 0);
      }
    }
  }
  return { version: 1, key, tree, files, branches };
}

/** The identity of a specs computation: any change of file content, selection or cuts changes it. */
export function specsKey(parts: {
  kind: 'file' | 'global';
  tree: string;
  fingerprints: string[];
  sources: string[];
  selection: Selection;
  preproc: unknown;
}): string {
  // v2: specs carry moments and counts of NaN/±Inf; a cached v1 entry has neither
  return createHash('sha256')
    .update(JSON.stringify({ v: 2, ...parts }))
    .digest('hex');
}
