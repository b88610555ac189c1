/**
 * Classifier metrics a physicist reads after training: ROC AUC (exact, tie-aware), the ROC curve,
 * confusion matrices, score histograms per class, cross-entropy and accuracy. Pure functions over
 * typed arrays; nothing here touches tfjs.
 *
 * Conventions: binary labels are 0/1 and a label >= 0.5 counts as signal (positive); an event is
 * predicted positive when its score is >= the threshold. NaN scores or labels are rejected with an
 * InvalidInputError rather than silently producing a wrong number.
 */
import { InvalidInputError } from '../errors.js';
import { mannWhitneyU } from './mann-whitney.js';

export { mannWhitneyU } from './mann-whitney.js';
export { macroAuc, multiclassAccuracy, multiclassConfusion, oneVsRestAuc } from './multiclass-metrics.js';

export interface RocPoint {
  /** False positive rate: fraction of background accepted (background efficiency). */
  fpr: number;
  /** True positive rate: fraction of signal accepted (signal efficiency). */
  tpr: number;
  /** Score cut giving this point (accept score >= threshold); +Infinity for the (0, 0) point. */
  threshold: number;
}

export interface ConfusionMatrix {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  accuracy: number;
  /** tp / (tp + fp); 0 when nothing is predicted positive. */
  precision: number;
  /** tp / (tp + fn), the signal efficiency. */
  recall: number;
  /** Harmonic mean of precision and recall; 0 when both are 0. */
  f1: number;
}

export interface ScoreHistograms {
  /** bins + 1 bin edges, increasing. */
  edges: number[];
  /** counts[class][bin]; scores outside the range are folded into the first or last bin. */
  counts: number[][];
  /** counts normalised so each class integrates to 1 (all zeros for a class with no events). */
  density: number[][];
}

const MAX_CLASSES = 1024;

function checkBinary(scores: ArrayLike<number>, labels: ArrayLike<number>, what: string): void {
  if (scores.length !== labels.length) {
    throw new InvalidInputError(
      `${what}: got ${scores.length} scores but ${labels.length} labels; there must be one label per score.`,
    );
  }
  if (scores.length === 0) throw new InvalidInputError(`${what}: no events to evaluate.`);
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) {
      throw new InvalidInputError(`${what}: score ${i} is NaN; the model produced an invalid output.`);
    }
    if (Number.isNaN(labels[i])) throw new InvalidInputError(`${what}: label ${i} is NaN.`);
  }
}

/** Scores of the positive and negative events, each sorted ascending (native typed-array sort). */
function splitSorted(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  what: string,
): { pos: Float64Array; neg: Float64Array } {
  checkBinary(scores, labels, what);
  let nPos = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0.5) nPos++;
  const nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) {
    throw new InvalidInputError(
      `${what}: needs both signal (label 1) and background (label 0) events, but all ${labels.length} ` +
        `events are ${nPos === 0 ? 'background' : 'signal'}.`,
    );
  }
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(nNeg);
  let p = 0;
  let q = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= 0.5) pos[p++] = scores[i];
    else neg[q++] = scores[i];
  }
  pos.sort();
  neg.sort();
  return { pos, neg };
}

/**
 * Exact binary ROC AUC: the probability that a random signal event scores above a random background
 * event, ties counting one half (Mann–Whitney U with average ranks). O(n log n).
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const { pos, neg } = splitSorted(scores, labels, 'AUC');
  return mannWhitneyU(pos, neg) / (pos.length * neg.length);
}

/**
 * The ROC curve from (0, 0) to (1, 1), one point per distinct score (tied scores give one diagonal
 * step), with fpr and tpr non-decreasing and threshold non-increasing. When there are more than
 * maxPoints points, collinear points are dropped first (lossless), then points are kept evenly in
 * FPR, taking for each FPR step the highest-TPR point at or below it; both endpoints are kept.
 */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<number>, maxPoints = 200): RocPoint[] {
  if (!Number.isInteger(maxPoints) || maxPoints < 2) {
    throw new InvalidInputError(`ROC curve: maxPoints must be an integer >= 2, got ${maxPoints}.`);
  }
  const { pos, neg } = splitSorted(scores, labels, 'ROC curve');
  const nPos = pos.length;
  const nNeg = neg.length;
  const cap = nPos + nNeg + 1;
  const tps = new Float64Array(cap);
  const fps = new Float64Array(cap);
  const thr = new Float64Array(cap);
  thr[0] = Number.POSITIVE_INFINITY;
  let k = 1;
  let pi = nPos - 1;
  let ni = nNeg - 1;
  let tp = 0;
  let fp = 0;
  while (pi >= 0 || ni >= 0) {
    const t = pi < 0 ? neg[ni] : ni < 0 ? pos[pi] : Math.max(pos[pi], neg[ni]);
    while (pi >= 0 && pos[pi] === t) {
      tp++;
      pi--;
    }
    while (ni >= 0 && neg[ni] === t) {
      fp++;
      ni--;
    }
    tps[k] = tp;
    fps[k] = fp;
    thr[k] = t;
    k++;
  }
  const point = (i: number): RocPoint => ({ fpr: fps[i] / nNeg, tpr: tps[i] / nPos, threshold: thr[i] });
  if (k <= maxPoints) return Array.from({ length: k }, (_, i) => point(i));

  // Lossless reduction: keep only the corners (integer cross products, so exact).
  const keep: number[] = [0];
  for (let i = 1; i < k - 1; i++) {
    const a = keep[keep.length - 1];
    const collinear = (fps[i] - fps[a]) * (tps[i + 1] - tps[i]) === (tps[i] - tps[a]) * (fps[i + 1] - fps[i]);
    if (!collinear) keep.push(i);
  }
  keep.push(k - 1);
  if (keep.length <= maxPoints) return keep.map(point);

  // Even thinning in FPR: for each target, the last (highest-TPR) corner with fpr <= target.
  const out: RocPoint[] = [point(0)];
  const targets = maxPoints - 1;
  let at = 0;
  for (let q = 0; q < targets; q++) {
    const target = targets === 1 ? nNeg : (q / (targets - 1)) * nNeg;
    let j = at;
    while (j + 1 < keep.length && fps[keep[j + 1]] <= target) j++;
    if (j > at) {
      out.push(point(keep[j]));
      at = j;
    }
  }
  return out;
}

/** Binary confusion matrix at a score threshold (predicted signal when score >= threshold). */
export function confusionMatrix(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold = 0.5,
): ConfusionMatrix {
  checkBinary(scores, labels, 'Confusion matrix');
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i] >= threshold;
    if (labels[i] >= 0.5) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { tp, fp, tn, fn, accuracy: (tp + tn) / scores.length, precision, recall, f1 };
}

/** Fraction of events classified correctly at a threshold. */
export function accuracy(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold = 0.5): number {
  return confusionMatrix(scores, labels, threshold).accuracy;
}

/** Mean binary cross-entropy, with scores clipped to [1e-7, 1 − 1e-7] as Keras does. */
export function binaryCrossEntropy(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkBinary(scores, labels, 'Binary cross-entropy');
  const eps = 1e-7;
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    const p = Math.min(Math.max(scores[i], eps), 1 - eps);
    const y = labels[i];
    sum -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
  }
  return sum / scores.length;
}

/**
 * Histograms of the scores per true class (class index = label rounded, so 0 = background and
 * 1 = signal for binary labels; at least two classes are always returned). Bins are equal-width
 * over range, the last bin closed on the right; out-of-range scores go in the first or last bin.
 */
export function scoreHistograms(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 50,
  range: readonly [number, number] = [0, 1],
): ScoreHistograms {
  checkBinary(scores, labels, 'Score histograms');
  if (!Number.isInteger(bins) || bins < 1) {
    throw new InvalidInputError(`Score histograms: bins must be a positive integer, got ${bins}.`);
  }
  const [lo, hi] = range;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
    throw new InvalidInputError(
      `Score histograms: range must be two finite numbers lo < hi, got [${lo}, ${hi}].`,
    );
  }
  const classOf = new Int32Array(labels.length);
  let nClasses = 2;
  for (let i = 0; i < labels.length; i++) {
    const c = Math.floor(labels[i] + 0.5);
    if (c < 0 || c >= MAX_CLASSES) {
      throw new InvalidInputError(
        `Score histograms: label ${i} is ${labels[i]}; labels must be class indices 0..${MAX_CLASSES - 1}.`,
      );
    }
    classOf[i] = c;
    if (c + 1 > nClasses) nClasses = c + 1;
  }
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + ((hi - lo) * i) / bins));
  const counts = Array.from({ length: nClasses }, () => new Array<number>(bins).fill(0));
  const scale = bins / (hi - lo);
  for (let i = 0; i < scores.length; i++) {
    let b = Math.floor((scores[i] - lo) * scale);
    if (!(b >= 0)) b = 0;
    else if (b >= bins) b = bins - 1;
    counts[classOf[i]][b]++;
  }
  const density = counts.map((row) => {
    const total = row.reduce((s, x) => s + x, 0);
    return row.map((x, b) => (total > 0 ? x / (total * (edges[b + 1] - edges[b])) : 0));
  });
  return { edges, counts, density };
}
