import { UnprocessableError } from '../errors.js';
import type { NumColumn } from './columns.js';
import type { ColumnEncoding } from './encoding.js';
import type { Moments } from './moments.js';

/** What the first pass learns about one branch over all files (after cuts). */
export interface BranchSpec {
  min: number;
  max: number;
  jagged: boolean;
  /** the longest entry seen (jagged branches); 0 for flat ones */
  jdim: number;
  /** mean and spread of the real values, per slot (absent in specs and bundles written before them) */
  moments?: Moments;
  /** NaN and ±Inf values seen: treated as missing, and left out of min, max and moments */
  nonFinite?: number;
}

/**
 * The order of features: flat branches sorted by name, then jagged branches sorted by name, each
 * expanded to name_0 .. name_{jdim-1}; with `mask`, one 0/1 feature per jagged slot at the end.
 */
export interface FeatureLayout {
  flat: string[];
  jagged: Array<{ name: string; jdim: number }>;
  mask: boolean;
  names: string[];
}

export function featureLayout(branches: Readonly<Record<string, BranchSpec>>, mask = false): FeatureLayout {
  const sorted = Object.keys(branches).sort();
  const flat = sorted.filter((b) => !branches[b].jagged);
  const jagged = sorted
    .filter((b) => branches[b].jagged)
    .map((name) => ({ name, jdim: branches[name].jdim }));
  const names = [...flat];
  for (const j of jagged) for (let k = 0; k < j.jdim; k++) names.push(`${j.name}_${k}`);
  if (mask) for (const j of jagged) for (let k = 0; k < j.jdim; k++) names.push(`${j.name}_mask_${k}`);
  return { flat, jagged, mask, names };
}

/** Counters a physicist should see: values cut off by jdim, and NaN/inf values replaced by 0. */
export interface TransformCounters {
  truncatedEvents: number;
  nonFinite: number;
}

/**
 * Builds the feature rows of n events with an encoding (./encoding.ts): each value column
 * (raw - shift) * scale, 0 for a missing value (a slot beyond an event's entries, NaN, ±Inf);
 * jagged branches cut at jdim; with the layout's mask, 1 for each slot that holds an entry.
 */
export function featureRows(
  columns: Readonly<Record<string, NumColumn>>,
  n: number,
  layout: FeatureLayout,
  enc: ColumnEncoding,
  counters: TransformCounters,
): Float32Array {
  const width = layout.names.length;
  const x = new Float32Array(n * width); // zero: a missing value
  let nonFinite = 0;
  let col = 0;
  for (const name of layout.flat) {
    const v = need(columns, name).values;
    if (v.length !== n)
      throw new UnprocessableError(`branch "${name}" has ${v.length} values for ${n} events; it is not flat`);
    const shift = enc.shift[col];
    const scale = enc.scale[col];
    for (let i = 0, at = col; i < n; i++, at += width) {
      const y = (v[i] - shift) * scale;
      if (Number.isFinite(y)) x[at] = y;
      else nonFinite++;
    }
    col++;
  }
  const truncated = new Uint8Array(n);
  const maskStart = col + layout.jagged.reduce((s, j) => s + j.jdim, 0);
  let maskCol = maskStart;
  for (const { name, jdim } of layout.jagged) {
    const c = need(columns, name);
    const off = c.offsets;
    if (!off) throw new UnprocessableError(`branch "${name}" is flat in this file but jagged in others`);
    const v = c.values;
    for (let i = 0, row = 0; i < n; i++, row += width) {
      const start = off[i];
      const len = off[i + 1] - start;
      if (len > jdim) truncated[i] = 1;
      const m = Math.min(len, jdim);
      for (let k = 0; k < m; k++) {
        const y = (v[start + k] - enc.shift[col + k]) * enc.scale[col + k];
        if (Number.isFinite(y)) x[row + col + k] = y;
        else nonFinite++;
      }
      if (layout.mask) for (let k = 0; k < m; k++) x[row + maskCol + k] = 1;
    }
    col += jdim;
    maskCol += jdim;
  }
  counters.nonFinite += nonFinite;
  for (let i = 0; i < n; i++) counters.truncatedEvents += truncated[i];
  return x;
}

function need(columns: Readonly<Record<string, NumColumn>>, name: string): NumColumn {
  const c = columns[name];
  if (!c)
    throw new UnprocessableError(`branch "${name}" is missing from this file but present in the others`);
  return c;
}
