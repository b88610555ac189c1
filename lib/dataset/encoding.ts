import { UnprocessableError } from '../errors.js';
import type { BranchSpec, FeatureLayout } from './features.js';
import { pooled } from './moments.js';

/**
 * How raw branch values become a model's inputs:
 * - `standard` (the default): each value column standardised with the mean and spread of its
 *   real values, (x - mean) / std; a missing slot (beyond an event's entries, NaN, ±Inf) is 0,
 *   which is the mean: it pulls the network neither way. Jagged branches are standardised slot by
 *   slot (Jet_pt_0, the leading jet, has its own mean and spread).
 * - `minmax`: MLaaS4HEP's encoding, (x - min) / (max - min), x where max == min, missing slots 0
 *   (which is where the minimum sits). Bundles that do not name an encoding were written with it.
 */
export type EncodingKind = 'standard' | 'minmax';
export const ENCODINGS: readonly EncodingKind[] = ['standard', 'minmax'];

/**
 * The encoding of each value column of a layout (flat branches, then each jagged branch's slots):
 * encoded = (raw - shift) * scale for a real value, 0 for a missing one; with `maskColumns`, one
 * 0/1 column per jagged slot follows (1 where the slot holds a value).
 */
export interface ColumnEncoding {
  shift: Float64Array;
  scale: Float64Array;
  /** number of jagged slots, each with a mask column after the value columns */
  maskColumns: number;
}

/** Standardise jagged branches slot by slot (true) or with one mean and spread per branch. */
export const PER_SLOT = true;

export function columnEncoding(
  layout: FeatureLayout,
  branches: Readonly<Record<string, BranchSpec>>,
  kind: EncodingKind,
  perSlot = PER_SLOT,
): ColumnEncoding {
  const slots = layout.jagged.reduce((s, j) => s + j.jdim, 0);
  const columns = layout.flat.length + slots;
  const shift = new Float64Array(columns);
  const scale = new Float64Array(columns);
  let c = 0;
  const add = (name: string, n: number) => {
    const b = branches[name];
    if (kind === 'minmax') {
      const { min, max } = b;
      for (let k = 0; k < n; k++, c++) {
        scale[c] = max > min ? 1 / (max - min) : 1;
        shift[c] = max > min ? min : 0;
      }
      return;
    }
    const m = b.moments;
    if (!m)
      throw new UnprocessableError(
        `the standard encoding needs the mean and spread of "${name}", which these specs do not have`,
      );
    const all = pooled(m);
    for (let k = 0; k < n; k++, c++) {
      const s = perSlot ? { count: m.count[k] ?? 0, mean: m.mean[k] ?? 0, m2: m.m2[k] ?? 0 } : all;
      const std = s.count > 0 ? Math.sqrt(s.m2 / s.count) : 0;
      // no spread (or no real value at all): the column carries nothing, it is kept at 0
      if (std > 1e-12 * Math.max(1, Math.abs(s.mean))) {
        shift[c] = s.mean;
        scale[c] = 1 / std;
      }
    }
  };
  for (const f of layout.flat) add(f, 1);
  for (const j of layout.jagged) add(j.name, j.jdim);
  return { shift, scale, maskColumns: layout.mask ? slots : 0 };
}

/** The value columns the standard encoding keeps at 0 because their values do not vary. */
export function constantColumns(layout: FeatureLayout, enc: ColumnEncoding): string[] {
  const out: string[] = [];
  for (let c = 0; c < enc.scale.length; c++) if (enc.scale[c] === 0) out.push(layout.names[c]);
  return out;
}
