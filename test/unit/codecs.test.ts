import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompressRecord } from '../../lib/root/codecs/decompress.js';
import { lz4DecodeBlock } from '../../lib/root/codecs/lz4.js';
import { CorruptFileError, UnsupportedCodecError } from '../../lib/root/errors.js';

/** A ROOT compression frame: tag, method, 3-byte compressed and uncompressed sizes, body. */
function frame(tag: string, method: number, body: Uint8Array, uncompressed: number): Uint8Array {
  const h = Buffer.from([tag.charCodeAt(0), tag.charCodeAt(1), method, 0, 0, 0, 0, 0, 0]);
  h.writeUIntLE(body.length, 3, 3);
  h.writeUIntLE(uncompressed, 6, 3);
  return Buffer.concat([h, body]);
}

describe('LZ4 block decoder', () => {
  it('expands literals and overlapping matches', () => {
    // "abc", then a match 3 back of length 6, then the literal-only last sequence "x"
    const block = Uint8Array.from([0x32, 97, 98, 99, 3, 0, 0x10, 120]);
    const out = new Uint8Array(10);
    expect(lz4DecodeBlock(block, out)).toBe(10);
    expect(Buffer.from(out).toString()).toBe('abcabcabcx');
  });

  it('refuses a match that points before the start of the output', () => {
    const block = Uint8Array.from([0x12, 97, 9, 0, 0x10, 120]);
    expect(() => lz4DecodeBlock(block, new Uint8Array(16))).toThrow(RangeError);
  });
});

describe('ROOT record decompression', () => {
  const payload = Buffer.from('ROOT baskets '.repeat(500));

  it('inflates a zlib frame, and several frames back to back', async () => {
    const one = frame('ZL', 8, deflateSync(payload), payload.length);
    expect(Buffer.from(await decompressRecord(one, payload.length, 'x.root'))).toEqual(payload);
    const half = payload.length / 2;
    const two = Buffer.concat([
      frame('ZL', 8, deflateSync(payload.subarray(0, half)), half),
      frame('ZL', 8, deflateSync(payload.subarray(half)), half),
    ]);
    expect(Buffer.from(await decompressRecord(two, payload.length, 'x.root', true))).toEqual(payload);
  });

  it('names an unknown compression algorithm', async () => {
    const bad = frame('QQ', 1, Buffer.alloc(20), payload.length);
    const err = await decompressRecord(bad, payload.length, 'x.root').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedCodecError);
    expect((err as Error).message).toMatch(
      /x\.root uses the compression algorithm "unknown \(frame tag "QQ"\)"/,
    );
  });

  it('reports damaged zlib data as a corrupt file, not garbage', async () => {
    const body = deflateSync(payload);
    body[body.length >> 1] ^= 0xff;
    body[(body.length >> 1) + 1] ^= 0x5a;
    const err = await decompressRecord(frame('ZL', 8, body, payload.length), payload.length, 'x.root').catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CorruptFileError);
  });

  it('refuses a frame whose sizes disagree with the key', async () => {
    const f = frame('ZL', 8, deflateSync(payload), payload.length + 100);
    await expect(decompressRecord(f, payload.length, 'x.root')).rejects.toBeInstanceOf(CorruptFileError);
  });
});
