import type { RawBasket } from './basket.js';
import type { BranchInfo } from './branch-info.js';
import { CorruptFileError } from './errors.js';
import { DTYPE_SIZE, type DType, type TypedValues } from './types.js';

/**
 * One basket's values as typed arrays: offsets (in values, not bytes) for jagged branches, which
 * are missing until generated from the counter when the writer left them out.
 */
export interface DecodedBasket {
  entryStart: number;
  entryStop: number;
  values: TypedValues;
  offsets?: Int32Array;
}

export function viewAs(dtype: DType, buf: ArrayBuffer, byteOffset: number, length: number): TypedValues {
  switch (dtype) {
    case 'bool':
    case 'uint8':
      return new Uint8Array(buf, byteOffset, length);
    case 'int8':
      return new Int8Array(buf, byteOffset, length);
    case 'int16':
      return new Int16Array(buf, byteOffset, length);
    case 'uint16':
      return new Uint16Array(buf, byteOffset, length);
    case 'int32':
      return new Int32Array(buf, byteOffset, length);
    case 'uint32':
      return new Uint32Array(buf, byteOffset, length);
    case 'int64':
      return new BigInt64Array(buf, byteOffset, length);
    case 'uint64':
      return new BigUint64Array(buf, byteOffset, length);
    case 'float32':
      return new Float32Array(buf, byteOffset, length);
    case 'float64':
      return new Float64Array(buf, byteOffset, length);
  }
}

export function allocValues(dtype: DType, length: number): TypedValues {
  const size = DTYPE_SIZE[dtype];
  // not zero-filled: every element is overwritten by the caller
  const buf = Buffer.allocUnsafeSlow(length * size);
  return viewAs(dtype, buf.buffer as ArrayBuffer, buf.byteOffset, length);
}

/**
 * Big-endian bytes → native typed array. Swaps in place with Buffer's native swap (the data buffer
 * is ours), copying first only when the bytes are not aligned for the element size.
 */
function fromBigEndian(bytes: Uint8Array, dtype: DType, itemSize: number, owned: boolean): TypedValues {
  const count = bytes.length / itemSize;
  let b = bytes;
  if (!owned || (itemSize > 1 && b.byteOffset % itemSize !== 0)) {
    // not Buffer#slice: on a Buffer that returns a view, and the copy must be aligned and ours
    b = new Uint8Array(bytes.length);
    b.set(bytes);
  }
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (itemSize === 2) buf.swap16();
  else if (itemSize === 4) buf.swap32();
  else if (itemSize === 8) buf.swap64();
  return viewAs(dtype, b.buffer as ArrayBuffer, b.byteOffset, count);
}

/** Double32_t / Float16_t stored with a range or truncated mantissa: decoded value by value. */
function decodePacked(bytes: Uint8Array, info: BranchInfo): TypedValues {
  const enc = info.encoding;
  if (enc.kind !== 'double32' && enc.kind !== 'float16') throw new Error('not a packed encoding');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length / info.itemSize;
  const out = info.dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  if (enc.min === enc.max && enc.nbits === 0) {
    for (let i = 0; i < n; i++) out[i] = v.getFloat32(4 * i);
    return out;
  }
  if (enc.min !== enc.max) {
    const nbits = enc.nbits < 2 || enc.nbits > 32 ? 32 : enc.nbits;
    const big = nbits < 32 ? 2 ** nbits : 0xffffffff;
    const scale = (enc.max - enc.min) / big;
    for (let i = 0; i < n; i++) out[i] = enc.min + v.getUint32(4 * i) * scale;
    return out;
  }
  // exponent byte + 16-bit mantissa holding the top `nbits` bits of an IEEE float's mantissa
  const nbits = enc.nbits < 2 || enc.nbits > 16 ? 12 : enc.nbits;
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i++) {
    const exp = v.getUint8(3 * i);
    const man = v.getUint16(3 * i + 1);
    u[0] = ((exp << 23) | ((man & ((1 << (nbits + 1)) - 1)) << (23 - nbits))) >>> 0;
    if ((1 << (nbits + 1)) & man) f[0] = -f[0];
    out[i] = f[0];
  }
  return out;
}

/** std::vector<T> entries: skip each entry's 10-byte header (byte count, version, size) and gather values. */
function gatherVectors(
  raw: RawBasket,
  info: BranchInfo,
  source: string,
): { bytes: Uint8Array; offsets: Int32Array } {
  const bo = raw.byteOffsets!;
  const n = raw.entryStop - raw.entryStart;
  const v = new DataView(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
  const offsets = new Int32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const len = bo[i + 1] - bo[i];
    const count = len >= 10 ? v.getInt32(bo[i] + 6) : 0;
    if (len !== 0 && (len < 10 || count < 0 || 10 + count * info.itemSize !== len)) {
      throw new CorruptFileError(
        source,
        `entry ${raw.entryStart + i} of vector branch "${info.name}" has an inconsistent size`,
      );
    }
    total += count;
    offsets[i + 1] = total;
  }
  const bytes = new Uint8Array(total * info.itemSize);
  for (let i = 0; i < n; i++) {
    const len = (offsets[i + 1] - offsets[i]) * info.itemSize;
    if (len) bytes.set(raw.data.subarray(bo[i] + 10, bo[i] + 10 + len), offsets[i] * info.itemSize);
  }
  return { bytes, offsets };
}

/** Decodes one basket of a numeric branch. `owned`: raw.data may be modified in place. */
export function interpretBasket(
  raw: RawBasket,
  info: BranchInfo,
  source: string,
  owned: boolean,
): DecodedBasket {
  const dtype = info.dtype!;
  const n = raw.entryStop - raw.entryStart;
  const perEntry = (info.inner ?? [1]).reduce((a, b) => a * b, 1);
  const bad = (what: string): never => {
    throw new CorruptFileError(source, `basket of branch "${info.name}" at entry ${raw.entryStart}: ${what}`);
  };
  let bytes = raw.data;
  let offsets: Int32Array | undefined;
  if (!raw.byteOffsets && (info.encoding.kind === 'vector' || info.shape === 'jagged') && !info.counter) {
    bad('its entry offsets were left out and it has no counter branch to generate them from');
  }
  if (info.encoding.kind === 'vector') {
    const g = gatherVectors(raw, info, source);
    bytes = g.bytes;
    offsets = g.offsets;
    owned = true;
  } else if (info.shape === 'jagged' && raw.byteOffsets) {
    const bo = raw.byteOffsets;
    offsets = new Int32Array(n + 1);
    const unit = info.itemSize;
    for (let i = 0; i <= n; i++) {
      const o = bo[i] - bo[0];
      if (o % unit !== 0) bad('an entry does not hold a whole number of values');
      offsets[i] = o / unit;
    }
    bytes = raw.data.subarray(bo[0], bo[n]);
  } else if (info.shape !== 'jagged' && raw.data.length !== n * perEntry * info.itemSize) {
    bad(`${raw.data.length} bytes for ${n} entries of ${perEntry * info.itemSize} bytes`);
  }
  if (bytes.length % info.itemSize !== 0) bad('data length is not a whole number of values');
  const values =
    info.encoding.kind === 'double32' || info.encoding.kind === 'float16'
      ? decodePacked(bytes, info)
      : fromBigEndian(bytes, dtype, info.itemSize, owned);
  return { entryStart: raw.entryStart, entryStop: raw.entryStop, values, offsets };
}
