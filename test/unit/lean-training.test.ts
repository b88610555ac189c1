import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../lib/dataset/random.js';
import { initBackend } from '../../lib/training/backend.js';
import {
  dropoutMask,
  flatWeights,
  LeanNet,
  leanSpecOf,
  setFlatWeights,
} from '../../lib/training/lean/net.js';
import { startRunner, trainWorkers } from '../../lib/training/lean/pool.js';
import { DEFAULT_MODEL, type ModelSpec } from '../../lib/training/model-schema.js';
import { buildModel } from '../../lib/training/model-spec.js';
import { evaluate, targets } from '../../lib/training/rows.js';

const WIDTH = 12;
const ROWS = 3_000;
let backend: string;
let x: Float32Array;
let y: Float32Array;

beforeAll(async () => {
  backend = await initBackend();
  const rnd = seededRandom(7);
  x = Float32Array.from({ length: ROWS * WIDTH }, () => rnd() * 2 - 1);
  // a class that depends on two features, so training has something to learn
  y = Float32Array.from({ length: ROWS }, (_, i) => (x[i * WIDTH] + 0.5 * x[i * WIDTH + 3] > 0 ? 1 : 0));
});

const NO_DROPOUT: ModelSpec = {
  ...DEFAULT_MODEL,
  layers: DEFAULT_MODEL.layers.filter((l) => l.type !== 'dropout'),
};
const order = () => Int32Array.from({ length: ROWS }, (_, i) => i);

describe('the lean training step', () => {
  it('computes the LayersModel: same parameters, same outputs', async () => {
    const { model } = await buildModel({ kind: 'spec', spec: DEFAULT_MODEL }, WIDTH, 2, 3);
    const net = new LeanNet(leanSpecOf(DEFAULT_MODEL, WIDTH, 2)!, flatWeights(model));
    const ours = tf.tidy(() =>
      tf.sigmoid(net.logits(tf.tensor2d(x.subarray(0, 200 * WIDTH), [200, WIDTH]))).dataSync(),
    );
    const theirs = tf.tidy(() =>
      (model.predict(tf.tensor2d(x.subarray(0, 200 * WIDTH), [200, WIDTH])) as tf.Tensor).dataSync(),
    );
    for (let i = 0; i < 200; i++) expect(Math.abs(ours[i] - theirs[i])).toBeLessThan(1e-6);
    net.dispose();
  });

  it("gives the gradient tfjs's own differentiation of the LayersModel gives (its explicit-transpose backward pass)", async () => {
    const spec: ModelSpec = {
      ...NO_DROPOUT,
      layers: [
        { type: 'dense', units: 16, activation: 'relu' },
        { type: 'dense', units: 8, activation: 'tanh' },
        { type: 'dense', units: 8, activation: 'linear' },
      ],
    };
    const { model } = await buildModel({ kind: 'spec', spec }, WIDTH, 2, 3);
    const net = new LeanNet(leanSpecOf(spec, WIDTH, 2)!, flatWeights(model));
    const n = 100;
    const got = new Float32Array(net.size);
    const loss = net.gradientInto(got, x.subarray(0, n * WIDTH), y.subarray(0, n), n, 1);
    const theirs = tf.tidy(() => {
      const xt = tf.tensor2d(x.subarray(0, n * WIDTH), [n, WIDTH]);
      const yt = tf.tensor2d(y.subarray(0, n), [n, 1]);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => {
        const p = (model.apply(xt) as tf.Tensor).clipByValue(1e-7, 1 - 1e-7);
        return tf.neg(
          tf.mean(tf.add(tf.mul(yt, tf.log(p)), tf.mul(tf.sub(1, yt), tf.log(tf.sub(1, p))))),
        ) as tf.Scalar;
      }, vars);
      return {
        loss: value.dataSync()[0],
        flat: tf.concat(vars.map((v) => grads[v.name].flatten())).dataSync(),
      };
    });
    expect(Math.abs(loss - theirs.loss)).toBeLessThan(1e-5);
    expect(got.length).toBe(theirs.flat.length);
    let scale = 0;
    for (const g of theirs.flat) scale = Math.max(scale, Math.abs(g));
    expect(scale).toBeGreaterThan(1e-3);
    for (let i = 0; i < got.length; i++)
      expect(Math.abs(got[i] - theirs.flat[i])).toBeLessThan(1e-5 * Math.max(1, scale));
    net.dispose();
  });

  it('learns, and its weights written back into the LayersModel predict as it does', async () => {
    const { model } = await buildModel({ kind: 'spec', spec: DEFAULT_MODEL }, WIDTH, 2, 3);
    const spec = leanSpecOf(DEFAULT_MODEL, WIDTH, 2)!;
    const runner = await startRunner(spec, flatWeights(model), 1, backend);
    const tensors = tf.memory().numTensors;
    let last = Number.POSITIVE_INFINITY;
    for (let epoch = 0; epoch < 3; epoch++) {
      const r = await runner.run({
        x,
        y,
        order: order(),
        batch: 64,
        learningRate: 0.01,
        firstStep: epoch * 100,
        seed: 1,
      });
      last = r.lossSum / r.rows;
    }
    expect(last).toBeLessThan(0.3); // ln 2 = 0.69 is knowing nothing
    // every step's tensors were released (the optimizer's moments were made by the first)
    expect(tf.memory().numTensors - tensors).toBeLessThanOrEqual(4);
    setFlatWeights(model, runner.values());
    const p = tf.tidy(() => (model.predict(tf.tensor2d(x, [ROWS, WIDTH])) as tf.Tensor).dataSync());
    let right = 0;
    for (let i = 0; i < ROWS; i++) right += (p[i] > 0.5 ? 1 : 0) === y[i] ? 1 : 0;
    expect(right / ROWS).toBeGreaterThan(0.9);
    await runner.close();
  });

  it('refuses what it does not compute (batch normalisation, another loss): those train with the layers API', () => {
    expect(
      leanSpecOf({ ...DEFAULT_MODEL, layers: [{ type: 'batchNormalization' }] }, WIDTH, 2),
    ).toBeUndefined();
    expect(leanSpecOf({ ...DEFAULT_MODEL, loss: 'meanSquaredError' }, WIDTH, 2)).toBeUndefined();
    expect(leanSpecOf(DEFAULT_MODEL, WIDTH, 3)?.outputs).toBe(3);
  });
});

describe('data-parallel training over worker threads', () => {
  it('uses every core by default, what MLAAS4HEP_TRAIN_WORKERS says when set, one thread on the native backend', () => {
    expect(trainWorkers('wasm', undefined, 8)).toBe(8);
    expect(trainWorkers('wasm', '', 2)).toBe(2);
    expect(trainWorkers('wasm', '4', 2)).toBe(4);
    expect(trainWorkers('tensorflow', undefined, 8)).toBe(1);
    expect(() => trainWorkers('wasm', 'two')).toThrow(/MLAAS4HEP_TRAIN_WORKERS/);
  });

  it('4 workers (more than this machine has cores) take the same steps as one thread, to rounding', async () => {
    const { model } = await buildModel({ kind: 'spec', spec: NO_DROPOUT }, WIDTH, 2, 5);
    const spec = leanSpecOf(NO_DROPOUT, WIDTH, 2)!;
    const pass = { x, y, order: order(), batch: 100, learningRate: 0.005, firstStep: 0, seed: 9 };
    const one = await startRunner(spec, flatWeights(model), 1, backend);
    const a = await one.run(pass);
    const four = await startRunner(spec, flatWeights(model), 4, backend);
    expect(four.workers).toBe(4);
    const b = await four.run(pass);
    expect(b.rows).toBe(ROWS);
    expect(b.steps).toBe(a.steps);
    expect(Math.abs(b.lossSum - a.lossSum) / a.lossSum).toBeLessThan(1e-4);
    const va = one.values();
    const vb = four.values();
    let worst = 0;
    for (let i = 0; i < va.length; i++) worst = Math.max(worst, Math.abs(va[i] - vb[i]));
    expect(worst).toBeLessThan(1e-3);
    // and they did move: the comparison is not between two untouched copies
    const v0 = flatWeights(model);
    let moved = 0;
    for (let i = 0; i < va.length; i++) moved = Math.max(moved, Math.abs(va[i] - v0[i]));
    expect(moved).toBeGreaterThan(10 * worst);
    await Promise.all([one.close(), four.close()]);
  }, 120_000);

  it('is reproducible from the seed, dropout included: two runs of 2 workers end with identical weights', async () => {
    const { model } = await buildModel({ kind: 'spec', spec: DEFAULT_MODEL }, WIDTH, 2, 5);
    const spec = leanSpecOf(DEFAULT_MODEL, WIDTH, 2)!;
    const pass = { x, y, order: order(), batch: 128, learningRate: 0.005, firstStep: 0, seed: 11 };
    const runs: Float32Array[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await startRunner(spec, flatWeights(model), 2, backend);
      await r.run(pass);
      runs.push(r.values());
      await r.close();
    }
    expect(Array.from(runs[1])).toEqual(Array.from(runs[0]));
    const other = await startRunner(spec, flatWeights(model), 2, backend);
    await other.run({ ...pass, seed: 12 });
    expect(Array.from(other.values())).not.toEqual(Array.from(runs[0]));
    await other.close();
  }, 120_000);

  it('stops at a step boundary when aborted, every worker at the same step', async () => {
    const { model } = await buildModel({ kind: 'spec', spec: DEFAULT_MODEL }, WIDTH, 2, 5);
    const r = await startRunner(leanSpecOf(DEFAULT_MODEL, WIDTH, 2)!, flatWeights(model), 2, backend);
    const stop = new AbortController();
    stop.abort();
    const res = await r.run(
      { x, y, order: order(), batch: 64, learningRate: 0.005, firstStep: 0, seed: 1 },
      stop.signal,
    );
    expect(res.stopped).toBe(true);
    expect(res.steps).toBe(0);
    // and it trains again afterwards
    const again = await r.run({
      x,
      y,
      order: order(),
      batch: 64,
      learningRate: 0.005,
      firstStep: 0,
      seed: 1,
    });
    expect(again.stopped).toBe(false);
    expect(again.rows).toBe(ROWS);
    await r.close();
  }, 120_000);
});

describe('the dropout mask', () => {
  it('keeps a unit with probability 1 - rate, scaled by 1 / (1 - rate), the same for the same seed', () => {
    for (const rate of [0.5, 0.2, 0.9]) {
      const m = dropoutMask([400, 250], rate, 42);
      const v = m.dataSync();
      const kept = v.filter((u) => u !== 0);
      // binomial: 100,000 units, 4 standard deviations at most 0.0063
      expect(Math.abs(kept.length / v.length - (1 - rate))).toBeLessThan(0.0064);
      expect(new Set(kept)).toEqual(new Set([Math.fround(1 / (1 - rate))]));
      // neither half of the draw is biased to one parity of unit
      const even = v.filter((u, i) => i % 2 === 0 && u !== 0).length;
      expect(Math.abs((2 * even) / v.length - (1 - rate))).toBeLessThan(0.009);
      expect(Array.from(dropoutMask([400, 250], rate, 42).dataSync())).toEqual(Array.from(v));
      expect(Array.from(dropoutMask([400, 250], rate, 43).dataSync())).not.toEqual(Array.from(v));
      tf.dispose(m);
    }
  });
});

describe('evaluation on held rows', () => {
  it("gives model.evaluate's loss and accuracy, two classes and three, each loss a spec may name, from batched predictions", async () => {
    for (const [classes, lossName] of [
      [2, undefined],
      [3, undefined],
      [2, 'meanSquaredError'],
      [3, 'meanSquaredError'],
    ] as const) {
      const spec: ModelSpec = { ...NO_DROPOUT, ...(lossName ? { loss: lossName } : {}) };
      const { model } = await buildModel({ kind: 'spec', spec }, WIDTH, classes, 3);
      const labels = Float32Array.from(y, (v, i) => (classes === 2 ? v : (v + (i % 2)) % 3));
      const h = { x, y: labels, rows: ROWS };
      const ours = evaluate(model, h, WIDTH, classes);
      const [loss, acc] = tf.tidy(() =>
        (
          model.evaluate(tf.tensor2d(x, [ROWS, WIDTH]), targets(labels, classes), {
            batchSize: 1024,
          }) as tf.Scalar[]
        ).map((t) => t.dataSync()[0]),
      );
      expect(Math.abs(ours.loss - loss)).toBeLessThan(1e-4);
      expect(Math.abs(ours.accuracy - acc)).toBeLessThan(1e-6);
      expect(ours.auc).toBeGreaterThan(0);
    }
  });
});
