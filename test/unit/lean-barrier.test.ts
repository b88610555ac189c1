import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ARRIVED, barrier, CONTROL_WORDS, GENERATION } from '../../lib/training/lean/steps.js';

/** A worker thread arriving at the barrier of `control` (2 workers), telling when it passed it. */
function arrive(control: Int32Array): { worker: Worker; passed: () => boolean } {
  const tsx = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const steps = new URL('../../lib/training/lean/steps.ts', import.meta.url).href;
  const src = `const { parentPort, workerData } = require('node:worker_threads');
import(${JSON.stringify(tsx)})
  .then((t) => t.tsImport(${JSON.stringify(steps)}, ${JSON.stringify(import.meta.url)}))
  .then((m) => { m.barrier(workerData, 2); parentPort.postMessage('passed'); });`;
  const worker = new Worker(src, { eval: true, workerData: control });
  let passed = false;
  worker.on('message', () => {
    passed = true;
  });
  return { worker, passed: () => passed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the training workers’ barrier', () => {
  it('stays closed when woken by the notify of the barrier before, until the last worker arrives', async () => {
    const control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
    // the barrier before has just opened: the generation moved, its last worker has not notified yet
    Atomics.store(control, GENERATION, 5);
    const w = arrive(control);
    try {
      for (let t = 0; Atomics.load(control, ARRIVED) !== 1; t++) {
        expect(t).toBeLessThan(500);
        await sleep(10);
      }
      // that late notify, once the worker sleeps in the barrier
      for (let t = 0; Atomics.notify(control, GENERATION) === 0; t++) {
        expect(t).toBeLessThan(500);
        await sleep(10);
      }
      await sleep(300);
      expect(w.passed()).toBe(false);
      barrier(control, 2); // the last to arrive
      expect(Atomics.load(control, GENERATION)).toBe(6);
      for (let t = 0; !w.passed(); t++) {
        expect(t).toBeLessThan(500);
        await sleep(10);
      }
    } finally {
      await w.worker.terminate();
    }
  });
});
