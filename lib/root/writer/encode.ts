import type { Column, LeafType } from './types.js';

const TWO_32 = 2 ** 32;

function asNumbers(values: Column): ArrayLike<number> {
  // booleans convert with Number(); everything else handed to the number loops is a number already
  return values as ArrayLike<number>;
}

function writeInt64(
  view: DataView,
  at: number,
  type: LeafType,
  values: Column,
  from: number,
  to: number,
): void {
  if (to > from && typeof values[from] === 'bigint') {
    const big = values as ArrayLike<bigint>;
    if (type === 'L') for (let i = from; i < to; i++, at += 8) view.setBigInt64(at, big[i]);
    else for (let i = from; i < to; i++, at += 8) view.setBigUint64(at, big[i]);
    return;
  }
  const v = asNumbers(values);
  // Split into two 32-bit halves: exact for every integer a double can hold, and far faster than
  // going through BigInt. Floor makes the high half of a negative value carry the sign.
  for (let i = from; i < to; i++, at += 8) {
    const x = Math.trunc(Number(v[i]));
    const hi = Math.floor(x / TWO_32);
    view.setInt32(at, hi);
    view.setUint32(at + 4, x - hi * TWO_32);
  }
}

/**
 * Writes values[from..to) big-endian into `view` at byte `at`, as ROOT stores leaves of `type`.
 * Returns the byte position after the last value.
 */
export function encodeValues(
  view: DataView,
  at: number,
  type: LeafType,
  values: Column,
  from: number,
  to: number,
): number {
  const v = asNumbers(values);
  switch (type) {
    case 'O':
      for (let i = from; i < to; i++, at++) view.setUint8(at, v[i] ? 1 : 0);
      return at;
    case 'B':
      for (let i = from; i < to; i++, at++) view.setInt8(at, v[i]);
      return at;
    case 'b':
      for (let i = from; i < to; i++, at++) view.setUint8(at, v[i]);
      return at;
    case 'S':
      for (let i = from; i < to; i++, at += 2) view.setInt16(at, v[i]);
      return at;
    case 's':
      for (let i = from; i < to; i++, at += 2) view.setUint16(at, v[i]);
      return at;
    case 'I':
      for (let i = from; i < to; i++, at += 4) view.setInt32(at, v[i]);
      return at;
    case 'i':
      for (let i = from; i < to; i++, at += 4) view.setUint32(at, v[i]);
      return at;
    case 'F':
      for (let i = from; i < to; i++, at += 4) view.setFloat32(at, v[i]);
      return at;
    case 'D':
      for (let i = from; i < to; i++, at += 8) view.setFloat64(at, v[i]);
      return at;
    case 'L':
    case 'l':
      writeInt64(view, at, type, values, from, to);
      return at + 8 * (to - from);
  }
}
