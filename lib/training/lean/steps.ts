import { deriveSeed } from '../../dataset/random.js';
import type { LeanNet } from './net.js';

/** Control words shared by the step workers (Int32Array indices). */
export const ARRIVED = 0;
export const GENERATION = 1;
export const STOP_REQUEST = 2;
export const STOP_DECISION = 3;
export const CONTROL_WORDS = 4;
/** STOP_REQUEST values: stop at the next step boundary; give up at once (a worker failed) */
export const STOP = 1;
export const ABANDON = 2;

/**
 * Waits until all `k` workers sharing `control` have arrived; the last to arrive decides for all
 * whether this step is the last. Throws when another worker failed (it would never arrive).
 */
export function barrier(control: Int32Array, k: number): void {
  const gen = Atomics.load(control, GENERATION);
  if (Atomics.add(control, ARRIVED, 1) === k - 1) {
    Atomics.store(control, ARRIVED, 0);
    Atomics.store(control, STOP_DECISION, Atomics.load(control, STOP_REQUEST));
    Atomics.add(control, GENERATION, 1);
    Atomics.notify(control, GENERATION);
    return;
  }
  // a wake-up alone does not open the barrier: the last worker of the barrier before may still be
  // about to notify (this one saw the new generation and went on without waiting), and that late
  // notify woke it here before the others arrived; its next arrival was then counted before the
  // reset and lost, and every worker waited forever (test/unit/lean-barrier.test.ts)
  while (Atomics.load(control, GENERATION) === gen)
    if (
      Atomics.wait(control, GENERATION, gen, 1000) === 'timed-out' &&
      Atomics.load(control, STOP_REQUEST) === ABANDON
    )
      throw new Error('another training worker failed');
}

/** One pass over rows in a given order: the training data and how to walk it. */
export interface Pass {
  /** rows of `width` features, and a class index per row (shared memory when workers read them) */
  x: Float32Array;
  y: Float32Array;
  /** row indices in the order to train on; batches are consecutive runs of it */
  order: Int32Array;
  batch: number;
  learningRate: number;
  /** global number of the pass's first step: seeds dropout and picks the gradient buffer */
  firstStep: number;
  seed: number;
}

export interface PassResult {
  /** sum over rows of the loss, and rows trained on */
  lossSum: number;
  rows: number;
  steps: number;
  stopped: boolean;
}

/** Rows [lo, hi) of `order` gathered into contiguous buffers. */
export function gatherBatch(
  p: Pass,
  width: number,
  lo: number,
  hi: number,
  xb: Float32Array,
  yb: Float32Array,
): void {
  for (let i = lo, r = 0; i < hi; i++, r++) {
    const row = p.order[i];
    xb.set(p.x.subarray(row * width, (row + 1) * width), r * width);
    yb[r] = p.y[row];
  }
}

/** The dropout seed of a step's share of a batch: reproducible from the workflow's seed. */
export function stepSeed(seed: number, step: number, worker: number): number {
  return deriveSeed(seed, step, worker) % 1_000_000_007;
}

/** A pass in this thread: one gradient and one update per batch. */
export function runPassHere(net: LeanNet, p: Pass, stop: () => boolean): PassResult {
  const width = net.spec.inputs;
  const xb = new Float32Array(p.batch * width);
  const yb = new Float32Array(p.batch);
  net.learningRate = p.learningRate;
  let lossSum = 0;
  let rows = 0;
  let steps = 0;
  for (let lo = 0; lo < p.order.length; lo += p.batch) {
    if (stop()) return { lossSum, rows, steps, stopped: true };
    const hi = Math.min(lo + p.batch, p.order.length);
    const n = hi - lo;
    gatherBatch(p, width, lo, hi, xb, yb);
    const loss = net.step(
      xb.subarray(0, n * width),
      yb.subarray(0, n),
      n,
      stepSeed(p.seed, p.firstStep + steps, 0),
    );
    lossSum += loss * n;
    rows += n;
    steps++;
  }
  return { lossSum, rows, steps, stopped: false };
}
