import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../lib/dataset/random.js';
import { InvalidInputError } from '../../lib/errors.js';
import {
  accuracy,
  auc,
  binaryCrossEntropy,
  confusionMatrix,
  macroAuc,
  mannWhitneyU,
  multiclassAccuracy,
  multiclassConfusion,
  oneVsRestAuc,
  rocCurve,
  scoreHistograms,
} from '../../lib/training/metrics.js';

/** O(n²) reference: fraction of (signal, background) pairs ordered correctly, ties counting ½. */
function bruteForceAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] < 0.5) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] >= 0.5) continue;
      pairs++;
      if (scores[i] > scores[j]) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return wins / pairs;
}

/** Overlapping signal/background scores, rounded so that many are tied. */
function sample(n: number, seed: number, decimals = 2): { scores: Float32Array; labels: Float32Array } {
  const r = seededRandom(seed);
  const scores = new Float32Array(n);
  const labels = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = r() < 0.4 ? 1 : 0;
    const s = Math.min(1, Math.max(0, 0.5 + (labels[i] ? 0.15 : -0.15) + (r() - 0.5) * 0.8));
    scores[i] = Math.round(s * 10 ** decimals) / 10 ** decimals;
  }
  return { scores, labels };
}

describe('auc', () => {
  it('is 1 for perfect separation and 0 when the ranking is reversed', () => {
    expect(auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
  });

  it('matches the hand-computed 0.75 for scores [0.1, 0.4, 0.35, 0.8] with labels [0, 0, 1, 1]', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
  });

  it('is exactly 0.5 when every score is equal, and counts a tie across classes as one half', () => {
    expect(auc(new Float32Array(10).fill(0.3), [0, 1, 0, 1, 0, 1, 0, 1, 1, 1])).toBe(0.5);
    // pairs: (0.5 vs 0.2) win, (0.5 vs 0.5) tie, (0.9 vs both) wins → 3.5 / 4
    expect(auc([0.2, 0.5, 0.5, 0.9], [0, 0, 1, 1])).toBe(0.875);
  });

  it('is about 0.5 for scores unrelated to the labels', () => {
    const r = seededRandom(7);
    const n = 20_000;
    const scores = Float64Array.from({ length: n }, () => r());
    const labels = Float64Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));
    expect(Math.abs(auc(scores, labels) - 0.5)).toBeLessThan(0.02);
  });

  it('equals a brute-force O(n²) pair count on random tied data (n = 500) to 1e-12', () => {
    for (const seed of [1, 2, 3]) {
      const { scores, labels } = sample(500, seed);
      expect(Math.abs(auc(scores, labels) - bruteForceAuc(scores, labels))).toBeLessThan(1e-12);
    }
  });

  it('treats labels >= 0.5 as signal and accepts plain arrays and typed arrays alike', () => {
    expect(auc([0.1, 0.9], [0.2, 0.7])).toBe(1);
    expect(auc(new Float32Array([0.1, 0.9]), new Uint8Array([0, 1]))).toBe(1);
  });

  it('agrees with the Mann–Whitney U of the sorted classes', () => {
    expect(mannWhitneyU(new Float64Array([0.35, 0.8]), new Float64Array([0.1, 0.4]))).toBe(3);
  });

  it('throws InvalidInputError when a class is absent, lengths differ, the input is empty or a score is NaN', () => {
    expect(() => auc([0.1, 0.2], [1, 1])).toThrow(InvalidInputError);
    expect(() => auc([0.1, 0.2], [0, 0])).toThrow(/background/);
    expect(() => auc([0.1, 0.2, 0.3], [0, 1])).toThrow(InvalidInputError);
    expect(() => auc([], [])).toThrow(InvalidInputError);
    expect(() => auc([0.1, NaN], [0, 1])).toThrow(/NaN/);
  });

  it('computes auc and a ROC curve of at most 200 points for 100,000 scores', () => {
    const { scores, labels } = sample(100_000, 11, 6);
    expect(auc(scores, labels)).toBeGreaterThan(0.6);
    expect(rocCurve(scores, labels).length).toBeLessThanOrEqual(200);
  });
});

describe('rocCurve', () => {
  it('runs from (0, 0) to (1, 1) with fpr and tpr non-decreasing and thresholds non-increasing', () => {
    const { scores, labels } = sample(2_000, 5);
    for (const maxPoints of [200, 2, 3, 10_000]) {
      const roc = rocCurve(scores, labels, maxPoints);
      expect(roc.length).toBeLessThanOrEqual(maxPoints);
      expect(roc[0]).toMatchObject({ fpr: 0, tpr: 0, threshold: Number.POSITIVE_INFINITY });
      expect(roc.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
      for (let i = 1; i < roc.length; i++) {
        expect(roc[i].fpr).toBeGreaterThanOrEqual(roc[i - 1].fpr);
        expect(roc[i].tpr).toBeGreaterThanOrEqual(roc[i - 1].tpr);
        expect(roc[i].threshold).toBeLessThanOrEqual(roc[i - 1].threshold);
      }
    }
  });

  it('gives one point per distinct score, so its trapezoid area equals the AUC when not thinned', () => {
    const { scores, labels } = sample(1_000, 9);
    const roc = rocCurve(scores, labels, 10_000);
    expect(roc.length).toBe(new Set(scores).size + 1);
    let area = 0;
    for (let i = 1; i < roc.length; i++)
      area += ((roc[i].fpr - roc[i - 1].fpr) * (roc[i].tpr + roc[i - 1].tpr)) / 2;
    expect(area).toBeCloseTo(auc(scores, labels), 12);
  });

  it('keeps the corners of a perfect classifier: (0, 0), (0, 1), (1, 1)', () => {
    const scores = Array.from({ length: 1000 }, (_, i) => i / 1000);
    const labels = scores.map((s) => (s >= 0.5 ? 1 : 0));
    const roc = rocCurve(scores, labels, 50);
    expect(roc.map((p) => [p.fpr, p.tpr])).toEqual([
      [0, 0],
      [0, 1],
      [1, 1],
    ]);
  });

  it('thins evenly in FPR while staying close to the full curve', () => {
    const { scores, labels } = sample(20_000, 13, 6);
    const roc = rocCurve(scores, labels, 50);
    // fewer than 50: FPR steps that fall on one straight stretch of the curve collapse to its corner
    expect(roc.length).toBeGreaterThan(25);
    expect(roc.length).toBeLessThanOrEqual(50);
    let area = 0;
    for (let i = 1; i < roc.length; i++)
      area += ((roc[i].fpr - roc[i - 1].fpr) * (roc[i].tpr + roc[i - 1].tpr)) / 2;
    expect(Math.abs(area - auc(scores, labels))).toBeLessThan(0.001);
  });

  it('rejects maxPoints below 2', () => {
    expect(() => rocCurve([0.1, 0.9], [0, 1], 1)).toThrow(InvalidInputError);
  });
});

describe('binary confusion matrix, accuracy and cross-entropy', () => {
  it('counts tp, fp, tn, fn at the threshold (score >= threshold is signal) on a hand example', () => {
    const scores = [0.9, 0.6, 0.5, 0.4, 0.2, 0.7, 0.1, 0.55];
    const labels = [1, 1, 1, 1, 0, 0, 0, 0];
    const m = confusionMatrix(scores, labels);
    expect(m).toMatchObject({ tp: 3, fn: 1, fp: 2, tn: 2 });
    expect(m.accuracy).toBe(5 / 8);
    expect(m.precision).toBe(3 / 5);
    expect(m.recall).toBe(3 / 4);
    expect(m.f1).toBeCloseTo((2 * 0.6 * 0.75) / 1.35, 12);
    expect(confusionMatrix(scores, labels, 0.8)).toMatchObject({ tp: 1, fn: 3, fp: 0, tn: 4, precision: 1 });
    expect(accuracy(scores, labels)).toBe(5 / 8);
  });

  it('reports precision and f1 as 0 when nothing is predicted signal', () => {
    expect(confusionMatrix([0.1, 0.2], [1, 0])).toMatchObject({
      tp: 0,
      fp: 0,
      precision: 0,
      recall: 0,
      f1: 0,
    });
  });

  it('gives the mean binary cross-entropy, clipping certain-but-wrong predictions at eps = 1e-7', () => {
    expect(binaryCrossEntropy([0.5, 0.5], [0, 1])).toBeCloseTo(Math.LN2, 12);
    expect(binaryCrossEntropy([0.8, 0.3], [1, 0])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 12);
    expect(binaryCrossEntropy([0], [1])).toBeCloseTo(-Math.log(1e-7), 9);
    expect(Number.isFinite(binaryCrossEntropy([1, 0], [0, 1]))).toBe(true);
  });
});

describe('multi-class metrics', () => {
  // 5 events × 3 classes, row-major softmax outputs
  const probs = new Float32Array([
    0.7, 0.2, 0.1, /* true 0 */ 0.2, 0.5, 0.3, /* true 1 */ 0.1, 0.3, 0.6, /* true 2 */ 0.3, 0.4, 0.3,
    /* true 0 */ 0.2, 0.2, 0.6 /* true 1 */,
  ]);
  const labels = [0, 1, 2, 0, 1];

  it('scores accuracy by the argmax of each row', () => {
    expect(multiclassAccuracy(probs, 3, labels)).toBe(3 / 5);
  });

  it('builds the confusion matrix with rows = true class and columns = predicted class', () => {
    expect(multiclassConfusion(probs, 3, labels)).toEqual([
      [1, 1, 0],
      [0, 1, 1],
      [0, 0, 1],
    ]);
  });

  it('computes one-vs-rest AUC per class and their macro average', () => {
    const per = oneVsRestAuc(probs, 3, labels);
    // class 0: positives {0.7, 0.3} vs negatives {0.2, 0.1, 0.2} → 6/6
    expect(per[0]).toBe(1);
    // class 1: positives {0.5, 0.2} vs {0.2, 0.3, 0.4} → 0.5 beats 3, 0.2 ties 1 → 3.5/6
    expect(per[1]).toBeCloseTo(3.5 / 6, 12);
    // class 2: positive {0.6} vs {0.1, 0.3, 0.3, 0.6} → 3 wins + 1 tie → 3.5/4
    expect(per[2]).toBeCloseTo(3.5 / 4, 12);
    expect(macroAuc(probs, 3, labels)).toBeCloseTo((1 + 3.5 / 6 + 3.5 / 4) / 3, 12);
  });

  it('agrees with the binary auc on each one-vs-rest column', () => {
    const per = oneVsRestAuc(probs, 3, labels);
    for (let c = 0; c < 3; c++) {
      const col = Array.from({ length: 5 }, (_, i) => probs[i * 3 + c]);
      expect(per[c]).toBe(
        auc(
          col,
          labels.map((l) => (l === c ? 1 : 0)),
        ),
      );
    }
  });

  it('gives NaN for a class with no events and leaves it out of the macro average', () => {
    const p = new Float32Array([0.8, 0.1, 0.1, 0.3, 0.6, 0.1]);
    const per = oneVsRestAuc(p, 3, [0, 1]);
    expect(per[0]).toBe(1);
    expect(per[2]).toBeNaN();
    expect(macroAuc(p, 3, [0, 1])).toBe(1);
  });

  it('rejects a probability array of the wrong size and out-of-range labels', () => {
    expect(() => multiclassAccuracy(probs, 3, [0, 1])).toThrow(InvalidInputError);
    expect(() => multiclassAccuracy(probs, 3, [0, 1, 2, 3, 0])).toThrow(/class indices/);
    expect(() => oneVsRestAuc(probs, 1, labels)).toThrow(InvalidInputError);
  });
});

describe('scoreHistograms', () => {
  it('counts sum to the number of events of each class and each density integrates to 1', () => {
    const { scores, labels } = sample(3_000, 21);
    const h = scoreHistograms(scores, labels, 40);
    expect(h.edges).toHaveLength(41);
    expect(h.edges[0]).toBe(0);
    expect(h.edges[40]).toBe(1);
    const nSignal = labels.reduce((s, l) => s + l, 0);
    expect(h.counts[0].reduce((a, b) => a + b, 0)).toBe(3_000 - nSignal);
    expect(h.counts[1].reduce((a, b) => a + b, 0)).toBe(nSignal);
    for (const row of h.density) {
      const integral = row.reduce((s, d, b) => s + d * (h.edges[b + 1] - h.edges[b]), 0);
      expect(integral).toBeCloseTo(1, 12);
    }
  });

  it('puts a score of exactly 1 in the last bin and folds out-of-range scores into the edge bins', () => {
    const h = scoreHistograms([1, 0, -0.5, 1.5, 0.5], [1, 0, 0, 1, 1], 4);
    expect(h.counts[0]).toEqual([2, 0, 0, 0]);
    expect(h.counts[1]).toEqual([0, 0, 1, 2]);
  });

  it('supports a custom range and more than two classes, with zero density for an empty class', () => {
    const h = scoreHistograms([-1, 0, 1, 2], [0, 0, 3, 3], 2, [-2, 2]);
    expect(h.counts).toEqual([
      [1, 1],
      [0, 0],
      [0, 0],
      [0, 2],
    ]);
    expect(h.density[1]).toEqual([0, 0]);
    expect(h.density[3]).toEqual([0, 0.5]);
  });

  it('rejects bad bins, ranges and labels', () => {
    expect(() => scoreHistograms([0.1], [0], 0)).toThrow(InvalidInputError);
    expect(() => scoreHistograms([0.1], [0], 10, [1, 0])).toThrow(InvalidInputError);
    expect(() => scoreHistograms([0.1], [-1])).toThrow(InvalidInputError);
  });
});
