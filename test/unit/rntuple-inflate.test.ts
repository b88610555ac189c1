import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../lib/root/rntuple/buffer-pool.js';
import { Inflater } from '../../lib/root/rntuple/inflate-into.js';

const data = (n: number, seed: number): Uint8Array => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * seed + (i >> 7)) & 0xff;
  return out;
};

describe('Inflater (one reused zlib inflater writing into the caller buffer)', () => {
  it('inflates stream after stream into the given buffer, as inflateSync does', () => {
    const inf = new Inflater();
    for (const [n, seed] of [
      [65536, 7],
      [100, 3],
      [32768, 11],
    ]) {
      const raw = data(n, seed);
      const out = new Uint8Array(n);
      expect(inf.into(deflateSync(raw), out)).toBe(true);
      expect(Buffer.compare(out, inflateSync(deflateSync(raw)))).toBe(0);
    }
  });

  it('refuses a stream that inflates to fewer or more bytes than the buffer, then still works', () => {
    const inf = new Inflater();
    const raw = data(5000, 5);
    const z = deflateSync(raw);
    expect(inf.into(z, new Uint8Array(4999))).toBe(false);
    expect(inf.into(z, new Uint8Array(5001))).toBe(false);
    const out = new Uint8Array(5000);
    expect(inf.into(z, out)).toBe(true);
    expect(Buffer.compare(out, raw)).toBe(0);
  });

  it('refuses a corrupt stream, a wrong checksum and a stream cut before its checksum, then still works', () => {
    const inf = new Inflater();
    const raw = data(5000, 9);
    const z = deflateSync(raw);
    const badSum = Uint8Array.from(z);
    badSum[badSum.length - 1] ^= 1;
    const garbage = Uint8Array.from(z);
    garbage[0] = 0xff;
    expect(inf.into(badSum, new Uint8Array(5000))).toBe(false);
    expect(inf.into(garbage, new Uint8Array(5000))).toBe(false);
    expect(inf.into(z.subarray(0, z.length - 4), new Uint8Array(5000))).toBe(false);
    const out = new Uint8Array(5000);
    expect(inf.into(z, out)).toBe(true);
    expect(Buffer.compare(out, raw)).toBe(0);
  });
});

describe('BufferPool', () => {
  it('hands a given-back buffer out again for a request of the same size class', () => {
    const pool = new BufferPool(1 << 20);
    const a = pool.take(5000);
    expect(a.length).toBe(5000);
    pool.give(a);
    const b = pool.take(8000);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.take(8000).buffer).not.toBe(a.buffer);
  });

  it('keeps no more than its byte limit', () => {
    const pool = new BufferPool(8192);
    const a = pool.take(8192);
    const b = pool.take(8192);
    pool.give(a);
    pool.give(b);
    expect(pool.take(8192).buffer).toBe(a.buffer);
    expect(pool.take(8192).buffer).not.toBe(b.buffer);
  });
});
