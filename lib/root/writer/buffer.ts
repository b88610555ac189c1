const BYTE_COUNT_MASK = 0x40000000;
const CLASS_MASK = 0x80000000;
const NEW_CLASS_TAG = 0xffffffff;
/** TBufferFile adds this to every map offset so that no offset can be mistaken for the null tag 0. */
const MAP_OFFSET = 2;
const encoder = new TextEncoder();

/** Bytes a TString takes on disk: a length byte (or 255 and a 4-byte length) and the UTF-8 bytes. */
export function tstringLength(s: string): number {
  const n = encoder.encode(s).length;
  return n < 255 ? 1 + n : 5 + n;
}

/**
 * A growable big-endian buffer that follows TBufferFile's rules for byte counts, class tags and
 * object references. `origin` is where the buffer starts inside its record: ROOT counts reference
 * offsets from the start of the key, so an object streamed after a key header of `keylen` bytes
 * starts at origin `keylen`.
 */
export class RootBuffer {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;
  private readonly classTags = new Map<string, number>();
  private readonly objects = new Map<object, number>();

  constructor(
    readonly origin = 0,
    capacity = 4096,
  ) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  /** bytes written so far */
  get length(): number {
    return this.len;
  }

  private grow(n: number): number {
    const at = this.len;
    const need = at + n;
    if (need > this.buf.length) {
      const next = new Uint8Array(Math.max(need, this.buf.length * 2));
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.len = need;
    return at;
  }

  u8(v: number): this {
    const at = this.grow(1);
    this.view.setUint8(at, v);
    return this;
  }
  i8(v: number): this {
    const at = this.grow(1);
    this.view.setInt8(at, v);
    return this;
  }
  i16(v: number): this {
    const at = this.grow(2);
    this.view.setInt16(at, v);
    return this;
  }
  u16(v: number): this {
    const at = this.grow(2);
    this.view.setUint16(at, v);
    return this;
  }
  i32(v: number): this {
    const at = this.grow(4);
    this.view.setInt32(at, v);
    return this;
  }
  u32(v: number): this {
    const at = this.grow(4);
    this.view.setUint32(at, v >>> 0);
    return this;
  }
  /** 64-bit integers given as numbers must be exact (|v| < 2^53). */
  i64(v: number | bigint): this {
    const at = this.grow(8);
    this.view.setBigInt64(at, BigInt(v));
    return this;
  }
  f32(v: number): this {
    const at = this.grow(4);
    this.view.setFloat32(at, v);
    return this;
  }
  f64(v: number): this {
    const at = this.grow(8);
    this.view.setFloat64(at, v);
    return this;
  }
  bytes(b: Uint8Array): this {
    const at = this.grow(b.length);
    this.buf.set(b, at);
    return this;
  }

  /** TString: length byte (255 then a 4-byte length for long strings) and the characters. */
  tstring(s: string): this {
    const b = encoder.encode(s);
    if (b.length < 255) this.u8(b.length);
    else this.u8(255).i32(b.length);
    return this.bytes(b);
  }

  /** null-terminated string, as class names follow a new-class tag */
  cstring(s: string): this {
    return this.bytes(encoder.encode(s)).u8(0);
  }

  /** Reserves a 4-byte byte count; `closeCount` fills it in once the object is written. */
  reserveCount(): number {
    return this.grow(4);
  }

  closeCount(at: number): void {
    this.view.setUint32(at, (this.len - at - 4) | BYTE_COUNT_MASK);
  }

  /** A class version preceded by a byte count: what `WriteVersion(cl, kTRUE)` produces. */
  versioned(version: number, body: (b: this) => void): this {
    const at = this.reserveCount();
    this.i16(version);
    body(this);
    this.closeCount(at);
    return this;
  }

  /** TObject's own streamer: version 1, fUniqueID, fBits; no byte count. */
  tobject(bits: number): this {
    return this.i16(1).u32(0).u32(bits);
  }

  /** TNamed: byte count, version 1, TObject, fName, fTitle. */
  tnamed(name: string, title: string, bits: number): this {
    return this.versioned(1, (b) => b.tobject(bits).tstring(name).tstring(title));
  }

  /**
   * `WriteObjectAny`: 0 for null; a reference to the earlier copy when `obj` was already written in
   * this buffer; otherwise a byte count, the class (new-class tag and name the first time, a
   * reference with the class mask afterwards) and the object's own streamer output.
   */
  object(className: string, obj: object | null, body: (b: this) => void): this {
    if (obj === null) return this.u32(0);
    const ref = this.objects.get(obj);
    if (ref !== undefined) return this.u32(ref);
    const at = this.reserveCount();
    const tag = this.classTags.get(className);
    if (tag !== undefined) {
      this.u32(tag | CLASS_MASK);
    } else {
      this.classTags.set(className, this.origin + this.len + MAP_OFFSET);
      this.u32(NEW_CLASS_TAG).cstring(className);
    }
    this.objects.set(obj, this.origin + at + MAP_OFFSET);
    body(this);
    this.closeCount(at);
    return this;
  }

  /** A view of the bytes written; valid until the next write. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}
