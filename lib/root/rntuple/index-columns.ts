import { type ColumnType, gather } from './columns.js';
import { indexPage } from './unsplit-simd.js';

/**
 * How a collection's index values become a chunk's offsets: each value moved by `add` (the chunk's
 * offset where the cluster's items start, less the cluster's own first), `prev` the value before
 * the next one, and `backwards` set once a value is smaller than the one before it.
 */
export interface OffsetShift {
  add: number;
  prev: number;
  backwards: boolean;
}

/** Index values [from, to) of `values` as offsets at out[at ..] (see OffsetShift). */
export function shiftInto(
  values: ArrayLike<number>,
  from: number,
  to: number,
  out: Int32Array,
  at: number,
  shift: OffsetShift,
): void {
  let prev = shift.prev;
  let backwards = false;
  for (let i = from; i < to; i++) {
    const v = values[i];
    backwards ||= v < prev;
    prev = v;
    // exact while in order and under 2^31, which the caller checks of the last one
    out[at + i - from] = (v + shift.add) | 0;
  }
  shift.prev = prev;
  shift.backwards ||= backwards;
}

/** 32-bit words of the index page being decoded, reused: offsets are decoded page after page. */
let scratch = new Uint32Array(8192 * 2);

/**
 * Whether a page of this column can be decoded straight into `out` by `copyIndex` (a Float64Array
 * of index values, or an Int32Array of a chunk's offsets): index columns, plain or split,
 * delta-encoded or not.
 */
export function copiesIndex(t: ColumnType, out: unknown): out is Float64Array | Int32Array {
  return t.dtype === 'index' && !t.packed && (out instanceof Float64Array || out instanceof Int32Array);
}

/**
 * Elements [from, to) of an index page of `n` elements (its decompressed bytes) written as numbers
 * into out[at ..], the delta sum carried along. Decoding a whole page into temporary arrays first
 * (unsplit bytes, then float64 values, then a copy) cost about as much as inflating the page.
 * A delta page restarts at its first element, so the sum is carried from the page's start.
 * Into an Int32Array, the values become a chunk's offsets as `shift` says.
 */
export function copyIndex(
  src: Uint8Array,
  n: number,
  t: ColumnType,
  from: number,
  to: number,
  out: Float64Array | Int32Array,
  at: number,
  shift?: OffsetShift,
): void {
  if (
    t.split &&
    (t.size === 4 || t.size === 8) &&
    indexPage(src, n, t.size, from, to, t.delta, out, at, shift)
  )
    return;
  if (out instanceof Int32Array) {
    // pages the SIMD module leaves alone: decoded as numbers first
    if (!shift) throw new Error('offsets need a shift');
    const values = new Float64Array(to - from);
    copyIndex(src, n, t, from, to, values, 0);
    shiftInto(values, 0, values.length, out, at, shift);
    return;
  }
  let sum = 0;
  const base = at - from;
  if (t.split) {
    // the byte planes back into words with the split columns' fast path, then summed (pages the
    // SIMD module leaves alone: an engine without SIMD, or a page over its size bound)
    const words = t.size === 4 ? to : 2 * to;
    if (scratch.length < words) scratch = new Uint32Array(words);
    const w = scratch;
    gather(src, n, t.size, 0, to, w.buffer, 0);
    if (t.size === 4) {
      for (let i = 0; i < to; i++) {
        sum = t.delta ? sum + w[i] : w[i];
        if (i >= from) out[base + i] = sum;
      }
    } else {
      for (let i = 0; i < to; i++) {
        const v = w[2 * i] + w[2 * i + 1] * 4294967296;
        sum = t.delta ? sum + v : v;
        if (i >= from) out[base + i] = sum;
      }
    }
    return;
  }
  // plain Index32 / Index64 (rare: ROOT writes split index columns by default)
  const step = t.size;
  for (let i = t.delta ? 0 : from; i < to; i++) {
    const b = step * i;
    let v = (src[b] | (src[b + 1] << 8) | (src[b + 2] << 16) | (src[b + 3] << 24)) >>> 0;
    if (step === 8)
      v += ((src[b + 4] | (src[b + 5] << 8) | (src[b + 6] << 16) | (src[b + 7] << 24)) >>> 0) * 4294967296;
    sum = t.delta ? sum + v : v;
    if (i >= from) out[base + i] = sum;
  }
}
