import { describe, expect, it } from 'vitest';
import { loadXxh3, xxh3MatchesLE, xxh3Sync } from '../../lib/root/codecs/xxhash.js';
import { type ColumnType, columnType, copyElements, decodePage } from '../../lib/root/rntuple/columns.js';
import { copyIndex, type OffsetShift } from '../../lib/root/rntuple/index-columns.js';
import { simdScratch, UNSPLIT_WASM, unsplitBlocks } from '../../lib/root/rntuple/unsplit-simd.js';
import { compileWat, hasWat2wasm } from '../helpers/wat.js';

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
    { n: 8192, from: 100, to: 110, shift: 0 },
  ];
  for (const { n, from, to, shift } of cases) {
    it(`restores SplitReal32, SplitInt64 and SplitInt32 elements [${from}, ${to}) of ${n} (page offset ${shift})`, () => {
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

      // SplitInt32: zigzag-decoded by SIMD for whole groups of 16, by JavaScript for the rest
      const i32 = Int32Array.from(
        { length: n },
        (_, i) => (i % 3 ? 1 : -1) * i * 40503 + (i & 1 ? 2 ** 31 - 1 : -(2 ** 31)),
      );
      const zz32 = Uint32Array.from(i32, (x) => ((x << 1) ^ (x >> 31)) >>> 0);
      const pageI32 = new Uint8Array(n * 4 + shift);
      pageI32.set(split(new Uint8Array(zz32.buffer), n, 4), shift);
      const outI32 = new Int32Array(to - from + 1);
      copyElements(pageI32.subarray(shift), n, type(19, 32), from, to, outI32, 1);
      expect(Array.from(outI32.subarray(1))).toEqual(Array.from(i32.subarray(from, to)));
    });
  }
});

describe('index columns', () => {
  // Index32, Index64 (plain), SplitIndex32, SplitIndex64 (split and delta-encoded)
  const codes = [
    { code: 14, bits: 32 },
    { code: 15, bits: 64 },
    { code: 26, bits: 32 },
    { code: 27, bits: 64 },
  ];
  // 1001 elements go through the SIMD module; 1.1 million (over its 4 MiB page bound) through the
  // JavaScript loops, as in an engine without SIMD
  for (const { code, bits } of codes) {
    for (const n of [1001, 1_100_000])
      it(`decodes ${type(code, bits).name} elements [37, 1000) of ${n} into offsets as decodePage does`, () => {
        const t = type(code, bits);
        // offsets growing by 1 to 8 per entry, past 2^32 for 64-bit columns so the high word counts
        const ends = Array.from({ length: n }, (_, i) => (bits === 64 ? 2 ** 33 : 0) + i * 7 + (i % 7));
        const stored = t.delta ? ends.map((e, i) => (i ? e - ends[i - 1] : e)) : ends;
        const plain = new Uint8Array(n * t.size);
        const view = new DataView(plain.buffer);
        stored.forEach((x, i) => {
          view.setUint32(i * t.size, x % 2 ** 32, true);
          if (t.size === 8) view.setUint32(i * t.size + 4, Math.floor(x / 2 ** 32), true);
        });
        const page = t.split ? split(plain, n, t.size) : plain;
        const out = new Float64Array(1000 - 37 + 1);
        copyIndex(page, n, t, 37, 1000, out, 1);
        const rec = { type: code, bits } as Parameters<typeof decodePage>[3];
        const decoded = decodePage(new Uint8Array(page), n, t, rec, true) as Float64Array;
        expect(Array.from(out.subarray(1))).toEqual(ends.slice(37, 1000));
        expect(Array.from(out.subarray(1))).toEqual(Array.from(decoded.subarray(37, 1000)));

        // as a chunk's offsets: each end moved so the entry before (36) lands on 5, in order
        const offsets = new Int32Array(1000 - 37 + 1);
        const shift: OffsetShift = { add: 5 - ends[36], prev: ends[36], backwards: false };
        copyIndex(page, n, t, 37, 1000, offsets, 1, shift);
        expect(Array.from(offsets.subarray(1))).toEqual(ends.slice(37, 1000).map((x) => x - ends[36] + 5));
        expect(shift).toEqual({ add: 5 - ends[36], prev: ends[999], backwards: false });
        // an end before the one the previous page ended with: the offsets go backwards
        const late: OffsetShift = { add: 0, prev: ends[37] + 1, backwards: false };
        copyIndex(page, n, t, 37, 1000, offsets, 1, late);
        expect(late.backwards).toBe(true);
      });
  }
});

describe('index pages inflated into the SIMD module', () => {
  it('decode although decoding them grows the module memory the page lies in', () => {
    // larger than any page before, so the memory grows for the offsets (a grown memory detaches
    // the view the page was inflated into)
    const t = type(27, 64);
    const n = 300_000;
    const page = simdScratch(n * 8);
    expect(page).toBeDefined();
    const plain = new Uint8Array(n * 8);
    const view = new DataView(plain.buffer);
    for (let i = 0; i < n; i++) view.setUint32(i * 8, i ? 3 : 2 ** 20, true);
    page!.set(split(plain, n, 8));
    const out = new Float64Array(n - 10);
    copyIndex(page!, n, t, 10, n, out, 0);
    expect(out[0]).toBe(2 ** 20 + 30);
    expect(out[out.length - 1]).toBe(2 ** 20 + 3 * (n - 1));
  });
});

describe('SIMD unsplitting', () => {
  it('runs on this Node (else the cases above tested only the JavaScript loop)', () => {
    const n = 64;
    const out = new Float32Array(n);
    expect(unsplitBlocks(new Uint8Array(4 * n), n, 4, 0, n, out.buffer, 0)).toBe(n);
  });

  it.skipIf(!hasWat2wasm)('is the module unsplit.wat compiles to (needs wat2wasm from WABT)', () => {
    expect(Buffer.from(UNSPLIT_WASM, 'base64').equals(compileWat('lib/root/rntuple/unsplit.wat'))).toBe(true);
  });
});

describe('page checksums', () => {
  it('match the little-endian XXH3-64 stored after a page, and only it', async () => {
    await loadXxh3();
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 131) & 0xff);
    const stored = new Uint8Array(8);
    new DataView(stored.buffer).setBigUint64(0, xxh3Sync(data)!, true);
    expect(xxh3MatchesLE(data, stored)).toBe(true);
    const wrongSum = stored.slice();
    wrongSum[7] ^= 1;
    expect(xxh3MatchesLE(data, wrongSum)).toBe(false);
    const wrongData = data.slice();
    wrongData[4999] ^= 1;
    expect(xxh3MatchesLE(wrongData, stored)).toBe(false);
  });
});
