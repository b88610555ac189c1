import type { ColumnType } from './columns.js';

/**
 * Whether a page of this column can be decoded straight into a Float64Array of offsets by
 * `copyIndex`: index columns, plain or split, delta-encoded or not.
 */
export function copiesIndex(t: ColumnType, out: unknown): out is Float64Array {
  return t.dtype === 'index' && !t.packed && out instanceof Float64Array;
}

/**
 * Elements [from, to) of an index page of `n` elements (its decompressed bytes) written as numbers
 * into out[at ..]. One pass over the byte planes, with the delta sum carried along: a collection's
 * offsets are the most element reads per item of a chunk, and decoding a whole page into temporary
 * arrays first (unsplit bytes, then float64 values, then the copy) cost more than the inflating.
 * A delta page restarts at its first element, so the sum is carried from the page's start.
 */
export function copyIndex(
  src: Uint8Array,
  n: number,
  t: ColumnType,
  from: number,
  to: number,
  out: Float64Array,
  at: number,
): void {
  let sum = 0;
  const base = at - from;
  if (t.size === 4 && t.split && t.delta) {
    // SplitIndex32, what ROOT writes by default: the hot loop, without the per-element branches
    for (let i = 0; i < to; i++) {
      sum += (src[i] | (src[n + i] << 8) | (src[2 * n + i] << 16) | (src[3 * n + i] << 24)) >>> 0;
      if (i >= from) out[base + i] = sum;
    }
    return;
  }
  if (t.size === 4) {
    for (let i = t.delta ? 0 : from; i < to; i++) {
      const v = t.split
        ? (src[i] | (src[n + i] << 8) | (src[2 * n + i] << 16) | (src[3 * n + i] << 24)) >>> 0
        : (src[4 * i] | (src[4 * i + 1] << 8) | (src[4 * i + 2] << 16) | (src[4 * i + 3] << 24)) >>> 0;
      sum = t.delta ? sum + v : v;
      if (i >= from) out[base + i] = sum;
    }
    return;
  }
  for (let i = t.delta ? 0 : from; i < to; i++) {
    let lo: number;
    let hi: number;
    if (t.split) {
      lo = (src[i] | (src[n + i] << 8) | (src[2 * n + i] << 16) | (src[3 * n + i] << 24)) >>> 0;
      hi = (src[4 * n + i] | (src[5 * n + i] << 8) | (src[6 * n + i] << 16) | (src[7 * n + i] << 24)) >>> 0;
    } else {
      const b = 8 * i;
      lo = (src[b] | (src[b + 1] << 8) | (src[b + 2] << 16) | (src[b + 3] << 24)) >>> 0;
      hi = (src[b + 4] | (src[b + 5] << 8) | (src[b + 6] << 16) | (src[b + 7] << 24)) >>> 0;
    }
    const v = lo + hi * 4294967296;
    sum = t.delta ? sum + v : v;
    if (i >= from) out[base + i] = sum;
  }
}
