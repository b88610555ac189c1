import { InvalidInputError, nearestNames } from '../../errors.js';
import { type BasketContent, BranchWriter } from './branch-writer.js';
import { RootBuffer } from './buffer.js';
import { compressFramesAsync } from './compress.js';
import { writeKeyHeader } from './key.js';
import type { TreeMeta } from './tree-meta.js';
import { BEGIN, type BranchOptions, type Column, isLeafType, LEAF_TYPES, type LeafType } from './types.js';

/** Where a tree writer puts its baskets: the file being written. */
export interface RecordSink {
  /** zlib level, 0 for none */
  readonly level: number;
  /** ROOT's fCompress for that level */
  readonly compress: number;
  readonly datime: number;
  /** Claims `bytes` at the end of the file and returns their offset. */
  reserve(bytes: number): number;
  write(at: number, parts: Uint8Array[]): Promise<void>;
}

export const DEFAULT_BASKET_ENTRIES = 8000;
const NAME = /^[^\s/[\]]+$/;

/**
 * Writes one TTree: declare its branches, then append column chunks. Every `basketEntries`
 * entries, one basket per branch goes to the file, so a writer holds at most one basket per
 * branch whatever the number of entries.
 */
export class TreeWriter {
  private readonly branches: BranchWriter[] = [];
  private readonly byName = new Map<string, BranchWriter>();
  private rows = 0;
  private busy = false;
  private closed = false;

  constructor(
    readonly name: string,
    readonly title: string,
    private readonly basketEntries: number,
    private readonly sink: RecordSink,
  ) {}

  /** entries appended so far */
  get entries(): number {
    return this.rows;
  }

  /** leaf classes in order of first use, for the file's streamer records */
  get leafClasses(): string[] {
    return this.branches.map((b) => LEAF_TYPES[b.type].leafClass);
  }

  /**
   * Declares a branch of leaf type `type`; with `counter`, a jagged branch (`name[counter]/type`)
   * whose per-entry length is the value of the earlier integer branch `counter`.
   */
  branch(name: string, type: LeafType, options: BranchOptions = {}): this {
    if (this.closed) throw new InvalidInputError(`tree ${this.name} is already written`);
    if (this.rows > 0 || this.busy) {
      throw new InvalidInputError(`branch ${name}: declare every branch of ${this.name} before appending`);
    }
    if (!NAME.test(name)) throw new InvalidInputError(`"${name}" is not a usable branch name`);
    if (this.byName.has(name)) throw new InvalidInputError(`tree ${this.name} already has a branch ${name}`);
    if (!isLeafType(type)) {
      throw new InvalidInputError(
        `branch ${name}: unknown leaf type "${type}"; use one of O B b S s I i L l F D`,
      );
    }
    let counter: BranchWriter | null = null;
    if (options.counter !== undefined) {
      const c = this.byName.get(options.counter);
      if (!c) {
        const hint = nearestNames(options.counter, this.byName.keys());
        throw new InvalidInputError(
          `branch ${name}: counter ${options.counter} is not an earlier branch of ${this.name}` +
            (hint.length ? ` (did you mean ${hint.join(', ')}?)` : ''),
        );
      }
      if (c.jagged || !LEAF_TYPES[c.type].integer || c.type === 'O') {
        throw new InvalidInputError(`branch ${name}: counter ${c.name} must be a flat integer branch`);
      }
      counter = c;
    }
    const b = new BranchWriter(name, type, counter, this.name, this.basketEntries, this.sink.compress);
    this.branches.push(b);
    this.byName.set(name, b);
    return this;
  }

  /**
   * Appends entries: one column per declared branch, flat columns with one value per entry, jagged
   * columns with the values of all entries back to back (their lengths come from the counter column).
   * Await each call before the next.
   */
  async append(columns: Readonly<Record<string, Column>>): Promise<void> {
    if (this.closed) throw new InvalidInputError(`tree ${this.name} is already written`);
    if (this.busy) throw new InvalidInputError(`tree ${this.name}: await append() before appending again`);
    const rows = this.check(columns);
    this.busy = true;
    try {
      const cursor = new Map<BranchWriter, number>();
      let row = 0;
      while (row < rows) {
        const open = this.branches[0].pending;
        const take = Math.min(rows - row, this.basketEntries - open);
        for (const b of this.branches) {
          const values = columns[b.name];
          if (b.counter) {
            const from = cursor.get(b) ?? 0;
            cursor.set(b, from + b.putJagged(values, from, columns[b.counter.name], row, take));
          } else {
            b.putFlat(values, row, take);
          }
        }
        row += take;
        this.rows += take;
        if (open + take === this.basketEntries) await this.flush();
      }
    } finally {
      this.busy = false;
    }
  }

  /** Validates a chunk and returns its number of entries. */
  private check(columns: Readonly<Record<string, Column>>): number {
    if (this.branches.length === 0) throw new InvalidInputError(`tree ${this.name} has no branches`);
    for (const key of Object.keys(columns)) {
      if (!this.byName.has(key)) {
        const hint = nearestNames(key, this.byName.keys());
        throw new InvalidInputError(
          `tree ${this.name} has no branch ${key}` +
            (hint.length ? ` (did you mean ${hint.join(', ')}?)` : ''),
        );
      }
    }
    let rows = -1;
    const totals = new Map<BranchWriter, number>();
    for (const b of this.branches) {
      const col = columns[b.name];
      if (col === undefined || col === null || typeof col.length !== 'number') {
        throw new InvalidInputError(`tree ${this.name}: the chunk has no column for branch ${b.name}`);
      }
      if (col.length > 0 && typeof col[0] === 'bigint' && b.type !== 'L' && b.type !== 'l') {
        throw new InvalidInputError(`branch ${b.name}: BigInt values need a 64-bit leaf type (L or l)`);
      }
      if (b.counter) continue;
      if (rows < 0) rows = col.length;
      else if (col.length !== rows) {
        throw new InvalidInputError(
          `branch ${b.name}: ${col.length} values where the other columns have ${rows} entries`,
        );
      }
    }
    for (const b of this.branches) {
      if (!b.counter) continue;
      let total = totals.get(b.counter);
      if (total === undefined) {
        total = countTotal(b.counter.name, columns[b.counter.name]);
        totals.set(b.counter, total);
      }
      const n = columns[b.name].length;
      if (n !== total) {
        throw new InvalidInputError(
          `branch ${b.name}: ${n} values but the counts in ${b.counter.name} add up to ${total}`,
        );
      }
    }
    return rows;
  }

  /** Writes the open basket of every branch, one cluster, in branch order. */
  async flush(): Promise<void> {
    if (this.branches.length === 0 || this.branches[0].pending === 0) return;
    const contents = this.branches.map((b) => b.takeBasket());
    const packed = await Promise.all(contents.map((c) => compressFramesAsync(c.payload, this.sink.level)));
    const parts: Uint8Array[] = [];
    let first = -1;
    for (let i = 0; i < contents.length; i++) {
      const c = contents[i];
      const body = packed[i] ?? c.payload;
      const nbytes = c.keylen + body.length;
      const seek = this.sink.reserve(nbytes);
      if (first < 0) first = seek;
      parts.push(this.basketHeader(this.branches[i], c, nbytes, seek), body);
      this.branches[i].recordBasket(c, seek, nbytes);
    }
    await this.sink.write(first, parts);
  }

  private basketHeader(b: BranchWriter, c: BasketContent, nbytes: number, seek: number): Uint8Array {
    const h = new RootBuffer(0, c.keylen);
    writeKeyHeader(h, {
      nbytes,
      objlen: c.payload.length,
      datime: this.sink.datime,
      keylen: c.keylen,
      cycle: c.cycle,
      seekKey: seek,
      seekPdir: BEGIN,
      className: 'TBasket',
      name: b.name,
      title: this.name,
      big: true,
    });
    // TBasket version 3, then fBufferSize, fNevBufSize, fNevBuf, fLast and the header-only flag
    h.i16(3).i32(c.bufferSize).i32(c.nevBufSize).i32(c.nevBuf).i32(c.last).u8(0);
    return h.finish();
  }

  /** Flushes the last, partial baskets and returns what the TTree record holds. */
  async finish(): Promise<TreeMeta> {
    if (this.busy) throw new InvalidInputError(`tree ${this.name}: await append() before closing`);
    await this.flush();
    this.closed = true;
    const branches = this.branches.map((b) => b.meta());
    return {
      name: this.name,
      title: this.title,
      entries: this.rows,
      totBytes: branches.reduce((s, b) => s + b.totBytes, 0),
      zipBytes: branches.reduce((s, b) => s + b.zipBytes, 0),
      autoFlush: this.basketEntries,
      branches,
    };
  }
}

function countTotal(name: string, counts: Column): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = Number(counts[i]);
    if (!Number.isInteger(n) || n < 0) {
      throw new InvalidInputError(
        `branch ${name}: entry ${i} has count ${counts[i]}, not a non-negative integer`,
      );
    }
    total += n;
  }
  return total;
}
