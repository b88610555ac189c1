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

/**
 * Read buffers of an RNTuple's page reads, lent to one read at a time and recycled from read to
 * read and from one pass over the RNTuple to the next (epochs, repeated reads): a fresh buffer of
 * megabytes per read cost its page faults, and their garbage a full collection every third pass.
 * Only the largest few are kept, so what stays allocated between passes is bounded.
 */
export class ReadBuffers {
  /** largest first */
  private readonly spare: ArrayBuffer[] = [];

  /** At most `maxCount` buffers of `maxBytes` in all are kept. */
  constructor(
    private readonly maxCount: number,
    private readonly maxBytes: number,
  ) {}

  /** The smallest spare buffer of at least n bytes, else a fresh one (rounded up, so it fits again). */
  take(n: number): ArrayBuffer {
    let k = -1;
    for (let i = 0; i < this.spare.length; i++) if (this.spare[i].byteLength >= n) k = i;
    if (k >= 0) return this.spare.splice(k, 1)[0];
    return Buffer.allocUnsafeSlow(2 ** Math.ceil(Math.log2(Math.max(n, 65536)))).buffer as ArrayBuffer;
  }

  /** Gives back a buffer from `take` that nothing reads from any more. */
  give(b: ArrayBuffer): void {
    this.spare.push(b);
    this.spare.sort((x, y) => y.byteLength - x.byteLength);
    let total = 0;
    let kept = 0;
    for (const s of this.spare.splice(0)) {
      if (kept === this.maxCount || total + s.byteLength > this.maxBytes) continue;
      this.spare.push(s);
      total += s.byteLength;
      kept++;
    }
  }
}
