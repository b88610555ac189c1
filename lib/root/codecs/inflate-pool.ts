import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Frame } from './decompress.js';

/**
 * Inflates zlib streams on worker threads. node:zlib's async API also uses other threads, but
 * each call costs the main thread a stream object, events and a callback; a worker inflating a
 * group of baskets per message leaves the main thread free to decode and assemble. A group's
 * bytes travel as one transferred buffer, so the main thread does not copy them either.
 * The workers are unref'd (they never keep the process alive) and stop after a few idle seconds.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { inflateSync } = require('node:zlib');
parentPort.on('message', ({ id, buf, items, counts }) => {
  const src = new Uint8Array(buf);
  const inflate = (k) => {
    const size = items[k + 2];
    const body = src.subarray(items[k], items[k] + items[k + 1]);
    const chunkSize = Math.max(64, Math.min(size + 64, body.length * 1040 + 1024));
    const r = inflateSync(body, { maxOutputLength: size, chunkSize });
    if (r.length !== size) throw new Error('a frame inflated to ' + r.length + ' bytes, expected ' + size);
    return r;
  };
  const out = [];
  const transfer = [];
  let k = 0;
  for (const n of counts) {
    try {
      let b;
      if (n === 1) {
        const r = inflate(k);
        // copy only when zlib handed back a slice of a larger buffer
        b = r.byteOffset === 0 && r.byteLength === r.buffer.byteLength ? r.buffer : r.buffer.slice(r.byteOffset, r.byteOffset + r.byteLength);
      } else {
        let total = 0;
        for (let f = 0; f < n; f++) total += items[k + 3 * f + 2];
        const joined = new Uint8Array(total);
        for (let f = 0, at = 0; f < n; f++) {
          joined.set(inflate(k + 3 * f), at);
          at += items[k + 3 * f + 2];
        }
        b = joined.buffer;
      }
      out.push(b);
      transfer.push(b);
    } catch (err) {
      out.push(err && err.message ? err.message : String(err));
    }
    k += 3 * n;
  }
  parentPort.postMessage({ id, out }, transfer);
});
`;

/** One inflated stream, or why it could not be inflated. */
export type InflateResult = Uint8Array | Error;

interface Task {
  buf: ArrayBuffer;
  items: Int32Array;
  counts: Int32Array;
  resolve(v: InflateResult[]): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  busy: number;
}

const IDLE_MS = 5_000;

class InflatePool {
  private slots: Slot[] = [];
  private queue: Task[] = [];
  private pending = new Map<number, Task>();
  private nextId = 1;
  private idle: NodeJS.Timeout | undefined;

  constructor(private readonly size: number) {}

  run(buf: ArrayBuffer, items: Int32Array, counts: Int32Array): Promise<InflateResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ buf, items, counts, resolve, reject });
      this.pump();
    });
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    const slot: Slot = { worker, busy: 0 };
    worker.on('message', ({ id, out }: { id: number; out: Array<ArrayBuffer | string> }) => {
      const task = this.pending.get(id);
      this.pending.delete(id);
      slot.busy--;
      task?.resolve(out.map((r) => (typeof r === 'string' ? new Error(r) : new Uint8Array(r))));
      this.pump();
    });
    worker.on('error', (err) => {
      // a crashed worker fails what it held; the next call spawns a fresh one
      this.slots = this.slots.filter((s) => s !== slot);
      for (const [id, task] of this.pending) {
        task.reject(err);
        this.pending.delete(id);
      }
    });
    this.slots.push(slot);
    return slot;
  }

  private pump(): void {
    while (this.queue.length) {
      let slot = this.slots.reduce<Slot | undefined>(
        (best, s) => (!best || s.busy < best.busy ? s : best),
        undefined,
      );
      if ((!slot || slot.busy > 0) && this.slots.length < this.size) slot = this.spawn();
      // two tasks per worker: the next one is already there when the current one is done
      if (!slot || slot.busy >= 2) return;
      const task = this.queue.shift()!;
      const id = this.nextId++;
      this.pending.set(id, task);
      slot.busy++;
      slot.worker.postMessage({ id, buf: task.buf, items: task.items, counts: task.counts }, [task.buf]);
    }
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.stopIfIdle(), IDLE_MS);
    this.idle.unref();
  }

  private stopIfIdle(): void {
    if (this.pending.size || this.queue.length) return;
    for (const s of this.slots) void s.worker.terminate();
    this.slots = [];
  }
}

let pool: InflatePool | undefined;

/**
 * Inflates records made of zlib streams held in one buffer on the shared worker pool (one worker
 * per core): one result per record, its streams' bytes back to back. `items` holds an
 * (offset, length, inflated size) triple per stream, `counts` the number of streams per record.
 * `buf` is transferred, so the caller must not use it afterwards.
 */
export function inflateManyOnWorker(
  buf: ArrayBuffer,
  items: Int32Array,
  counts: Int32Array,
): Promise<InflateResult[]> {
  pool ??= new InflatePool(Math.max(1, availableParallelism()));
  return pool.run(buf, items, counts);
}

/** Inflates one zlib stream of known size on the shared worker pool. */
export async function inflateOnWorker(body: Uint8Array, size: number): Promise<Uint8Array> {
  // the body travels to the worker, so it gets an ArrayBuffer of its own (not Buffer#slice: a view)
  const own = new Uint8Array(body);
  const [r] = await inflateManyOnWorker(own.buffer, Int32Array.of(0, own.length, size), Int32Array.of(1));
  if (r instanceof Error) throw r;
  return r;
}

/** Where a record's zlib frames are: `base` is the offset of the compressed payload in its bytes. */
export interface ZlibRecord {
  base: number;
  frames: readonly Frame[];
}

/**
 * The deflate streams of a group of records as one transferable buffer: (offset, length, size) per
 * frame and the number of frames per record. The buffer the source read into is used as is when the
 * source says its buffers are fresh and this one holds little but the group's bytes; otherwise the
 * streams are copied into a new one.
 */
export function packFrames(
  raws: Uint8Array[],
  records: readonly ZlibRecord[],
  fresh: boolean,
): { buf: ArrayBuffer; items: Int32Array; counts: Int32Array; moved: boolean } {
  const counts = Int32Array.from(records, (b) => b.frames.length);
  const items = new Int32Array(3 * counts.reduce((n, c) => n + c, 0));
  if (!raws.length) return { buf: new ArrayBuffer(0), items, counts, moved: false };
  const shared = raws[0].buffer;
  const span = raws.reduce((n, r) => n + r.length, 0);
  // larger than Node's pool slab (never shared with other Buffers), and not much more than the group
  const reuse =
    fresh &&
    shared instanceof ArrayBuffer &&
    shared.byteLength > Buffer.poolSize &&
    shared.byteLength <= 2 * span + 64 * 1024 &&
    raws.every((r) => r.buffer === shared);
  const bytes = reuse
    ? undefined
    : new Uint8Array(records.reduce((n, b) => n + b.frames.reduce((m, f) => m + f.compressed, 0), 0));
  let k = 0;
  let at = 0;
  raws.forEach((r, i) => {
    const base = records[i].base;
    for (const f of records[i].frames) {
      if (bytes) {
        bytes.set(r.subarray(base + f.start, base + f.start + f.compressed), at);
        items.set([at, f.compressed, f.uncompressed], 3 * k++);
        at += f.compressed;
      } else items.set([r.byteOffset + base + f.start, f.compressed, f.uncompressed], 3 * k++);
    }
  });
  return { buf: bytes ? bytes.buffer : (shared as ArrayBuffer), items, counts, moved: !bytes };
}
