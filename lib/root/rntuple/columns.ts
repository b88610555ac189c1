import type { DType, TypedValues } from '../types.js';
import type { ColumnRecord } from './envelopes.js';
import { unsplitBlocks } from './unsplit-simd.js';

/**
 * How a column stores its elements. `dtype` is what a page decodes to: index columns decode to
 * float64 offsets (exact below 2^53), switch columns are understood but never decoded (variants
 * are skipped).
 */
export interface ColumnType {
  name: string;
  /** bytes per element; 0 for bit-packed columns (Bit, Real32Trunc, Real32Quant) */
  size: number;
  dtype: DType | 'index' | 'switch';
  split: boolean;
  zigzag: boolean;
  delta: boolean;
  packed?: 'bit' | 'trunc' | 'quant' | 'half';
}

const T = (
  name: string,
  size: number,
  dtype: ColumnType['dtype'],
  extra: Partial<ColumnType> = {},
): ColumnType => ({ name, size, dtype, split: false, zigzag: false, delta: false, ...extra });

/** Column types of RNTuple format 1.0, by their on-disk code. */
const TYPES: Record<number, ColumnType> = {
  0: T('Bit', 0, 'bool', { packed: 'bit' }),
  1: T('Byte', 1, 'uint8'),
  2: T('Char', 1, 'int8'),
  3: T('Int8', 1, 'int8'),
  4: T('UInt8', 1, 'uint8'),
  5: T('Int16', 2, 'int16'),
  6: T('UInt16', 2, 'uint16'),
  7: T('Int32', 4, 'int32'),
  8: T('UInt32', 4, 'uint32'),
  9: T('Int64', 8, 'int64'),
  10: T('UInt64', 8, 'uint64'),
  11: T('Real16', 2, 'float32', { packed: 'half' }),
  12: T('Real32', 4, 'float32'),
  13: T('Real64', 8, 'float64'),
  14: T('Index32', 4, 'index'),
  15: T('Index64', 8, 'index'),
  16: T('Switch', 12, 'switch'),
  17: T('SplitInt16', 2, 'int16', { split: true, zigzag: true }),
  18: T('SplitUInt16', 2, 'uint16', { split: true }),
  19: T('SplitInt32', 4, 'int32', { split: true, zigzag: true }),
  20: T('SplitUInt32', 4, 'uint32', { split: true }),
  21: T('SplitInt64', 8, 'int64', { split: true, zigzag: true }),
  22: T('SplitUInt64', 8, 'uint64', { split: true }),
  23: T('SplitReal16', 2, 'float32', { split: true, packed: 'half' }),
  24: T('SplitReal32', 4, 'float32', { split: true }),
  25: T('SplitReal64', 8, 'float64', { split: true }),
  26: T('SplitIndex32', 4, 'index', { split: true, delta: true }),
  27: T('SplitIndex64', 8, 'index', { split: true, delta: true }),
  28: T('Real32Trunc', 0, 'float32', { packed: 'trunc' }),
  29: T('Real32Quant', 0, 'float32', { packed: 'quant' }),
};

/** The column's type, or why it cannot be read (unknown type, impossible bit width). */
export function columnType(rec: ColumnRecord): ColumnType | string {
  const t = TYPES[rec.type];
  if (!t) return `column type 0x${rec.type.toString(16)} is newer than this reader`;
  const ok =
    t.packed === 'trunc'
      ? rec.bits >= 10 && rec.bits <= 31
      : t.packed === 'quant'
        ? rec.bits >= 1 &&
          rec.bits <= 32 &&
          rec.min !== undefined &&
          rec.max !== undefined &&
          rec.min <= rec.max
        : rec.bits === (t.packed === 'bit' ? 1 : 8 * t.size);
  return ok ? t : `a ${t.name} column with ${rec.bits} bits per element is not valid`;
}

/** Bytes a page of `n` elements holds once decompressed. */
export function pageBytes(t: ColumnType, bits: number, n: number): number {
  return t.size ? n * t.size : Math.ceil((n * bits) / 8);
}

/**
 * Split encoding stores all first bytes of a page's `n` elements, then all second bytes, ...: puts
 * elements [from, to) back together into `count` elements of `size` bytes at buf[byteOffset ..],
 * zigzag-decoded when `zigzag` (2-, 4- and 8-byte elements).
 */
export function gather(
  src: Uint8Array,
  n: number,
  size: number,
  from: number,
  to: number,
  buf: ArrayBufferLike,
  byteOffset: number,
  zigzag = false,
): void {
  if (size === 4 || size === 8) {
    // whole groups of 16 elements by SIMD, the rest (and everything without SIMD) below
    const done = unsplitBlocks(src, n, size, from, to, buf, byteOffset, zigzag);
    from += done;
    byteOffset += done * size;
  }
  const count = to - from;
  if (count === 0) return;
  if (size === 4 || size === 8) {
    // 32-bit words (the second half of an 8-byte element follows its first, little-endian)
    const o = new Int32Array(buf, byteOffset, (count * size) / 4);
    const words = size / 4;
    for (let w = 0; w < words; w++) gatherWords(src, n, from, count, o, words, w);
    if (zigzag) unzigzag(size === 4 ? o : new BigInt64Array(buf, byteOffset, count));
    return;
  }
  const dst = new Uint8Array(buf, byteOffset, count * size);
  for (let b = 0; b < size; b++) for (let i = 0; i < count; i++) dst[i * size + b] = src[b * n + from + i];
  if (zigzag && size === 2) unzigzag(new Int16Array(buf, byteOffset, count));
}

/**
 * Word `w` of elements [from, from + count) out of its four byte planes into o[w], o[w + words], ...
 * Where the planes are 4-byte aligned, four elements at a time: one 32-bit load per plane and a 4x4
 * byte transpose in registers (about twice as fast in V8 as four byte loads per element).
 */
function gatherWords(
  src: Uint8Array,
  n: number,
  from: number,
  count: number,
  o: Int32Array,
  words: number,
  w: number,
): void {
  const b0 = 4 * w * n + from;
  let i = 0;
  let k = w;
  if ((n & 3) === 0 && ((src.byteOffset + b0) & 3) === 0) {
    const s = new Int32Array(src.buffer, src.byteOffset + b0, (src.length - b0) >> 2);
    const q = n >> 2;
    const quads = count >> 2;
    for (let j = 0; j < quads; j++) {
      const a = s[j];
      const b = s[q + j];
      const c = s[2 * q + j];
      const d = s[3 * q + j];
      const ab02 = (a & 0x00ff00ff) | ((b & 0x00ff00ff) << 8);
      const ab13 = ((a >>> 8) & 0x00ff00ff) | (b & 0xff00ff00);
      const cd02 = (c & 0x00ff00ff) | ((d & 0x00ff00ff) << 8);
      const cd13 = ((c >>> 8) & 0x00ff00ff) | (d & 0xff00ff00);
      o[k] = (ab02 & 0xffff) | (cd02 << 16);
      o[k + words] = (ab13 & 0xffff) | (cd13 << 16);
      o[k + 2 * words] = (ab02 >>> 16) | (cd02 & 0xffff0000);
      o[k + 3 * words] = (ab13 >>> 16) | (cd13 & 0xffff0000);
      k += 4 * words;
    }
    i = quads * 4;
  }
  const b1 = b0 + n;
  const b2 = b1 + n;
  const b3 = b2 + n;
  for (; i < count; i++, k += words)
    o[k] = src[b0 + i] | (src[b1 + i] << 8) | (src[b2 + i] << 16) | (src[b3 + i] << 24);
}

function unsplit(src: Uint8Array, n: number, size: number): Uint8Array {
  const out = new Uint8Array(n * size);
  gather(src, n, size, 0, n, out.buffer, 0);
  return out;
}

/** Elements of a page as a typed array over `bytes` (copied when not aligned for the element size). */
function view(bytes: Uint8Array, n: number, dtype: DType, size: number): TypedValues {
  let b = bytes;
  if (size > 1 && b.byteOffset % size !== 0) b = new Uint8Array(bytes.subarray(0, n * size));
  const buf = b.buffer as ArrayBuffer;
  switch (dtype) {
    case 'bool':
    case 'uint8':
      return new Uint8Array(buf, b.byteOffset, n);
    case 'int8':
      return new Int8Array(buf, b.byteOffset, n);
    case 'int16':
      return new Int16Array(buf, b.byteOffset, n);
    case 'uint16':
      return new Uint16Array(buf, b.byteOffset, n);
    case 'int32':
      return new Int32Array(buf, b.byteOffset, n);
    case 'uint32':
      return new Uint32Array(buf, b.byteOffset, n);
    case 'int64':
      return new BigInt64Array(buf, b.byteOffset, n);
    case 'uint64':
      return new BigUint64Array(buf, b.byteOffset, n);
    case 'float32':
      return new Float32Array(buf, b.byteOffset, n);
    case 'float64':
      return new Float64Array(buf, b.byteOffset, n);
  }
}

const ARRAYS: Partial<Record<ColumnType['dtype'], new (n: number) => TypedValues>> = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
};

/**
 * Whether elements of this column can be copied straight from a page's bytes into `out` (the
 * same element type, stored plain or split, not packed or delta-encoded): then no decoded copy of
 * the page is made.
 */
export function copiesInto(t: ColumnType, out: TypedValues): boolean {
  return !t.packed && !t.delta && ARRAYS[t.dtype] !== undefined && out instanceof ARRAYS[t.dtype]!;
}

/**
 * Elements [from, to) of a page of `n` elements (its decompressed bytes, plain or split) written
 * into out[at ..], then zigzag-decoded there. Only for columns `copiesInto` accepts.
 */
export function copyElements(
  src: Uint8Array,
  n: number,
  t: ColumnType,
  from: number,
  to: number,
  out: TypedValues,
  at: number,
): void {
  const size = t.size;
  const count = to - from;
  if (t.split) {
    gather(src, n, size, from, to, out.buffer, out.byteOffset + at * size, t.zigzag);
    return;
  }
  new Uint8Array(out.buffer, out.byteOffset + at * size, count * size).set(
    src.subarray(from * size, to * size),
  );
  if (t.zigzag) unzigzag((out as Int32Array).subarray(at, at + count) as TypedValues);
}

/** Zigzag (0, -1, 1, -2, ... stored as 0, 1, 2, 3, ...) back to two's complement, in place. */
function unzigzag(v: TypedValues): void {
  if (v instanceof BigInt64Array) {
    // on the two 32-bit halves: shift the 64-bit word right by one, then flip every bit if it was odd
    const h = new Uint32Array(v.buffer, v.byteOffset, 2 * v.length);
    for (let i = 0; i < h.length; i += 2) {
      const lo = h[i];
      const hi = h[i + 1];
      const flip = -(lo & 1);
      h[i] = (((lo >>> 1) | (hi << 31)) ^ flip) >>> 0;
      h[i + 1] = ((hi >>> 1) ^ flip) >>> 0;
    }
  } else if (v instanceof Int32Array) {
    for (let i = 0; i < v.length; i++) v[i] = (v[i] >>> 1) ^ -(v[i] & 1);
  } else if (v instanceof Int16Array) {
    for (let i = 0; i < v.length; i++) {
      const u = v[i] & 0xffff;
      v[i] = (u >>> 1) ^ -(u & 1);
    }
  }
}

/** IEEE half precision to float. */
function halves(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const man = h & 0x3ff;
    out[i] =
      exp === 0
        ? sign * man * 2 ** -24
        : exp === 31
          ? man
            ? Number.NaN
            : sign * Number.POSITIVE_INFINITY
          : sign * (1 + man / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/** `n` integers of `bits` bits each, packed least significant bit first. */
function unpackBits(src: Uint8Array, n: number, bits: number): Uint32Array {
  const out = new Uint32Array(n);
  let bit = 0;
  for (let i = 0; i < n; i++) {
    let v = 0;
    let got = 0;
    while (got < bits) {
      const byte = bit >>> 3;
      const off = bit & 7;
      const take = Math.min(8 - off, bits - got);
      v += ((src[byte] >>> off) & ((1 << take) - 1)) * 2 ** got;
      got += take;
      bit += take;
    }
    out[i] = v;
  }
  return out;
}

/**
 * Decodes one decompressed page of `n` elements. Encodings are undone page by page (split,
 * zigzag, delta restart in every page). `owned`: `bytes` may be viewed and modified in place.
 */
export function decodePage(
  bytes: Uint8Array,
  n: number,
  t: ColumnType,
  rec: ColumnRecord,
  owned: boolean,
): TypedValues {
  if (t.packed === 'bit') {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (bytes[i >>> 3] >>> (i & 7)) & 1;
    return out;
  }
  if (t.packed === 'trunc' || t.packed === 'quant') {
    const q = unpackBits(bytes, n, rec.bits);
    if (t.packed === 'trunc') {
      const shift = 32 - rec.bits;
      for (let i = 0; i < n; i++) q[i] = (q[i] << shift) >>> 0;
      return new Float32Array(q.buffer);
    }
    const out = new Float32Array(n);
    const min = rec.min!;
    const scale = (rec.max! - min) / (2 ** rec.bits - 1);
    for (let i = 0; i < n; i++) out[i] = min + q[i] * scale;
    return out;
  }
  let b = t.split ? unsplit(bytes, n, t.size) : owned ? bytes : new Uint8Array(bytes.subarray(0, n * t.size));
  if (t.packed === 'half') return halves(view(b, n, 'uint16', 2) as Uint16Array);
  if (t.dtype === 'switch') throw new Error('switch columns are not decoded');
  if (t.dtype === 'index') {
    const out = new Float64Array(n);
    const w = view(b, t.size === 4 ? n : 2 * n, 'uint32', 4) as Uint32Array;
    if (t.size === 4) for (let i = 0; i < n; i++) out[i] = w[i];
    else for (let i = 0; i < n; i++) out[i] = w[2 * i] + w[2 * i + 1] * 4294967296;
    // delta encoding: the page's first element is absolute, the others differences
    if (t.delta) for (let i = 1; i < n; i++) out[i] += out[i - 1];
    return out;
  }
  b = b.subarray(0, n * t.size);
  const v = view(b, n, t.dtype, t.size);
  if (t.zigzag) unzigzag(v);
  return v;
}
