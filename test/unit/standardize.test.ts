import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/training/backend.js';
import { parseModelDefinition } from '../../lib/training/model-schema.js';
import { buildModel } from '../../lib/training/model-spec.js';
import {
  fitStandardizer,
  foldStandardizer,
  inputDense,
  standardize,
} from '../../lib/training/standardize.js';
import { predictRows } from '../../lib/training/train.js';

/** Rows of min-max-like features: a narrow one, a wide one, a constant one. */
function rows(n: number): Float32Array {
  const x = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    x[3 * i] = 0.5 + 0.01 * Math.sin(i);
    x[3 * i + 1] = (i % 97) / 96;
    x[3 * i + 2] = 0.25;
  }
  return x;
}

beforeAll(async () => {
  await initBackend();
});

describe('standardised training', () => {
  it('centres each feature and scales it to unit spread, leaving a constant feature unscaled', () => {
    const x = rows(1000);
    const s = fitStandardizer(x, 3);
    const z = standardize(s, x);
    for (let j = 0; j < 3; j++) {
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < 1000; i++) {
        sum += z[3 * i + j];
        sq += z[3 * i + j] ** 2;
      }
      expect(Math.abs(sum / 1000)).toBeLessThan(1e-4);
      expect(sq / 1000).toBeCloseTo(j === 2 ? 0 : 1, 3);
    }
    expect(s.inv[2]).toBe(1);
  });

  it('folds the standardisation into the first Dense layer: the folded model on raw rows scores as the trained one on standardised rows', async () => {
    const { model } = await buildModel(parseModelDefinition(undefined), 3, 2, 7);
    const x = rows(200);
    const s = fitStandardizer(x, 3);
    const before = predictRows(model, standardize(s, x), 3);
    foldStandardizer(model, s);
    const after = predictRows(model, x, 3);
    for (let i = 0; i < before.length; i++) expect(Math.abs(after[i] - before[i])).toBeLessThan(1e-5);
  });

  it('only folds into a Dense layer fed by the input', () => {
    const conv = tf.sequential({
      layers: [tf.layers.reshape({ targetShape: [3, 1], inputShape: [3] }), tf.layers.flatten()],
    });
    expect(inputDense(conv)).toBeUndefined();
    expect(() => foldStandardizer(conv, fitStandardizer(rows(10), 3))).toThrow(/Dense/);
  });
});
