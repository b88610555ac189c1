import { xxh3Sync } from '../codecs/xxhash.js';

/** Little-endian envelope serialisation with record and list frames whose sizes are filled in at the end. */
export class EnvelopeBuffer {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(2 * this.buf.length, this.pos + n));
    next.set(this.buf);
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u16(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
    return this;
  }
  i32(v: number): this {
    this.ensure(4);
    this.view.setInt32(this.pos, v, true);
    this.pos += 4;
    return this;
  }
  u64(v: number | bigint): this {
    this.ensure(8);
    this.view.setBigUint64(this.pos, BigInt(v), true);
    this.pos += 8;
    return this;
  }
  i64(v: number | bigint): this {
    this.ensure(8);
    this.view.setBigInt64(this.pos, BigInt(v), true);
    this.pos += 8;
    return this;
  }
  string(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.u32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  record(body: (b: this) => void): this {
    const at = this.pos;
    this.i64(0);
    body(this);
    this.view.setBigInt64(at, BigInt(this.pos - at), true);
    return this;
  }
  list<T>(items: readonly T[], item: (b: this, x: T) => void, tail?: (b: this) => void): this {
    const at = this.pos;
    this.i64(0).u32(items.length);
    for (const x of items) item(this, x);
    tail?.(this);
    this.view.setBigInt64(at, -BigInt(this.pos - at), true);
    return this;
  }
  /** An envelope: type and length, the payload, then the XXH3 checksum of all that. */
  static envelope(type: number, body: (b: EnvelopeBuffer) => void): Uint8Array {
    const b = new EnvelopeBuffer();
    b.u64(0);
    body(b);
    b.view.setBigUint64(0, BigInt(type) | (BigInt(b.pos + 8) << 16n), true);
    b.u64(xxh3Sync(b.buf.subarray(0, b.pos))!);
    return b.buf.slice(0, b.pos);
  }
}
