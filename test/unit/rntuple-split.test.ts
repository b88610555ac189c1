import { describe, expect, it } from 'vitest';
import { type ColumnType, columnType, copyElements } from '../../lib/root/rntuple/columns.js';

/** Split encoding of `bytes` (n elements of `size` bytes): all first bytes, then all second bytes, ... */
function split(bytes: Uint8Array, n: number, size: number): Uint8Array {
  const out = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) for (let b = 0; b < size; b++) out[b * n + i] = bytes[i * size + b];
  return out;
}

function type(code: number, bits: number): ColumnType {
  const t = columnType({ type: code, bits } as Parameters<typeof columnType>[0]);
  if (typeof t === 'string') throw new Error(t);
  return t;
}

describe('split columns', () => {
  // element counts with and without a multiple of 4, ranges starting on and off a 4-element boundary,
  // and a page that is not 4-byte aligned in its buffer: the word-at-a-time path and the byte path
  const cases = [
    { n: 8192, from: 0, to: 8192, shift: 0 },
    { n: 8192, from: 5, to: 8190, shift: 0 },
    { n: 8192, from: 4, to: 4099, shift: 1 },
    { n: 1001, from: 3, to: 1001, shift: 0 },
  ];
  for (const { n, from, to, shift } of cases) {
    it(`restores SplitReal32 and SplitInt64 elements [${from}, ${to}) of ${n} (page offset ${shift})`, () => {
      const f = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3);
      const plain32 = new Uint8Array(f.buffer);
      const page32 = new Uint8Array(n * 4 + shift);
      page32.set(split(plain32, n, 4), shift);
      const out = new Float32Array(to - from + 2);
      copyElements(page32.subarray(shift), n, type(24, 32), from, to, out, 2);
      expect(Array.from(out.subarray(2))).toEqual(Array.from(f.subarray(from, to)));

      const v = BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 0x1234567n - 0x7000000000n);
      const zz = BigUint64Array.from(v, (x) => BigInt.asUintN(64, (x << 1n) ^ (x >> 63n)));
      const page64 = new Uint8Array(n * 8 + shift);
      page64.set(split(new Uint8Array(zz.buffer), n, 8), shift);
      const out64 = new BigInt64Array(to - from);
      copyElements(page64.subarray(shift), n, type(21, 64), from, to, out64, 0);
      expect(Array.from(out64)).toEqual(Array.from(v.subarray(from, to)));
    });
  }
});
