import { InvalidInputError } from '../../errors.js';
import { loadXxh3, xxh3Sync } from '../codecs/xxhash.js';
import type { TypedValues } from '../types.js';
import { RootBuffer } from './buffer.js';
import { compressFrames, compressionSetting } from './compress.js';
import { EnvelopeBuffer } from './envelope-buffer.js';
import { keyLength, writeKeyHeader } from './key.js';
import type { RecordSink } from './tree-writer.js';
import { BEGIN } from './types.js';

/** A field of numbers: one per entry, or a std::vector of them. */
export interface RNTupleFieldSpec {
  name: string;
  dtype: 'int32' | 'uint32' | 'int64' | 'float32' | 'float64';
  jagged?: boolean;
}

export interface RNTupleOptions {
  /** entries per cluster (default 50,000) */
  clusterEntries?: number;
  /** elements per page (default 8,192: 32 KiB of floats, like a basket of 8,000 entries) */
  pageElements?: number;
}

/** The entries appended at once: values per field, and entries + 1 offsets for jagged fields. */
export type RNTupleEntries = Record<string, { values: TypedValues; offsets?: Int32Array }>;

/** C++ type, column type code (ROOT's default split encodings) and element size per dtype. */
const TYPES: Record<
  RNTupleFieldSpec['dtype'],
  { cpp: string; column: number; size: number; array: new (n: number) => TypedValues }
> = {
  int32: { cpp: 'std::int32_t', column: 0x13, size: 4, array: Int32Array },
  uint32: { cpp: 'std::uint32_t', column: 0x14, size: 4, array: Uint32Array },
  int64: { cpp: 'std::int64_t', column: 0x15, size: 8, array: BigInt64Array },
  float32: { cpp: 'float', column: 0x18, size: 4, array: Float32Array },
  float64: { cpp: 'double', column: 0x19, size: 8, array: Float64Array },
};
const SPLIT_INDEX64 = 0x1b;

interface ColumnOut {
  type: number;
  bits: number;
  field: number;
  size: number;
  zigzag: boolean;
  delta: boolean;
  /** elements written in earlier clusters */
  written: number;
}

interface PageOut {
  elements: number;
  offset: number;
  bytes: number;
}

/** Split encoding: every first byte of the page's elements, then every second byte, ... */
function split(bytes: Uint8Array, size: number): Uint8Array {
  const n = bytes.length / size;
  const out = new Uint8Array(bytes.length);
  for (let b = 0; b < size; b++) for (let i = 0; i < n; i++) out[b * n + i] = bytes[i * size + b];
  return out;
}

/**
 * Writes one RNTuple (format 1.0) of numeric fields into a ROOT file being written: pages with
 * ROOT's default encodings (split, zigzag integers, delta-encoded 64-bit offsets), zlib-compressed
 * at the file's level, each followed by its XXH3 checksum, in RBlob records; header, page list and
 * footer envelopes at the end; the anchor is the file's ROOT::RNTuple key.
 */
export class RNTupleWriter {
  private readonly columns: ColumnOut[] = [];
  /** per field: its columns (the index column first for a vector) */
  private readonly fieldColumns: number[][] = [];
  private readonly clusterEntries: number;
  private readonly pageElements: number;
  private pending: Array<{ entries: RNTupleEntries; n: number }> = [];
  private pendingEntries = 0;
  private entries = 0;
  private readonly clusters: Array<{ first: number; n: number; pages: PageOut[][]; offsets: number[] }> = [];

  constructor(
    private readonly sink: RecordSink,
    readonly name: string,
    readonly fields: readonly RNTupleFieldSpec[],
    options: RNTupleOptions = {},
  ) {
    this.clusterEntries = options.clusterEntries ?? 50_000;
    this.pageElements = options.pageElements ?? 8192;
    if (!(this.clusterEntries >= 1 && this.pageElements >= 1))
      throw new InvalidInputError('clusters and pages need at least one entry');
    let fieldId = 0;
    for (const f of fields) {
      const t = TYPES[f.dtype];
      if (!t) throw new InvalidInputError(`field "${f.name}": type ${f.dtype} cannot be written`);
      const value = {
        type: t.column,
        bits: 8 * t.size,
        size: t.size,
        zigzag: f.dtype.startsWith('int'),
        delta: false,
        written: 0,
      };
      if (f.jagged) {
        this.columns.push({
          type: SPLIT_INDEX64,
          bits: 64,
          field: fieldId,
          size: 8,
          zigzag: false,
          delta: true,
          written: 0,
        });
        this.columns.push({ ...value, field: fieldId + 1 });
        this.fieldColumns.push([this.columns.length - 2, this.columns.length - 1]);
        fieldId += 2;
      } else {
        this.columns.push({ ...value, field: fieldId });
        this.fieldColumns.push([this.columns.length - 1]);
        fieldId += 1;
      }
    }
  }

  /** Adds `n` entries; a cluster is written each time `clusterEntries` have gathered. */
  async append(entries: RNTupleEntries, n: number): Promise<void> {
    this.pending.push({ entries, n });
    this.pendingEntries += n;
    if (this.pendingEntries >= this.clusterEntries) await this.flush();
  }

  /** Writes an RBlob record (a page or an envelope) and returns where its payload is. */
  private async blob(payload: Uint8Array[]): Promise<{ offset: number; bytes: number }> {
    const bytes = payload.reduce((s, p) => s + p.length, 0);
    const big = true; // 64-bit seeks, whatever the file's size
    const keylen = keyLength('RBlob', '', '', big);
    const at = this.sink.reserve(keylen + bytes);
    const h = new RootBuffer(0, keylen);
    writeKeyHeader(h, {
      nbytes: keylen + bytes,
      objlen: bytes,
      datime: this.sink.datime,
      keylen,
      cycle: 1,
      seekKey: at,
      seekPdir: BEGIN,
      className: 'RBlob',
      name: '',
      title: '',
      big,
    });
    await this.sink.write(at, [h.finish(), ...payload]);
    return { offset: at + keylen, bytes };
  }

  /** Writes the gathered entries as one cluster. */
  private async flush(): Promise<void> {
    if (!this.pendingEntries) return;
    await loadXxh3();
    const n = this.pendingEntries;
    const pages: PageOut[][] = [];
    const offsets: number[] = [];
    for (const [fi, f] of this.fields.entries()) {
      const cols = this.fieldColumns[fi];
      const parts = this.pending.map((p) => p.entries[f.name]);
      if (parts.some((p) => !(p?.values instanceof TYPES[f.dtype].array) || (f.jagged && !p.offsets)))
        throw new InvalidInputError(
          `field "${f.name}" needs ${f.dtype} values${f.jagged ? ' and offsets' : ''}`,
        );
      let elements: Array<{ col: number; data: Uint8Array; count: number }>;
      if (f.jagged) {
        const ends = new BigUint64Array(n);
        let e = 0;
        let base = 0;
        for (const p of parts) {
          const o = p.offsets!;
          for (let i = 1; i < o.length; i++) ends[e++] = BigInt(base + o[i] - o[0]);
          base += o[o.length - 1] - o[0];
        }
        elements = [
          { col: cols[0], data: new Uint8Array(ends.buffer), count: n },
          {
            col: cols[1],
            data: this.bytesOf(
              parts.map((p) => p.values.subarray(p.offsets![0], p.offsets![p.offsets!.length - 1])),
            ),
            count: base,
          },
        ];
      } else {
        elements = [{ col: cols[0], data: this.bytesOf(parts.map((p) => p.values)), count: n }];
      }
      for (const { col, data, count } of elements) {
        const c = this.columns[col];
        offsets[col] = c.written;
        pages[col] = await this.writePages(c, data, count);
        c.written += count;
      }
    }
    this.clusters.push({ first: this.entries, n, pages, offsets });
    this.entries += n;
    this.pending = [];
    this.pendingEntries = 0;
  }

  private bytesOf(parts: TypedValues[]): Uint8Array {
    const total = parts.reduce((s, p) => s + p.byteLength, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
      at += p.byteLength;
    }
    return out;
  }

  private async writePages(c: ColumnOut, data: Uint8Array, count: number): Promise<PageOut[]> {
    const out: PageOut[] = [];
    for (let first = 0; first < count; first += this.pageElements) {
      const n = Math.min(this.pageElements, count - first);
      const raw = data.slice(first * c.size, (first + n) * c.size);
      if (c.delta) {
        const v = new BigUint64Array(raw.buffer);
        for (let i = n - 1; i > 0; i--) v[i] -= v[i - 1];
      }
      if (c.zigzag && c.size === 4) {
        const v = new Int32Array(raw.buffer);
        for (let i = 0; i < n; i++) v[i] = (v[i] << 1) ^ (v[i] >> 31);
      } else if (c.zigzag) {
        const v = new BigInt64Array(raw.buffer);
        for (let i = 0; i < n; i++) v[i] = (v[i] << 1n) ^ (v[i] >> 63n);
      }
      const encoded = split(raw, c.size);
      const stored = compressFrames(encoded, this.sink.level) ?? encoded;
      const sum = new Uint8Array(8);
      new DataView(sum.buffer).setBigUint64(0, xxh3Sync(stored)!, true);
      const { offset } = await this.blob([stored, sum]);
      out.push({ elements: n, offset, bytes: stored.length });
    }
    return out;
  }

  /** Writes the last cluster and the envelopes; returns the anchor object for the file's key. */
  async finish(): Promise<Uint8Array> {
    await loadXxh3();
    await this.flush();
    const header = EnvelopeBuffer.envelope(1, (b) => {
      b.u64(0).string(this.name).string('').string('mlaas4hep');
      const records: Array<{ parent: number; role: number; name: string; type: string }> = [];
      for (const f of this.fields) {
        const t = TYPES[f.dtype].cpp;
        const id = records.length;
        if (f.jagged) {
          records.push({ parent: id, role: 1, name: f.name, type: `std::vector<${t}>` });
          records.push({ parent: id, role: 0, name: '_0', type: t });
        } else records.push({ parent: id, role: 0, name: f.name, type: t });
      }
      b.list(records, (b, r) =>
        b.record((b) =>
          b
            .u32(0)
            .u32(0)
            .u32(r.parent)
            .u16(r.role)
            .u16(0)
            .string(r.name)
            .string(r.type)
            .string('')
            .string(''),
        ),
      );
      b.list(this.columns, (b, c) => b.record((b) => b.u16(c.type).u16(c.bits).u32(c.field).u16(0).u16(0)));
      b.list([], () => {});
      b.list([], () => {});
    });
    const headerSum = new DataView(header.buffer).getBigUint64(header.length - 8, true);
    const compression = compressionSetting(this.sink.level);
    const columnIds = this.columns.map((_, k) => k);
    const pageList = await this.envelope(3, (b) => {
      b.u64(headerSum);
      b.list(this.clusters, (b, c) => b.record((b) => b.u64(c.first).u64(c.n)));
      b.list(this.clusters, (b, c) =>
        b.list(columnIds, (b, k) =>
          b.list(
            c.pages[k],
            // a negative element count: an XXH3 checksum follows the page
            (b, p) => b.i32(-p.elements).i32(p.bytes).u64(p.offset),
            (b) => b.i64(c.offsets[k]).u32(compression),
          ),
        ),
      );
    });
    const headerAt = await this.envelope(1, header);
    const footer = await this.envelope(2, (b) => {
      b.u64(0).u64(headerSum);
      b.record((b) =>
        b
          .list([], () => {})
          .list([], () => {})
          .list([], () => {})
          .list([], () => {}),
      );
      b.list([pageList], (b, pl) =>
        b.record((b) =>
          b.u64(0).u64(this.entries).u32(this.clusters.length).u64(pl.length).i32(pl.bytes).u64(pl.offset),
        ),
      );
    });
    // the anchor: byte count and class version, then big-endian fields and their XXH3
    const anchor = new Uint8Array(78);
    const a = new DataView(anchor.buffer);
    a.setUint32(0, 0x40000000 | 66);
    a.setUint16(4, 2);
    a.setUint16(6, 1);
    const fields = [
      headerAt.offset,
      headerAt.bytes,
      headerAt.length,
      footer.offset,
      footer.bytes,
      footer.length,
    ];
    for (const [i, x] of fields.entries()) a.setBigUint64(14 + 8 * i, BigInt(x));
    a.setBigUint64(62, 1n << 30n); // largest blob, as ROOT writes it
    a.setBigUint64(70, xxh3Sync(anchor.subarray(6, 70))!);
    return anchor;
  }

  /** Writes an envelope (compressed when that saves space) and returns where it is. */
  private async envelope(
    type: number,
    body: Uint8Array | ((b: EnvelopeBuffer) => void),
  ): Promise<{ offset: number; bytes: number; length: number }> {
    const env = body instanceof Uint8Array ? body : EnvelopeBuffer.envelope(type, body);
    const stored = compressFrames(env, this.sink.level) ?? env;
    const { offset } = await this.blob([stored]);
    return { offset, bytes: stored.length, length: env.length };
  }
}
