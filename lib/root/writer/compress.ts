import { promisify } from 'node:util';
import { deflate, deflateSync } from 'node:zlib';

/** ROOT compresses at most this many bytes per frame: the frame header has 3-byte sizes. */
export const MAX_FRAME = 0xffffff;
const HEADER = 9;
const deflateAsync = promisify(deflate);

/** ROOT's fCompress for zlib at `level` (algorithm 1 times 100 plus the level; 0 means none). */
export function compressionSetting(level: number): number {
  return level > 0 ? 100 + level : 0;
}

function frame(out: Uint8Array[], packed: Uint8Array, rawLength: number): boolean {
  if (packed.length > MAX_FRAME) return false;
  const h = new Uint8Array(HEADER);
  h[0] = 0x5a; // 'Z'
  h[1] = 0x4c; // 'L'
  h[2] = 8; // deflate
  for (let i = 0; i < 3; i++) {
    h[3 + i] = (packed.length >>> (8 * i)) & 0xff;
    h[6 + i] = (rawLength >>> (8 * i)) & 0xff;
  }
  out.push(h, packed);
  return true;
}

function join(parts: Uint8Array[], total: number, limit: number): Uint8Array | null {
  // Readers tell compressed from stored records by the sizes alone, so a record may only be
  // compressed when that makes it strictly smaller.
  if (total >= limit) return null;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function chunks(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += MAX_FRAME) out.push(data.subarray(at, at + MAX_FRAME));
  return out;
}

/**
 * ROOT's "ZL" framing of zlib streams: each frame of at most 0xffffff input bytes is a 9-byte
 * header ('Z', 'L', method 8, 3-byte little-endian compressed and uncompressed sizes) and a zlib
 * stream. Returns null when compression would not save space; the caller then stores the bytes.
 */
export function compressFrames(data: Uint8Array, level: number): Uint8Array | null {
  if (level <= 0 || data.length === 0) return null;
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const c of chunks(data)) {
    const packed = deflateSync(c, { level });
    if (!frame(parts, packed, c.length)) return null;
    total += HEADER + packed.length;
  }
  return join(parts, total, data.length);
}

/** `compressFrames` on libuv's thread pool, so that several baskets compress in parallel. */
export async function compressFramesAsync(data: Uint8Array, level: number): Promise<Uint8Array | null> {
  if (level <= 0 || data.length === 0) return null;
  const packed = await Promise.all(chunks(data).map((c) => deflateAsync(c, { level })));
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < packed.length; i++) {
    const rawLength = Math.min(MAX_FRAME, data.length - i * MAX_FRAME);
    if (!frame(parts, packed[i], rawLength)) return null;
    total += HEADER + packed[i].length;
  }
  return join(parts, total, data.length);
}
