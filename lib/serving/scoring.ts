import { splitRows } from './engines/engine.js';
import type { ServedModel } from './model-cache.js';

/** Rows per engine call: bounds the size of one tensor and the time one call holds the thread. */
const CHUNK = 8192;
/** Requests up to this many rows may be merged with others into one engine call. */
const MERGE_ROWS = 256;

const rowWidth = (m: ServedModel) => m.engine.inputWidths.reduce((a, b) => a + b, 0);

/** Outputs of n engine rows (every input side by side): n × outputs floats, 8192 rows per call. */
export async function scores(m: ServedModel, x: Float32Array, n: number): Promise<Float32Array> {
  const { engine } = m;
  const w = rowWidth(m);
  const run = (from: number, rows: number) =>
    engine.predict(splitRows(x.subarray(from * w, (from + rows) * w), engine.inputWidths, rows), rows);
  if (n <= CHUNK) return run(0, n);
  const out = new Float32Array(n * m.outputs);
  for (let at = 0; at < n; at += CHUNK) out.set(await run(at, Math.min(CHUNK, n - at)), at * m.outputs);
  return out;
}

interface Waiting {
  x: Float32Array;
  n: number;
  resolve(p: Float32Array): void;
  reject(err: unknown): void;
}

/**
 * Small requests for one model that arrive in the same turn of the event loop, answered by one
 * engine call. A call costs about the same for 1 row as for 100 (the per-call overhead dominates),
 * so under concurrent load this is where single-row throughput comes from.
 * The call is made on process.nextTick, which runs once the promise jobs queued so far have run:
 * the requests a turn's model-cache round released (model-cache.ts) all reach `score` before it,
 * and the call is made in that same turn. A setImmediate waited for the next turn: one more poll
 * of every socket per batch, and its latency.
 */
class Batch {
  private waiting: Waiting[] = [];
  private rows = 0;

  constructor(private readonly m: ServedModel) {}

  score(x: Float32Array, n: number): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      if (this.rows + n > CHUNK) this.flush();
      if (this.waiting.length === 0) process.nextTick(() => this.flush());
      this.waiting.push({ x, n, resolve, reject });
      this.rows += n;
    });
  }

  private flush(): void {
    const batch = this.waiting;
    const rows = this.rows;
    if (batch.length === 0) return;
    this.waiting = [];
    this.rows = 0;
    const width = rowWidth(this.m);
    const { outputs } = this.m;
    let x = batch[0].x;
    if (batch.length > 1) {
      x = new Float32Array(rows * width);
      let at = 0;
      for (const w of batch) {
        x.set(w.x.subarray(0, w.n * width), at);
        at += w.n * width;
      }
    }
    scores(this.m, x, rows).then(
      (p) => {
        let at = 0;
        for (const w of batch) {
          w.resolve(batch.length > 1 ? p.slice(at, at + w.n * outputs) : p);
          at += w.n * outputs;
        }
      },
      (err) => {
        for (const w of batch) w.reject(err);
      },
    );
  }
}

const batches = new WeakMap<ServedModel, Batch>();

/** Outputs of n engine rows; small requests share engine calls with concurrent ones (see Batch). */
export function scoreRows(m: ServedModel, x: Float32Array, n: number): Promise<Float32Array> {
  if (n > MERGE_ROWS) return Promise.resolve().then(() => scores(m, x, n));
  let b = batches.get(m);
  if (!b) {
    b = new Batch(m);
    batches.set(m, b);
  }
  return b.score(x, n);
}
