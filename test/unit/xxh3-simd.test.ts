import { describe, expect, it } from 'vitest';
import { XXH3_WASM, xxh3MatchesLESimd } from '../../lib/root/codecs/xxh3-simd.js';
import { loadXxh3, xxh3Sync } from '../../lib/root/codecs/xxhash.js';
import { compileWat, hasWat2wasm } from '../helpers/wat.js';

/** Pseudo-random bytes (xorshift), so every lane and carry of the hash is exercised. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function le(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, true);
  return out;
}

describe('XXH3-64 by WebAssembly SIMD', () => {
  // around every boundary of the long-input formula: 240/241 bytes, a stripe (64), a block (1024),
  // a last stripe overlapping the block before, and pages of RNTuple's sizes
  const lengths = [241, 255, 256, 257, 319, 320, 321, 1000, 1023, 1024, 1025, 1087, 1088, 1089, 2047, 2048];
  lengths.push(2049, 4096, 8191, 32768, 32777, 65536, 100_003);

  it('agrees with hash-wasm on inputs of every length class', async () => {
    await loadXxh3();
    for (const n of lengths) {
      for (const seed of [1, 0x9e3779b9]) {
        const data = bytes(n, seed + n);
        const sum = le(xxh3Sync(data)!);
        expect(xxh3MatchesLESimd(data, sum), `${n} bytes`).toBe(true);
        const wrong = sum.slice();
        wrong[(n + seed) & 7] ^= 0x10;
        expect(xxh3MatchesLESimd(data, wrong), `${n} bytes, a wrong sum`).toBe(false);
        const changed = data.slice();
        changed[(n * 7) % n] ^= 1;
        expect(xxh3MatchesLESimd(changed, sum), `${n} bytes, one bit changed`).toBe(false);
      }
    }
  });

  it('hashes a view at any offset, and leaves short inputs to hash-wasm', async () => {
    await loadXxh3();
    const whole = bytes(5000, 7);
    const view = whole.subarray(3, 3 + 4001);
    expect(xxh3MatchesLESimd(view, le(xxh3Sync(view)!))).toBe(true);
    expect(xxh3MatchesLESimd(whole.subarray(0, 240), le(xxh3Sync(whole.subarray(0, 240))!))).toBeUndefined();
  });

  it.skipIf(!hasWat2wasm)('is the module xxh3.wat compiles to (needs wat2wasm from WABT)', () => {
    expect(Buffer.from(XXH3_WASM, 'base64').equals(compileWat('lib/root/codecs/xxh3.wat'))).toBe(true);
  });
});
