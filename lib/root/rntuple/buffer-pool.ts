/**
 * Buffers recycled by power-of-two size: inflated RNTuple pages live only until their elements are
 * copied into a chunk's columns, and a fresh buffer per page costs its page faults and garbage.
 */
export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private held = 0;

  /** `maxBytes`: most bytes kept for reuse; buffers given back beyond that are left to the GC. */
  constructor(private readonly maxBytes: number) {}

  /** n bytes, not zeroed (a recycled buffer holds an older page). */
  take(n: number): Uint8Array {
    const size = 2 ** Math.ceil(Math.log2(Math.max(n, 4096)));
    const buf = this.free.get(size)?.pop();
    if (buf) this.held -= size;
    return new Uint8Array(buf ?? (Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer), 0, n);
  }

  /** Gives back a buffer from `take` that nothing refers to any more. */
  give(bytes: Uint8Array): void {
    const buf = bytes.buffer as ArrayBuffer;
    const size = buf.byteLength;
    if (this.held + size > this.maxBytes) return;
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    list.push(buf);
    this.held += size;
  }
}
