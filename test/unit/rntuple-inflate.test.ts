import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BufferPool, ReadBuffers } from '../../lib/root/rntuple/buffer-pool.js';
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

describe('ReadBuffers', () => {
  it('lends the smallest given-back buffer that fits, else a fresh one', () => {
    const rb = new ReadBuffers(4, 1 << 24);
    const small = rb.take(70_000);
    const big = rb.take(300_000);
    expect(small.byteLength).toBeGreaterThanOrEqual(70_000);
    expect(big.byteLength).toBeGreaterThanOrEqual(300_000);
    rb.give(big);
    rb.give(small);
    expect(rb.take(100)).toBe(small);
    expect(rb.take(100)).toBe(big);
    expect([small, big]).not.toContain(rb.take(100));
  });

  it('keeps the largest buffers within its count and byte limits', () => {
    const rb = new ReadBuffers(2, 3 << 20);
    const [a, b, c] = [rb.take(1 << 20), rb.take(2 << 20), rb.take(64 << 10)];
    rb.give(a);
    rb.give(b);
    rb.give(c); // a third buffer: over the count
    expect(rb.take(1)).toBe(a);
    expect(rb.take(1)).toBe(b);
    const rb2 = new ReadBuffers(4, 2 << 20);
    const [d, e] = [rb2.take(2 << 20), rb2.take(1 << 20)];
    rb2.give(d);
    rb2.give(e); // both would exceed the byte limit: only the larger one stays
    expect(rb2.take(1)).toBe(d);
    expect([d, e]).not.toContain(rb2.take(1));
  });
});
