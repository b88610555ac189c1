import { createHash } from 'node:crypto';
import type { EntrySource } from '../root/entry-source.js';
import { iterate } from '../root/iterate.js';
import { type NumColumn, numeric } from './columns.js';
import type { BranchSpec } from './features.js';
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

class Range {
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  jdim = 0;
  jagged = false;

  add(c: NumColumn, n: number): void {
    const v = c.values;
    let { min, max } = this;
    // NaN never passes these comparisons, so it cannot poison the normalisation range
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x < min) min = x;
      if (x > max) max = x;
    }
    this.min = min;
    this.max = max;
    if (c.offsets) {
      this.jagged = true;
      const o = c.offsets;
      for (let i = 0; i < n; i++) if (o[i + 1] - o[i] > this.jdim) this.jdim = o[i + 1] - o[i];
    }
  }

  spec(): BranchSpec {
    const empty = this.min > this.max;
    return { min: empty ? 0 : this.min, max: empty ? 0 : this.max, jagged: this.jagged, jdim: this.jdim };
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
  const ranges = new Map(sel.features.map((f) => [f, new Range()]));
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

/** Global specs: min of mins, max of maxes, max of jdims over all files. */
export function mergeSpecs(key: string, tree: string, files: FileSpecs[]): GlobalSpecs {
  const branches: Record<string, BranchSpec> = {};
  // a file whose events all fail the cuts says nothing about the ranges
  const informative = files.some((f) => f.events > 0) ? files.filter((f) => f.events > 0) : files.slice(0, 1);
  for (const f of informative) {
    for (const [name, s] of Object.entries(f.branches)) {
      const g = branches[name];
      if (!g) branches[name] = { ...s };
      else {
        g.min = Math.min(g.min, s.min);
        g.max = Math.max(g.max, s.max);
        g.jdim = Math.max(g.jdim, s.jdim);
        g.jagged ||= s.jagged;
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
  return createHash('sha256')
    .update(JSON.stringify({ v: 1, ...parts }))
    .digest('hex');
}
