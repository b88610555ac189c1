import { UnprocessableError } from '../errors.js';
import type { NumColumn } from './columns.js';

/** What the first pass learns about one branch over all files (after cuts). */
export interface BranchSpec {
  min: number;
  max: number;
  jagged: boolean;
  /** the longest entry seen (jagged branches); 0 for flat ones */
  jdim: number;
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
 * Builds the feature rows of n events: min-max normalisation (x - min) / (max - min), left as is
 * where max == min; jagged entries padded with 0 after normalisation and cut at jdim.
 */
export function featureRows(
  columns: Readonly<Record<string, NumColumn>>,
  n: number,
  layout: FeatureLayout,
  specs: Readonly<Record<string, BranchSpec>>,
  counters: TransformCounters,
): Float32Array {
  const width = layout.names.length;
  const x = new Float32Array(n * width); // zero: the padding value
  let nonFinite = 0;
  let col = 0;
  for (const name of layout.flat) {
    const v = need(columns, name).values;
    if (v.length !== n)
      throw new UnprocessableError(`branch "${name}" has ${v.length} values for ${n} events; it is not flat`);
    const { min, max } = specs[name];
    const scale = max > min ? 1 / (max - min) : 1;
    const shift = max > min ? min : 0;
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
    const { min, max } = specs[name];
    const scale = max > min ? 1 / (max - min) : 1;
    const shift = max > min ? min : 0;
    const v = c.values;
    for (let i = 0, row = 0; i < n; i++, row += width) {
      const start = off[i];
      const len = off[i + 1] - start;
      if (len > jdim) truncated[i] = 1;
      const m = Math.min(len, jdim);
      for (let k = 0; k < m; k++) {
        const y = (v[start + k] - shift) * scale;
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
