import type { BasketRef, BranchInfo } from './branch-info.js';
import {
  decompressFramesSync,
  decompressRecord,
  type Frame,
  joinParts,
  readFrames,
} from './codecs/decompress.js';
import { CorruptFileError } from './errors.js';

/** A basket's payload after decompression: the entries' bytes and, for variable-size entries, where each starts. */
export interface RawBasket {
  entryStart: number;
  entryStop: number;
  /** entries' bytes, back to back; this buffer is owned by the caller and may be modified in place */
  data: Uint8Array;
  /**
   * entries + 1 byte offsets into data, when entries have variable size; absent for a counted
   * branch whose writer left them out (ROOT 6.12+ offset maps): the counter's values give them
   */
  byteOffsets?: Int32Array;
}

interface BasketHeader {
  nbytes: number;
  objlen: number;
  keylen: number;
  nevbufsize: number;
  nevbuf: number;
  last: number;
  /** ROOT 6.12+ IO bits (bit 0: entry offsets may be left out and generated from the counter) */
  ioBits: number;
  /** ROOT's basket flag; 80 and above: the entry offsets were left out */
  flag: number;
}

/** TBasket::EIOBits::kGenerateOffsetMap */
const GENERATE_OFFSETS = 1;

/** Parses the TKey + TBasket header at the start of a basket record. */
function parseHeader(raw: Uint8Array, source: string, branch: string): BasketHeader {
  const bad = (what: string): never => {
    throw new CorruptFileError(source, `basket of branch "${branch}": ${what}`);
  };
  if (raw.length < 32) bad('record shorter than its header');
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const nbytes = v.getInt32(0);
  const version = v.getInt16(4);
  const objlen = v.getInt32(6);
  const keylen = v.getInt16(14);
  if (nbytes !== raw.length) bad(`key says ${nbytes} bytes, the branch says ${raw.length}`);
  if (keylen < 32 || keylen >= nbytes) bad(`impossible key length ${keylen}`);
  // after the fixed part: seekkey/seekpdir (4 or 8 bytes each), then class name, name, title
  let p = 18 + (version > 1000 ? 16 : 8);
  for (let s = 0; s < 3; s++) {
    if (p >= keylen) bad('header strings run past the key');
    const len = raw[p];
    p += len === 255 ? 5 + v.getInt32(p + 1) : 1 + len;
  }
  // version (2), buffer size (4), entries' buffer size (4; negative from ROOT 6.12 on: one byte of
  // IO bits follows), entries (4), last byte (4), flag (1)
  if (p + 11 > keylen) bad('basket fields run past the key');
  const nevbufsize = v.getInt32(p + 6);
  const ioBits = nevbufsize < 0 ? raw[p + 10] : 0;
  if (nevbufsize < 0 && (ioBits === 0 || ioBits & 0x80)) bad(`impossible IO bits ${ioBits}`);
  if (ioBits & ~GENERATE_OFFSETS) bad(`IO bits ${ioBits} name features newer than this reader`);
  const q = p + (nevbufsize < 0 ? 11 : 10);
  if (q + 9 > keylen) bad('basket fields run past the key');
  const nevbuf = v.getInt32(q);
  const last = v.getInt32(q + 4);
  const flag = raw[q + 8];
  if (objlen < 0 || last < keylen || last > keylen + objlen)
    bad(`impossible data length (fLast ${last}, object ${objlen})`);
  return { nbytes, objlen, keylen, nevbufsize: Math.abs(nevbufsize), nevbuf, last, ioBits, flag };
}

/**
 * Splits an uncompressed basket into entry data and byte offsets. The offsets follow the data as
 * [count, offset_0 .. offset_{n-1}, 0], counted from the start of the key; we rebase them on the data.
 */
function split(
  payload: Uint8Array | Uint8Array[],
  h: BasketHeader,
  ref: BasketRef,
  variable: boolean,
  source: string,
  branch: string,
): RawBasket {
  const border = h.last - h.keylen;
  // ROOT often compresses the entries and their offsets as separate frames: then no joining is needed
  const parts = Array.isArray(payload) ? payload : [payload];
  const whole = parts.length === 2 && parts[0].length === border ? undefined : joinParts(parts, h.objlen);
  const data = whole ? whole.subarray(0, border) : parts[0];
  const n = ref.entryStop - ref.entryStart;
  if (h.nevbuf !== n) {
    throw new CorruptFileError(
      source,
      `basket of branch "${branch}" holds ${h.nevbuf} entries, the branch says ${n}`,
    );
  }
  if (!variable) return { entryStart: ref.entryStart, entryStop: ref.entryStop, data };
  // offsets left out: generated from the counter branch later (see iterate)
  if (h.flag >= 80) return { entryStart: ref.entryStart, entryStop: ref.entryStop, data };
  const tail = whole ? whole.subarray(border) : parts[1];
  if (tail.length < 4 * (n + 1)) {
    throw new CorruptFileError(source, `basket of branch "${branch}" is missing its entry offsets`);
  }
  // big-endian int32s after the count: copy into an aligned array and swap natively
  const byteOffsets = new Int32Array(n + 1);
  const bytes = new Uint8Array(byteOffsets.buffer, 0, 4 * n);
  bytes.set(tail.subarray(4, 4 + 4 * n));
  Buffer.from(bytes.buffer, 0, 4 * n).swap32();
  if (h.ioBits & GENERATE_OFFSETS) {
    // a branch that asked for generated offsets but could not have them stores entry sizes instead
    // ([0, size of entry 0, ...]): their running sums are the offsets
    let at = 0;
    for (let i = 0; i < n; i++) {
      const size = i + 1 < n ? byteOffsets[i + 1] : border - at;
      byteOffsets[i] = at;
      at += size;
      if (size < 0 || at > border)
        throw new CorruptFileError(source, `basket of branch "${branch}" has impossible entry sizes`);
    }
    byteOffsets[n] = border;
    return { entryStart: ref.entryStart, entryStop: ref.entryStop, data, byteOffsets };
  }
  let prev = 0;
  const keylen = h.keylen;
  for (let i = 0; i < n; i++) {
    const o = byteOffsets[i] - keylen;
    if (o < prev || o > border) {
      throw new CorruptFileError(source, `basket of branch "${branch}" has out-of-order entry offsets`);
    }
    byteOffsets[i] = o;
    prev = o;
  }
  byteOffsets[n] = border;
  return { entryStart: ref.entryStart, entryStop: ref.entryStop, data, byteOffsets };
}

/** True when entries of this branch have variable size, so baskets carry entry offsets. */
export function hasEntryOffsets(b: BranchInfo): boolean {
  return b.shape === 'jagged' || b.encoding.kind === 'vector';
}

function embeddedBasket(ref: BasketRef): RawBasket {
  const e = ref.embedded!;
  return { entryStart: ref.entryStart, entryStop: ref.entryStop, data: e.data, byteOffsets: e.byteOffsets };
}

/** A basket record whose payload is zlib frames only: what a worker needs to inflate it. */
export interface ZlibBasket {
  header: BasketHeader;
  /** the payload's frames; `start` counts from the start of the payload, at `header.keylen` in the record */
  frames: Frame[];
}

/**
 * The zlib frames of a basket record, or undefined when the payload is stored or some frame uses
 * another codec (the general path decodes those). Frames that disagree with the key are reported.
 */
export function zlibBasket(raw: Uint8Array, branch: BranchInfo, source: string): ZlibBasket | undefined {
  const h = parseHeader(raw, source, branch.name);
  const payload = raw.subarray(h.keylen);
  if (payload.length === h.objlen) return;
  const frames = readFrames(payload, h.objlen, source);
  return frames.every((f) => f.tag === 'ZL') ? { header: h, frames } : undefined;
}

/** Entry data of a basket whose zlib frames were inflated elsewhere. */
export function finishZlibBasket(
  payload: Uint8Array,
  z: ZlibBasket,
  ref: BasketRef,
  branch: BranchInfo,
  source: string,
): RawBasket {
  if (payload.length !== z.header.objlen) {
    throw new CorruptFileError(
      source,
      `ZL frames inflated to ${payload.length} bytes, expected ${z.header.objlen}`,
    );
  }
  return split(payload, z.header, ref, hasEntryOffsets(branch), source, branch.name);
}

/** Turns the bytes of a basket record (as read from the file) into entry data. */
export async function decodeBasket(
  raw: Uint8Array,
  ref: BasketRef,
  branch: BranchInfo,
  source: string,
  parallel: boolean,
): Promise<RawBasket> {
  if (ref.embedded) return embeddedBasket(ref);
  const h = parseHeader(raw, source, branch.name);
  const payload = await decompressRecord(raw.subarray(h.keylen), h.objlen, source, parallel);
  return split(payload, h, ref, hasEntryOffsets(branch), source, branch.name);
}

/** decodeBasket without waiting, when the codec allows (zlib, LZ4, ZSTD); undefined otherwise. */
export function decodeBasketSync(
  raw: Uint8Array,
  ref: BasketRef,
  branch: BranchInfo,
  source: string,
): RawBasket | undefined {
  if (ref.embedded) return embeddedBasket(ref);
  const h = parseHeader(raw, source, branch.name);
  const parts = decompressFramesSync(raw.subarray(h.keylen), h.objlen, source);
  return parts && split(parts, h, ref, hasEntryOffsets(branch), source, branch.name);
}
