/**
 * One data-parallel training worker: its own TensorFlow.js (WebAssembly, single-threaded in Node),
 * its own copy of the parameters and optimizer. For each batch every worker computes the gradient
 * of its share, writes it to shared memory, waits for the others, and applies the same weighted
 * average in the same order: the copies stay identical without ever being sent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend.js';
import { LeanNet, type LeanNetSpec } from './net.js';
import { barrier, gatherBatch, type Pass, type PassResult, STOP_DECISION, stepSeed } from './steps.js';

export interface WorkerInit {
  spec: LeanNetSpec;
  initial: Float32Array;
  workers: number;
  index: number;
  control: Int32Array;
  /** [2 buffers][workers][parameters] */
  grads: Float32Array;
  /** [2 buffers][workers][rows, loss sum] */
  stats: Float64Array;
  /** worker 0 leaves the parameters here after each pass */
  params: Float32Array;
  backend?: string;
}

const init = workerData as WorkerInit;
await initBackend(init.backend);
const net = new LeanNet(init.spec, init.initial);
const { control, grads, stats, workers: k, index: w } = init;
const P = net.size;
const width = init.spec.inputs;

function run(p: Pass): PassResult {
  net.learningRate = p.learningRate;
  const share = Math.ceil(p.batch / k);
  const xb = new Float32Array(share * width);
  const yb = new Float32Array(share);
  const avg = new Float32Array(P);
  let lossSum = 0;
  let rows = 0;
  let steps = 0;
  for (let start = 0; start < p.order.length; start += p.batch) {
    const m = Math.min(p.batch, p.order.length - start);
    const lo = start + Math.floor((m * w) / k);
    const hi = start + Math.floor((m * (w + 1)) / k);
    const n = hi - lo;
    const step = p.firstStep + steps;
    const buf = step % 2;
    const mine = grads.subarray((buf * k + w) * P, (buf * k + w + 1) * P);
    const st = (buf * k + w) * 2;
    if (n > 0) {
      gatherBatch(p, width, lo, hi, xb, yb);
      const loss = net.gradientInto(
        mine,
        xb.subarray(0, n * width),
        yb.subarray(0, n),
        n,
        stepSeed(p.seed, step, w),
      );
      stats[st] = n;
      stats[st + 1] = loss * n;
    } else {
      stats[st] = 0;
      stats[st + 1] = 0;
    }
    barrier(control, k);
    if (Atomics.load(control, STOP_DECISION)) return { lossSum, rows, steps, stopped: true };
    // every worker sums in the same order: identical updates, bit for bit
    avg.fill(0);
    let total = 0;
    for (let j = 0; j < k; j++) {
      const nj = stats[(buf * k + j) * 2];
      if (!nj) continue;
      total += nj;
      lossSum += stats[(buf * k + j) * 2 + 1];
      const gj = grads.subarray((buf * k + j) * P, (buf * k + j + 1) * P);
      for (let i = 0; i < P; i++) avg[i] += nj * gj[i];
    }
    for (let i = 0; i < P; i++) avg[i] /= total;
    net.apply(avg);
    rows += total;
    steps++;
  }
  return { lossSum, rows, steps, stopped: false };
}

parentPort!.on('message', (p: Pass) => {
  try {
    const r = run(p);
    if (w === 0) init.params.set(net.values());
    parentPort!.postMessage({ ok: r });
  } catch (err) {
    parentPort!.postMessage({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
parentPort!.postMessage({ ready: true });
