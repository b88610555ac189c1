import { CorruptFileError } from '../errors.js';

/** The longest string an RNTuple envelope may hold for a name, type or description. */
const MAX_STRING = 64 * 1024;

/**
 * Little-endian reader over one RNTuple envelope. Every read is bounds-checked against the end of
 * the frame being read, so damaged sizes end in a CorruptFileError naming the envelope, never in
 * a read past the buffer or an allocation sized by a corrupt count.
 */
export class Cursor {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
    private readonly source: string,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(why: string): never {
    throw new CorruptFileError(this.source, `${this.what}: ${why}`);
  }

  private need(n: number): number {
    if (this.pos + n > this.end) this.fail(`ends ${this.pos + n - this.end} bytes early`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.need(4), true);
  }
  f64(): number {
    return this.view.getFloat64(this.need(8), true);
  }
  u64big(): bigint {
    return this.view.getBigUint64(this.need(8), true);
  }
  i64big(): bigint {
    return this.view.getBigInt64(this.need(8), true);
  }

  /** A 64-bit count, size or offset: refused beyond 2^53, which no real file reaches. */
  u64(what: string): number {
    const v = this.u64big();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} ${v} is impossibly large`);
    return Number(v);
  }
  i64(what: string): number {
    const v = this.i64big();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER))
      this.fail(`${what} ${v} is impossibly large`);
    return Number(v);
  }

  string(): string {
    const len = this.u32();
    if (len > MAX_STRING) this.fail(`a string claims ${len} bytes (at most ${MAX_STRING})`);
    const at = this.need(len);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at, len).toString('utf8');
  }

  skipTo(pos: number): void {
    if (pos < this.pos || pos > this.end) this.fail('a frame is shorter than its contents');
    this.pos = pos;
  }

  /** A record frame: a cursor over its payload; this cursor moves past it. */
  record(): Cursor {
    const start = this.pos;
    const size = this.i64('frame size');
    if (size < 8) this.fail(size < 0 ? 'a list frame where a record frame belongs' : 'a frame is too short');
    return this.sub(start, size);
  }

  /**
   * A list frame: its item count and a cursor over the items; this cursor moves past it. Items
   * are at least `minItem` bytes each, so a corrupt count is refused before anything is allocated.
   */
  list(minItem: number): { count: number; items: Cursor } {
    const start = this.pos;
    const size = this.i64('frame size');
    if (size >= 0) this.fail('a record frame where a list frame belongs');
    const items = this.sub(start, -size);
    const count = items.u32();
    if (count * minItem > items.remaining) {
      this.fail(`a list claims ${count} items in ${items.remaining} bytes`);
    }
    return { count, items };
  }

  private sub(start: number, size: number): Cursor {
    if (size < 8 || start + size > this.end) this.fail('a frame runs past its envelope');
    const c = new Cursor(this.bytes, this.pos, start + size, this.source, this.what);
    this.pos = start + size;
    return c;
  }
}
