import { encodeValues } from './encode.js';
import { keyLength } from './key.js';
import type { BranchMeta, LeafMeta } from './tree-meta.js';
import { type Column, LEAF_TYPES, type LeafType } from './types.js';

/** TBasket's fields after the key header: version, fBufferSize, fNevBufSize, fNevBuf, fLast, flag. */
const BASKET_HEADER = 19;
/** ROOT's default basket buffer size and initial entry-offset table length (TTree defaults). */
export const BASKET_SIZE = 32000;
const DEFAULT_ENTRY_OFFSET_LEN = 1000;

/** One basket's content, ready to be compressed and written after its key header. */
export interface BasketContent {
  /** the object part: values, then for jagged branches the entry-offset table */
  payload: Uint8Array;
  keylen: number;
  nevBuf: number;
  nevBufSize: number;
  bufferSize: number;
  last: number;
  cycle: number;
}

/**
 * Accumulates one branch's values for the basket being filled (never more than one basket) and
 * keeps the tables (sizes, first entries, seeks) its TBranch will record.
 */
export class BranchWriter {
  readonly leaf: LeafMeta;
  readonly keylen: number;
  private readonly itemSize: number;
  private data: Uint8Array;
  private view: DataView;
  private used = 0;
  private nev = 0;
  /** byte offset of each entry of the open basket, for jagged branches */
  private readonly starts: Int32Array | null;
  private entries = 0;
  private totBytes = 0;
  private zipBytes = 0;
  private entryOffsetLen: number;
  private readonly basketBytes: number[] = [];
  private readonly basketEntry: number[] = [0];
  private readonly basketSeek: number[] = [];

  constructor(
    readonly name: string,
    readonly type: LeafType,
    readonly counter: BranchWriter | null,
    readonly treeName: string,
    basketEntries: number,
    private readonly compress: number,
  ) {
    this.itemSize = LEAF_TYPES[type].size;
    const title = counter ? `${name}[${counter.name}]` : name;
    this.leaf = { name, title, type, counter: counter?.leaf ?? null, isRange: false, maximum: 0 };
    if (counter) counter.leaf.isRange = true;
    this.keylen = keyLength('TBasket', name, treeName, true) + BASKET_HEADER;
    this.starts = counter ? new Int32Array(basketEntries) : null;
    this.entryOffsetLen = counter ? DEFAULT_ENTRY_OFFSET_LEN : 0;
    this.data = new Uint8Array(counter ? 1024 : basketEntries * this.itemSize);
    this.view = new DataView(this.data.buffer);
  }

  get jagged(): boolean {
    return this.starts !== null;
  }

  /** entries in the open basket */
  get pending(): number {
    return this.nev;
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.data.length) return;
    const next = new Uint8Array(Math.max(this.used + bytes, this.data.length * 2));
    next.set(this.data.subarray(0, this.used));
    this.data = next;
    this.view = new DataView(next.buffer);
  }

  /** Adds `rows` flat entries: values[from, from + rows). */
  putFlat(values: Column, from: number, rows: number): void {
    this.used = encodeValues(this.view, this.used, this.type, values, from, from + rows);
    this.nev += rows;
    if (this.leaf.isRange) this.trackMaximum(values, from, rows);
  }

  /** Adds entries whose lengths are counts[row0, row0 + rows), taking values from `from` on. */
  putJagged(values: Column, from: number, counts: Column, row0: number, rows: number): number {
    const starts = this.starts!;
    let total = 0;
    for (let r = 0; r < rows; r++) {
      starts[this.nev + r] = this.used + total * this.itemSize;
      total += Number(counts[row0 + r]);
    }
    this.reserve(total * this.itemSize);
    this.used = encodeValues(this.view, this.used, this.type, values, from, from + total);
    this.nev += rows;
    return total;
  }

  private trackMaximum(values: Column, from: number, rows: number): void {
    let max = this.leaf.maximum;
    for (let i = from; i < from + rows; i++) {
      const v = Number(values[i]);
      if (v > max) max = v;
    }
    this.leaf.maximum = max;
  }

  /** Closes the open basket and returns its content; the branch is then ready for the next one. */
  takeBasket(): BasketContent {
    const nevBuf = this.nev;
    const last = this.keylen + this.used;
    let payload: Uint8Array;
    let nevBufSize = this.itemSize;
    if (this.starts) {
      // ROOT grows the table by doubling from fEntryOffsetLen and records the size it reached.
      nevBufSize = DEFAULT_ENTRY_OFFSET_LEN;
      while (nevBuf >= nevBufSize) nevBufSize = Math.max(10, 2 * nevBufSize);
      if (this.basketBytes.length < 10) this.entryOffsetLen = Math.max(this.entryOffsetLen, nevBufSize);
      // The table has fNevBuf + 1 slots (the last one left 0, as ROOT leaves it); offsets count
      // from the start of the key.
      payload = new Uint8Array(this.used + 4 + 4 * (nevBuf + 1));
      payload.set(this.data.subarray(0, this.used));
      const v = new DataView(payload.buffer);
      v.setInt32(this.used, nevBuf + 1);
      for (let i = 0; i < nevBuf; i++) v.setInt32(this.used + 4 * (i + 1), this.keylen + this.starts[i]);
    } else {
      payload = this.data.slice(0, this.used);
    }
    const content: BasketContent = {
      payload,
      keylen: this.keylen,
      nevBuf,
      nevBufSize,
      bufferSize: Math.max(BASKET_SIZE, last),
      last,
      cycle: this.basketBytes.length,
    };
    this.used = 0;
    this.nev = 0;
    return content;
  }

  /** Records where the basket taken last went and how large it was. */
  recordBasket(content: BasketContent, seek: number, nbytes: number): void {
    this.basketBytes.push(nbytes);
    this.basketSeek.push(seek);
    this.entries += content.nevBuf;
    this.basketEntry.push(this.entries);
    this.totBytes += content.keylen + content.payload.length;
    this.zipBytes += nbytes;
  }

  meta(): BranchMeta {
    const typeCode = this.type;
    return {
      name: this.name,
      title: `${this.leaf.title}/${typeCode}`,
      compress: this.compress,
      basketSize: BASKET_SIZE,
      entryOffsetLen: this.entryOffsetLen,
      entries: this.entries,
      totBytes: this.totBytes,
      zipBytes: this.zipBytes,
      basketBytes: this.basketBytes,
      basketEntry: this.basketEntry,
      basketSeek: this.basketSeek,
      leaf: this.leaf,
    };
  }
}
