import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LeanNet, type LeanNetSpec } from './net.js';
import type { WorkerInit } from './step-worker.js';
import {
  ABANDON,
  CONTROL_WORDS,
  type Pass,
  type PassResult,
  runPassHere,
  STOP,
  STOP_REQUEST,
} from './steps.js';

/** Runs training passes of a lean network: in this thread, or data-parallel over worker threads. */
export interface StepRunner {
  readonly workers: number;
  run(p: Pass, signal?: AbortSignal): Promise<PassResult>;
  /** the parameters after the last pass */
  values(): Float32Array;
  close(): Promise<void>;
}

/**
 * Worker threads for training: MLAAS4HEP_TRAIN_WORKERS, else one per core. Workers step in
 * lock-step, so one the scheduler leaves waiting holds up all: on this project's shared 2-core
 * machine (other jobs at load average 5-6) two workers trained no faster than one (bench:train,
 * after the lean step's profile fixes); a dedicated task's cores are its own. serve's child trainer
 * sets 1 (bin/commands/serve.ts). The native backend (tfjs-node) spreads
 * its own kernels over the cores, so it trains in one thread.
 */
export function trainWorkers(
  backend: string,
  env = process.env.MLAAS4HEP_TRAIN_WORKERS,
  cores = availableParallelism(),
): number {
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1 || n > 64)
      throw new Error(`MLAAS4HEP_TRAIN_WORKERS must be a whole number from 1 to 64, got "${env}"`);
    return n;
  }
  return backend === 'tensorflow' ? 1 : cores;
}

class HereRunner implements StepRunner {
  readonly workers = 1;
  private readonly net: LeanNet;
  constructor(spec: LeanNetSpec, initial: Float32Array) {
    this.net = new LeanNet(spec, initial);
  }
  async run(p: Pass, signal?: AbortSignal): Promise<PassResult> {
    return runPassHere(this.net, p, () => signal?.aborted ?? false);
  }
  values(): Float32Array {
    return this.net.values().slice();
  }
  async close(): Promise<void> {
    this.net.dispose();
  }
}

function shared<T extends Float32Array | Float64Array | Int32Array>(
  Kind: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
  n: number,
): T {
  return new Kind(new SharedArrayBuffer(n * Kind.BYTES_PER_ELEMENT));
}

/**
 * Shared buffers that a pass's rows are copied into when they are not in shared memory already,
 * reused from pass to pass. A new SharedArrayBuffer per pass is freed only once every worker's heap
 * has let go of it, which can take many passes: streaming 500k events, RSS grew by 190 MB in 5 epochs.
 */
class Staging {
  private f32 = new Map<string, Float32Array>();
  private i32: Int32Array | undefined;

  floats(key: string, a: Float32Array): Float32Array {
    if (a.buffer instanceof SharedArrayBuffer) return a;
    let s = this.f32.get(key);
    if (!s || s.length < a.length) {
      s = shared(Float32Array, a.length);
      this.f32.set(key, s);
    }
    const view = s.subarray(0, a.length);
    view.set(a);
    return view;
  }

  ints(a: Int32Array): Int32Array {
    if (a.buffer instanceof SharedArrayBuffer) return a;
    if (!this.i32 || this.i32.length < a.length) this.i32 = shared(Int32Array, a.length);
    const view = this.i32.subarray(0, a.length);
    view.set(a);
    return view;
  }
}

/**
 * A worker's heap limits, in MiB. Every step leaves a few hundred KiB of garbage (dropout masks,
 * gradients read back); V8 let the young generation grow to tens of MiB, and the old generation creep
 * pass after pass, before collecting: streaming 500k events with two workers, RSS rose from 340 to
 * 470 MB over 5 epochs; with these limits it stays near 400 at the same speed. A worker's own objects
 * (TensorFlow.js, ~25 MiB) fit far below the old generation's limit, which leaves room for a few
 * copies of the parameters besides.
 */
export function workerHeapLimits(parameters: number): {
  maxYoungGenerationSizeMb: number;
  maxOldGenerationSizeMb: number;
} {
  return {
    maxYoungGenerationSizeMb: 8,
    maxOldGenerationSizeMb: 64 + Math.ceil((4 * parameters * 4) / 2 ** 20),
  };
}

/** The worker: compiled JavaScript beside this file, or, running from TypeScript (tests), through tsx. */
function newWorker(workerData: WorkerInit): Worker {
  const here = import.meta.url;
  const resourceLimits = workerHeapLimits(workerData.initial.length);
  if (!here.endsWith('.ts'))
    return new Worker(new URL('./step-worker.js', here), { workerData, resourceLimits });
  // the ESM build of tsx's API: require.resolve names its CommonJS twin
  const tsx = pathToFileURL(
    createRequire(here)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const src = `import(${JSON.stringify(tsx)}).then((t) => t.tsImport(${JSON.stringify(new URL('./step-worker.ts', here).href)}, ${JSON.stringify(here)}))`;
  return new Worker(src, { eval: true, workerData, resourceLimits });
}

class WorkerRunner implements StepRunner {
  private readonly control = shared(Int32Array, CONTROL_WORDS);
  private readonly params: Float32Array;
  private readonly threads: Worker[] = [];
  private readonly staging = new Staging();
  private failed: Error | undefined;

  constructor(
    readonly workers: number,
    private readonly spec: LeanNetSpec,
    private readonly initial: Float32Array,
    private readonly backend: string,
  ) {
    this.params = shared(Float32Array, initial.length);
    this.params.set(initial);
  }

  async start(): Promise<void> {
    const P = this.initial.length;
    const grads = shared(Float32Array, 2 * this.workers * P);
    const stats = shared(Float64Array, 2 * this.workers * 2);
    const ready: Promise<void>[] = [];
    for (let index = 0; index < this.workers; index++) {
      const init: WorkerInit = {
        spec: this.spec,
        initial: this.initial,
        workers: this.workers,
        index,
        control: this.control,
        grads,
        stats,
        params: this.params,
        backend: this.backend,
      };
      const t = newWorker(init);
      // an error while no pass runs is reported by the next pass
      t.on('error', (err) => {
        this.failed ??= err;
      });
      this.threads.push(t);
      ready.push(
        new Promise((resolve, reject) => {
          const onMessage = (m: { ready?: boolean }) => {
            if (m.ready) {
              t.off('message', onMessage);
              resolve();
            }
          };
          t.on('message', onMessage);
          t.once('error', reject);
          t.once('exit', (code) => reject(new Error(`a training worker exited (code ${code})`)));
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async run(p: Pass, signal?: AbortSignal): Promise<PassResult> {
    if (this.failed) throw this.failed;
    Atomics.store(this.control, STOP_REQUEST, 0);
    const onAbort = () => Atomics.store(this.control, STOP_REQUEST, STOP);
    signal?.addEventListener('abort', onAbort);
    if (signal?.aborted) onAbort();
    const pass: Pass = {
      ...p,
      x: this.staging.floats('x', p.x),
      y: this.staging.floats('y', p.y),
      order: this.staging.ints(p.order),
    };
    try {
      const results = await Promise.all(
        this.threads.map(
          (t) =>
            new Promise<PassResult>((resolve, reject) => {
              const onMessage = (m: { ok?: PassResult; error?: string }) => {
                t.off('message', onMessage);
                t.off('error', onError);
                if (m.ok) resolve(m.ok);
                else {
                  Atomics.store(this.control, STOP_REQUEST, ABANDON);
                  reject(new Error(`a training worker failed: ${m.error}`));
                }
              };
              const onError = (err: Error) => {
                t.off('message', onMessage);
                Atomics.store(this.control, STOP_REQUEST, ABANDON);
                reject(err);
              };
              t.on('message', onMessage);
              t.once('error', onError);
              t.postMessage(pass);
            }),
        ),
      );
      return results[0];
    } catch (err) {
      this.failed = err as Error;
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  values(): Float32Array {
    return this.params.slice();
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
    this.threads.length = 0;
  }
}

/** A runner for `workers` threads (1: this thread), starting from the LayersModel's initial parameters. */
export async function startRunner(
  spec: LeanNetSpec,
  initial: Float32Array,
  workers: number,
  backend: string,
): Promise<StepRunner> {
  if (workers <= 1) return new HereRunner(spec, initial);
  const r = new WorkerRunner(workers, spec, initial, backend);
  await r.start();
  return r;
}
