import { decompressFramesSync, type Frame, joinParts, readFrames } from '../codecs/decompress.js';
import { xxh3CheckedCopy } from '../codecs/xxh3-simd.js';
import { xxh3MatchesLE } from '../codecs/xxhash.js';
import type { TypedValues } from '../types.js';
import { BufferPool } from './buffer-pool.js';
import { Inflater } from './inflate-into.js';
import { simdScratch } from './unsplit-simd.js';

/** Bytes of inflated pages kept for reuse (a chunk's and the next one's, at the default sizes). */
const MAX_POOLED = 256 * 1024 * 1024;

/** A page of the chunks being read. */
export interface Page {
  /** its decompressed bytes; undefined while it is `lazy` */
  bytes?: Uint8Array;
  /** position after its last element */
  end: number;
  /** its decoded values once a reader needed them (a type conversion, packed or delta columns) */
  values?: TypedValues;
  /** `bytes` come from the pool and go back to it when the page is retired */
  pooled: boolean;
  /**
   * Single-threaded, zlib frames only: the page's stored bytes, checked and inflated only when its
   * elements are copied, into a scratch buffer still in the cache when they are all copied at
   * once (else into a pooled buffer kept as `bytes`). `lent`: the read buffer they lie in.
   */
  lazy?: Lazy;
}

export interface Lazy {
  body: Uint8Array;
  frames: Frame[];
  size: number;
  lent?: ArrayBuffer;
  /** the page's stored checksum until it is checked (before the page is first inflated) */
  sum?: Uint8Array;
  /** the error of a page that fails its checksum */
  corrupt?: () => Error;
}

/**
 * The single-threaded reader's page memory: zlib pages kept compressed until their elements are
 * copied, then inflated by one reused inflater into a scratch buffer or a pooled one, and the
 * read buffers such pages lie in held until none is left in them.
 */
export class LazyPages {
  private readonly pool = new BufferPool(MAX_POOLED);
  private readonly inflater = new Inflater();
  /** lazy pages still in each lent read buffer: it is lent again once none is left */
  private readonly holds = new Map<ArrayBuffer, number>();
  /** where a page whose elements are all copied at once is inflated: reused, so it stays in the cache */
  private scratch = new Uint8Array(0);

  /**
   * `source`: the file's name, for errors; `freed`: called with a lent read buffer once no lazy
   * page lies in it any more.
   */
  constructor(
    private readonly source: string,
    private readonly freed: (b: ArrayBuffer) => void,
  ) {}

  /**
   * A lazy page's record when `body` is made of zlib frames only; else undefined. `check`: the
   * page's stored checksum, checked when the page is first inflated (else `body` is checked).
   */
  defer(
    body: Uint8Array,
    size: number,
    lent: readonly ArrayBuffer[],
    check?: { sum: Uint8Array; corrupt: () => Error },
  ): Lazy | undefined {
    if (body.length === size) return undefined; // stored uncompressed
    let frames: Frame[];
    try {
      frames = readFrames(body, size, this.source);
    } catch {
      return undefined; // the usual path words the error
    }
    for (const f of frames) if (f.tag !== 'ZL') return undefined;
    const buf = body.buffer as ArrayBuffer;
    const held = lent.includes(buf);
    if (held) this.holds.set(buf, (this.holds.get(buf) ?? 0) + 1);
    return { body, frames, size, lent: held ? buf : undefined, sum: check?.sum, corrupt: check?.corrupt };
  }

  /** Whether a lazy page still lies in this read buffer (then `freed` will be told when none does). */
  holding(b: ArrayBuffer): boolean {
    return this.holds.has(b);
  }

  /** A copy of a page's bytes in a pooled buffer. */
  copy(bytes: Uint8Array): Uint8Array {
    const out = this.pool.take(bytes.length);
    out.set(bytes);
    return out;
  }

  /**
   * A page's decompressed bytes. A lazy page is inflated now: into the scratch buffer when
   * `transient` (the caller copies all its elements at once and forgets it), else into a pooled
   * buffer it then keeps. `split`: a split page of 4- or 8-byte elements, unsplit by SIMD.
   * `fail` words an error of a page that does not inflate.
   */
  bytesOf(page: Page, transient: boolean, split: boolean, fail: (err: unknown) => Error): Uint8Array {
    if (page.bytes) return page.bytes;
    const lz = page.lazy!;
    let out: Uint8Array;
    if (!transient) out = this.pool.take(lz.size);
    else {
      // a split page is unsplit by SIMD from the module's memory: inflated there, it is not copied in
      const simd = split ? simdScratch(lz.size) : undefined;
      if (!simd && this.scratch.length < lz.size)
        this.scratch = new Uint8Array(2 ** Math.ceil(Math.log2(Math.max(lz.size, 65536))));
      out = simd ?? this.scratch.subarray(0, lz.size);
    }
    let body = lz.body;
    if (lz.sum) {
      // checked right before it is first inflated, from the checked copy: its bytes are read from
      // memory once, not once for the checksum when fetched and again when inflated
      const copy = xxh3CheckedCopy(body, lz.sum);
      if (copy === false || (copy === undefined && !xxh3MatchesLE(body, lz.sum))) throw lz.corrupt!();
      if (copy) body = copy;
      lz.sum = undefined;
    }
    let at = 0;
    let pooled = !transient;
    for (const f of lz.frames) {
      const stream = body.subarray(f.start, f.start + f.compressed);
      if (!this.inflater.into(stream, out.subarray(at, at + f.uncompressed))) {
        if (pooled) this.pool.give(out);
        pooled = false;
        out = this.inflateSlowly(lz, fail);
        break;
      }
      at += f.uncompressed;
    }
    if (transient) return out;
    page.bytes = out;
    page.pooled = pooled;
    page.lazy = undefined;
    this.release(lz);
    return out;
  }

  /** A page the chunks no longer need: its buffers go back for reuse. */
  retired(page: Page): void {
    // nothing else holds a pooled page: its elements were copied into the chunk's columns
    if (page.pooled && page.bytes) this.pool.give(page.bytes);
    if (page.lazy) this.release(page.lazy);
  }

  /** A lazy page no longer needs its stored bytes: its read buffer may be lent again. */
  private release(lz: Lazy): void {
    if (!lz.lent) return;
    const left = (this.holds.get(lz.lent) ?? 1) - 1;
    if (left > 0) this.holds.set(lz.lent, left);
    else {
      this.holds.delete(lz.lent);
      this.freed(lz.lent);
    }
  }

  /** inflateSync's way, which words the error of a page the reused inflater refused. */
  private inflateSlowly(lz: Lazy, fail: (err: unknown) => Error): Uint8Array {
    try {
      return joinParts(decompressFramesSync(lz.body, lz.size, this.source)!, lz.size);
    } catch (err) {
      throw fail(err);
    }
  }
}
