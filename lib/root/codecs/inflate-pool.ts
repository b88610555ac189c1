import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * Inflates zlib streams on worker threads. node:zlib's async API also uses other threads, but
 * each call costs the main thread a stream object, events and a callback; a worker inflating a
 * batch of baskets per message leaves the main thread free to decode and assemble.
 * The workers are unref'd (they never keep the process alive) and stop after a few idle seconds.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { inflateSync } = require('node:zlib');
parentPort.on('message', ({ id, jobs }) => {
  const out = [];
  const transfer = [];
  for (const j of jobs) {
    try {
      const chunkSize = Math.max(64, Math.min(j.size, j.body.byteLength * 1040 + 1024));
      const r = inflateSync(j.body, { maxOutputLength: j.size, chunkSize });
      // copy only when zlib handed back a slice of a larger buffer
      const b = r.byteOffset === 0 && r.byteLength === r.buffer.byteLength ? r.buffer : r.buffer.slice(r.byteOffset, r.byteOffset + r.byteLength);
      out.push({ ok: true, data: b });
      transfer.push(b);
    } catch (err) {
      out.push({ ok: false, message: err && err.message ? err.message : String(err) });
    }
  }
  parentPort.postMessage({ id, out }, transfer);
});
`;

interface Job {
  body: ArrayBuffer;
  size: number;
  resolve(v: Uint8Array): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  busy: number;
}

const IDLE_MS = 5_000;
const BATCH = 8;

class InflatePool {
  private slots: Slot[] = [];
  private queue: Job[] = [];
  private pending = new Map<number, Job[]>();
  private nextId = 1;
  private idle: NodeJS.Timeout | undefined;

  constructor(private readonly size: number) {}

  inflate(body: Uint8Array, size: number): Promise<Uint8Array> {
    // the body travels to the worker, so it gets an ArrayBuffer of its own (not Buffer#slice: a view)
    const own = new Uint8Array(body.length);
    own.set(body);
    const copy = own.buffer;
    return new Promise((resolve, reject) => {
      this.queue.push({ body: copy, size, resolve, reject });
      queueMicrotask(() => this.pump());
    });
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    const slot: Slot = { worker, busy: 0 };
    worker.on(
      'message',
      ({ id, out }: { id: number; out: Array<{ ok: boolean; data?: ArrayBuffer; message?: string }> }) => {
        const jobs = this.pending.get(id) ?? [];
        this.pending.delete(id);
        slot.busy--;
        jobs.forEach((j, i) => {
          const r = out[i];
          if (r.ok) j.resolve(new Uint8Array(r.data!));
          else j.reject(new Error(r.message));
        });
        this.pump();
      },
    );
    worker.on('error', (err) => {
      // a crashed worker fails what it held; the next call spawns a fresh one
      this.slots = this.slots.filter((s) => s !== slot);
      for (const [id, jobs] of this.pending) {
        for (const j of jobs) j.reject(err);
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
      if (!slot || slot.busy >= 2) return;
      const jobs = this.queue.splice(0, BATCH);
      const id = this.nextId++;
      this.pending.set(id, jobs);
      slot.busy++;
      slot.worker.postMessage(
        { id, jobs: jobs.map((j) => ({ body: j.body, size: j.size })) },
        jobs.map((j) => j.body),
      );
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

/** Inflates one zlib stream of known size on the shared worker pool (one worker per core). */
export function inflateOnWorker(body: Uint8Array, size: number): Promise<Uint8Array> {
  pool ??= new InflatePool(Math.max(1, availableParallelism()));
  return pool.inflate(body, size);
}
