import { inflateSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { CorruptFileError, UnsupportedCodecError } from '../errors.js';
import { inflateManyOnWorker, inflateOnWorker, packFrames, type ZlibRecord } from './inflate-pool.js';
import { lz4DecodeBlock } from './lz4.js';
import { loadXxhash, xxhash64Sync } from './xxhash.js';
import { xzDecompress } from './xz.js';

/** ROOT's compression frame header: 2-byte algorithm tag, method byte, 3+3 little-endian sizes. */
const HEADER = 9;
/** A frame never holds more than this many uncompressed bytes (3-byte size field). */
const MAX_FRAME = 0xffffff;

/** One compression frame of a record: its algorithm tag and where its compressed bytes lie. */
export interface Frame {
  tag: string;
  /** offset of the compressed bytes in the record (after the frame's 9-byte header) */
  start: number;
  compressed: number;
  uncompressed: number;
}

/** The frames of a compressed record, checked against the record's size in its key. */
export function readFrames(src: Uint8Array, expected: number, source: string): Frame[] {
  const frames: Frame[] = [];
  let pos = 0;
  let total = 0;
  while (total < expected) {
    if (pos + HEADER > src.length)
      throw new CorruptFileError(source, 'a compressed record ends inside a frame header');
    const tag = String.fromCharCode(src[pos], src[pos + 1]);
    const compressed = src[pos + 3] | (src[pos + 4] << 8) | (src[pos + 5] << 16);
    const uncompressed = src[pos + 6] | (src[pos + 7] << 8) | (src[pos + 8] << 16);
    if (pos + HEADER + compressed > src.length) {
      throw new CorruptFileError(
        source,
        `a ${tag} frame claims ${compressed} bytes but only ${src.length - pos - HEADER} remain`,
      );
    }
    if (uncompressed === 0 || uncompressed > MAX_FRAME || total + uncompressed > expected) {
      throw new CorruptFileError(source, 'a compression frame disagrees with the record size in its key');
    }
    frames.push({ tag, start: pos + HEADER, compressed, uncompressed });
    pos += HEADER + compressed;
    total += uncompressed;
  }
  return frames;
}

function codecName(tag: string, src: Uint8Array, at: number): string {
  if (tag === 'CS') return 'old ROOT algorithm (CS)';
  const printable = /^[\x20-\x7e]{2}$/.test(tag)
    ? tag
    : `0x${src[at].toString(16)}${src[at + 1].toString(16)}`;
  return `unknown (frame tag "${printable}")`;
}

/**
 * One output chunk of exactly the frame's size: zlib then writes straight into the result instead
 * of collecting 16 KiB pieces and concatenating them (a copy per basket).
 */
export function inflateOptions(
  size: number,
  compressed = size,
): { maxOutputLength: number; chunkSize: number } {
  // deflate cannot expand more than ~1032:1, so a corrupt size field cannot make us allocate more
  return { maxOutputLength: size, chunkSize: Math.max(64, Math.min(size + 64, compressed * 1040 + 1024)) };
}

/** Decodes one frame without waiting, or returns undefined when its codec needs async set-up (xz). */
function decodeFrameSync(body: Uint8Array, f: Frame): Uint8Array | undefined {
  switch (f.tag) {
    case 'ZL':
      return inflateSync(body, inflateOptions(f.uncompressed, body.length));
    case 'L4': {
      if (body.length < 8) throw new RangeError('LZ4 frame shorter than its checksum');
      const block = body.subarray(8);
      if (f.uncompressed > block.length * 255 + 64)
        throw new RangeError('LZ4 frame claims an impossible expansion');
      const hash = xxhash64Sync(block);
      if (hash === undefined) return undefined;
      if (hash !== new DataView(body.buffer, body.byteOffset, 8).getBigUint64(0, false)) {
        throw new RangeError('LZ4 checksum mismatch');
      }
      const out = new Uint8Array(f.uncompressed);
      if (lz4DecodeBlock(block, out) !== f.uncompressed) throw new RangeError('LZ4 block size mismatch');
      return out;
    }
    case 'ZS':
      return zstdDecompress(body, new Uint8Array(f.uncompressed));
    default:
      return undefined;
  }
}

async function decodeFrameAsync(body: Uint8Array, f: Frame, parallel: boolean): Promise<Uint8Array> {
  switch (f.tag) {
    case 'ZL':
      return parallel
        ? inflateOnWorker(body, f.uncompressed)
        : inflateSync(body, inflateOptions(f.uncompressed, body.length));
    case 'L4':
      await loadXxhash();
      return decodeFrameSync(body, f)!;
    case 'XZ':
      return xzDecompress(body, f.uncompressed);
    default:
      return decodeFrameSync(body, f)!;
  }
}

const KNOWN = new Set(['ZL', 'L4', 'ZS', 'XZ']);

function corrupt(source: string, f: Frame, err: unknown): CorruptFileError {
  const why = err instanceof Error ? err.message : String(err);
  return new CorruptFileError(source, `cannot decompress a ${f.tag} frame (${why})`, { cause: err });
}

function checkLength<T extends Uint8Array | undefined>(out: T, f: Frame, source: string): T {
  if (out && out.length !== f.uncompressed) {
    throw new CorruptFileError(
      source,
      `a ${f.tag} frame inflated to ${out.length} bytes, expected ${f.uncompressed}`,
    );
  }
  return out;
}

function frameBody(src: Uint8Array, f: Frame, source: string): Uint8Array {
  if (!KNOWN.has(f.tag)) throw new UnsupportedCodecError(source, codecName(f.tag, src, f.start - HEADER));
  return src.subarray(f.start, f.start + f.compressed);
}

function decodeChecked(src: Uint8Array, f: Frame, source: string): Uint8Array | undefined {
  const body = frameBody(src, f, source);
  try {
    return checkLength(decodeFrameSync(body, f), f, source);
  } catch (err) {
    throw err instanceof CorruptFileError ? err : corrupt(source, f, err);
  }
}

async function decodeCheckedAsync(
  src: Uint8Array,
  f: Frame,
  source: string,
  parallel: boolean,
): Promise<Uint8Array> {
  const body = frameBody(src, f, source);
  try {
    return checkLength(await decodeFrameAsync(body, f, parallel), f, source);
  } catch (err) {
    throw err instanceof CorruptFileError ? err : corrupt(source, f, err);
  }
}

/** Frames' bytes back to back (the frame itself when there is one). */
export function joinParts(parts: Uint8Array[], expected: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(expected);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The same as decompressRecord without waiting, for the single-threaded hot path, each frame's
 * bytes apart; undefined when some frame needs an asynchronous codec (the caller then uses
 * decompressRecord).
 */
export function decompressFramesSync(
  src: Uint8Array,
  expected: number,
  source: string,
): Uint8Array[] | undefined {
  if (src.length === expected) return [src]; // stored uncompressed
  const parts: Uint8Array[] = [];
  for (const f of readFrames(src, expected, source)) {
    const out = decodeChecked(src, f, source);
    if (!out) return undefined;
    parts.push(out);
  }
  return parts;
}

/**
 * Undoes ROOT's record compression: one or more frames, each with its own algorithm.
 * `parallel` inflates zlib frames on worker threads so several baskets inflate on every core;
 * the bytes are identical either way.
 */
export async function decompressRecord(
  src: Uint8Array,
  expected: number,
  source: string,
  parallel = false,
): Promise<Uint8Array> {
  if (src.length === expected) return src; // stored uncompressed
  const frames = readFrames(src, expected, source);
  // one frame after another: memory grows only as frames really decode, whatever the sizes claim
  const parts: Uint8Array[] = [];
  for (const f of frames) parts.push(await decodeCheckedAsync(src, f, source, parallel));
  return joinParts(parts, expected);
}

/** Compressed bytes sent to a worker in one message: a group each core can start on early. */
const WORKER_GROUP = 1024 * 1024;

/**
 * Several records decompressed together (RNTuple pages): with `parallel`, records made of zlib
 * frames only are inflated on the worker pool, about 1 MB of compressed bytes per message; the
 * others here. Stored records (as long as their size) are returned as they are.
 */
export async function decompressMany(
  raws: readonly Uint8Array[],
  sizes: readonly number[],
  source: string,
  parallel: boolean,
): Promise<Uint8Array[]> {
  const out = new Array<Uint8Array>(raws.length);
  const pending: Promise<void>[] = [];
  let group: Array<{ i: number; rec: ZlibRecord }> = [];
  let groupBytes = 0;
  const flush = (): void => {
    if (!group.length) return;
    const g = group;
    const { buf, items, counts } = packFrames(
      g.map((x) => raws[x.i]),
      g.map((x) => x.rec),
      false,
    );
    pending.push(
      inflateManyOnWorker(buf, items, counts).then((results) =>
        results.forEach((r, k) => {
          if (r instanceof Error)
            throw new CorruptFileError(source, `cannot decompress a ZL frame (${r.message})`, { cause: r });
          out[g[k].i] = r;
        }),
      ),
    );
    group = [];
    groupBytes = 0;
  };
  raws.forEach((raw, i) => {
    if (raw.length === sizes[i]) {
      out[i] = raw;
      return;
    }
    if (parallel) {
      const frames = readFrames(raw, sizes[i], source);
      if (frames.every((f) => f.tag === 'ZL')) {
        group.push({ i, rec: { base: 0, frames } });
        groupBytes += raw.length;
        if (groupBytes >= WORKER_GROUP) flush();
        return;
      }
    }
    const parts = decompressFramesSync(raw, sizes[i], source);
    if (parts) out[i] = joinParts(parts, sizes[i]);
    else
      pending.push(
        decompressRecord(raw, sizes[i], source, parallel).then((b) => {
          out[i] = b;
        }),
      );
  });
  flush();
  await Promise.all(pending);
  return out;
}
