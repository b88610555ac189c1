import { seededRandom, shuffleInPlace } from './random.js';

export const TRAIN = 0;
export const VALIDATION = 1;
export const TEST = 2;

/**
 * Stratified split: within each class, a seeded shuffle, then the first share goes to test, the
 * next to validation, the rest to training. Each class keeps its proportion in every part.
 */
export function assignSplit(
  labels: ArrayLike<number>,
  fractions: { validation: number; test: number },
  seed: number,
): Uint8Array {
  const random = seededRandom(seed);
  const parts = new Uint8Array(labels.length);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]);
    if (list) list.push(i);
    else byClass.set(labels[i], [i]);
  }
  for (const key of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = byClass.get(key)!;
    shuffleInPlace(idx, random);
    const nTest = Math.round(idx.length * fractions.test);
    const nVal = Math.round(idx.length * fractions.validation);
    for (let k = 0; k < idx.length; k++)
      parts[idx[k]] = k < nTest ? TEST : k < nTest + nVal ? VALIDATION : TRAIN;
  }
  return parts;
}

/** Rows i of a row-major matrix for the given indices, in that order. */
export function gatherRows(x: Float32Array, width: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * width);
  // element loop rather than subarray + set: no object per row, so no garbage on this hot path
  for (let r = 0, to = 0; r < idx.length; r++) {
    let from = idx[r] * width;
    const end = from + width;
    while (from < end) out[to++] = x[from++];
  }
  return out;
}

type Gatherable = Float32Array | Float64Array | Uint16Array;

/** values[idx[0]], values[idx[1]], ... in an array of the same type. */
export function gather<T extends Gatherable>(values: T, idx: ArrayLike<number>): T {
  const out = new (values.constructor as new (n: number) => T)(idx.length);
  for (let r = 0; r < idx.length; r++) out[r] = values[idx[r]];
  return out;
}
