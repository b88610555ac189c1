/**
 * Multi-class classifier metrics. probs is row-major, one row of nClasses probabilities per event
 * (the softmax output as a flat Float32Array); labels are the true class indices 0..nClasses-1.
 */
import { InvalidInputError } from '../errors.js';
import { mannWhitneyU } from './mann-whitney.js';

function checkMulticlass(
  probs: ArrayLike<number>,
  nClasses: number,
  labels: ArrayLike<number>,
  what: string,
): number {
  if (!Number.isInteger(nClasses) || nClasses < 2) {
    throw new InvalidInputError(`${what}: the number of classes must be an integer >= 2, got ${nClasses}.`);
  }
  const n = labels.length;
  if (n === 0) throw new InvalidInputError(`${what}: no events to evaluate.`);
  if (probs.length !== n * nClasses) {
    throw new InvalidInputError(
      `${what}: expected ${n} events × ${nClasses} classes = ${n * nClasses} probabilities, got ${probs.length}.`,
    );
  }
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= nClasses) {
      throw new InvalidInputError(
        `${what}: label ${i} is ${c}; labels must be class indices 0..${nClasses - 1}.`,
      );
    }
  }
  for (let i = 0; i < probs.length; i++) {
    if (Number.isNaN(probs[i])) {
      throw new InvalidInputError(`${what}: probability ${i} is NaN; the model produced an invalid output.`);
    }
  }
  return n;
}

function argmaxRow(probs: ArrayLike<number>, row: number, nClasses: number): number {
  const base = row * nClasses;
  let best = 0;
  for (let c = 1; c < nClasses; c++) if (probs[base + c] > probs[base + best]) best = c;
  return best;
}

/** Fraction of events whose highest-probability class is the true class (first maximum wins ties). */
export function multiclassAccuracy(
  probs: ArrayLike<number>,
  nClasses: number,
  labels: ArrayLike<number>,
): number {
  const n = checkMulticlass(probs, nClasses, labels, 'Multi-class accuracy');
  let correct = 0;
  for (let i = 0; i < n; i++) if (argmaxRow(probs, i, nClasses) === labels[i]) correct++;
  return correct / n;
}

/** Mean categorical cross-entropy of softmax rows, each probability clipped to [1e-7, 1 − 1e-7] as Keras does. */
export function categoricalCrossEntropy(
  probs: ArrayLike<number>,
  nClasses: number,
  labels: ArrayLike<number>,
): number {
  const n = checkMulticlass(probs, nClasses, labels, 'Categorical cross-entropy');
  const eps = 1e-7;
  let sum = 0;
  for (let i = 0; i < n; i++)
    sum -= Math.log(Math.min(Math.max(probs[i * nClasses + labels[i]], eps), 1 - eps));
  return sum / n;
}

/** Confusion counts: matrix[true class][predicted class], predicted = argmax of the row. */
export function multiclassConfusion(
  probs: ArrayLike<number>,
  nClasses: number,
  labels: ArrayLike<number>,
): number[][] {
  const n = checkMulticlass(probs, nClasses, labels, 'Multi-class confusion matrix');
  const m = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < n; i++) m[labels[i]][argmaxRow(probs, i, nClasses)]++;
  return m;
}

/**
 * Per-class one-vs-rest AUC: class c's probability as the score, class c against all others.
 * A class that is absent (or is every event) has no defined AUC and gets NaN.
 */
export function oneVsRestAuc(
  probs: ArrayLike<number>,
  nClasses: number,
  labels: ArrayLike<number>,
): number[] {
  const n = checkMulticlass(probs, nClasses, labels, 'One-vs-rest AUC');
  const perClass = new Array<number>(nClasses).fill(0);
  for (let i = 0; i < n; i++) perClass[labels[i]]++;
  return perClass.map((nPos, c) => {
    if (nPos === 0 || nPos === n) return Number.NaN;
    const pos = new Float64Array(nPos);
    const neg = new Float64Array(n - nPos);
    let p = 0;
    let q = 0;
    for (let i = 0; i < n; i++) {
      const s = probs[i * nClasses + c];
      if (labels[i] === c) pos[p++] = s;
      else neg[q++] = s;
    }
    pos.sort();
    neg.sort();
    return mannWhitneyU(pos, neg) / (nPos * (n - nPos));
  });
}

/** Macro-averaged one-vs-rest AUC over the classes present; throws if no class has a defined AUC. */
export function macroAuc(probs: ArrayLike<number>, nClasses: number, labels: ArrayLike<number>): number {
  const defined = oneVsRestAuc(probs, nClasses, labels).filter((a) => !Number.isNaN(a));
  if (defined.length === 0) {
    throw new InvalidInputError('Macro AUC: needs events from at least two classes.');
  }
  return defined.reduce((s, a) => s + a, 0) / defined.length;
}
