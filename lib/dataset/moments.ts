/**
 * Count, mean and sum of squared deviations (M2) of a feature's real values, per slot: one slot
 * for a flat branch, slot k = the k-th entry of each event for a jagged one. Merged across read
 * steps and files with Chan et al.'s parallel update, which stays accurate where the textbook
 * sum-of-squares formula cancels (a large mean, a small spread).
 */
export interface Moments {
  count: number[];
  mean: number[];
  m2: number[];
}

export function emptyMoments(): Moments {
  return { count: [], mean: [], m2: [] };
}

/** Folds (n, mean, m2) into slot k of `into`. */
function mergeSlot(into: Moments, k: number, n: number, mean: number, m2: number): void {
  while (into.count.length <= k) {
    into.count.push(0);
    into.mean.push(0);
    into.m2.push(0);
  }
  const na = into.count[k];
  if (n === 0) return;
  if (na === 0) {
    into.count[k] = n;
    into.mean[k] = mean;
    into.m2[k] = m2;
    return;
  }
  const total = na + n;
  const delta = mean - into.mean[k];
  into.mean[k] += (delta * n) / total;
  into.m2[k] += m2 + (delta * delta * na * n) / total;
  into.count[k] = total;
}

/** `b` folded into `a` (in place), slot by slot. */
export function mergeMoments(a: Moments, b: Moments): Moments {
  for (let k = 0; k < b.count.length; k++) mergeSlot(a, k, b.count[k], b.mean[k], b.m2[k]);
  return a;
}

/**
 * Adds one read step of a column (values, and offsets when jagged) to `into`; values that are not
 * finite are skipped (a NaN or ±Inf is a missing value) and their number returned. Two passes per
 * step (mean, then deviations about it), then one merge per slot.
 */
export function addColumn(into: Moments, values: ArrayLike<number>, offsets?: Int32Array): number {
  let nonFinite = 0;
  if (!offsets) {
    let n = 0;
    let sum = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (Number.isFinite(v)) {
        n++;
        sum += v;
      } else nonFinite++;
    }
    if (n === 0) return nonFinite;
    const mean = sum / n;
    let m2 = 0;
    for (let i = 0; i < values.length; i++) {
      const d = values[i] - mean;
      if (Number.isFinite(d)) m2 += d * d;
    }
    mergeSlot(into, 0, n, mean, m2);
    return nonFinite;
  }
  const events = offsets.length - 1;
  let slots = 0;
  for (let i = 0; i < events; i++) slots = Math.max(slots, offsets[i + 1] - offsets[i]);
  const n = new Float64Array(slots);
  const sum = new Float64Array(slots);
  for (let i = 0; i < events; i++)
    for (let at = offsets[i], k = 0; at < offsets[i + 1]; at++, k++) {
      const v = values[at];
      if (Number.isFinite(v)) {
        n[k]++;
        sum[k] += v;
      } else nonFinite++;
    }
  const mean = Float64Array.from(sum, (s, k) => (n[k] ? s / n[k] : 0));
  const m2 = new Float64Array(slots);
  for (let i = 0; i < events; i++)
    for (let at = offsets[i], k = 0; at < offsets[i + 1]; at++, k++) {
      const d = values[at] - mean[k];
      if (Number.isFinite(d)) m2[k] += d * d;
    }
  for (let k = 0; k < slots; k++) mergeSlot(into, k, n[k], mean[k], m2[k]);
  return nonFinite;
}

/** All slots as one: the statistics of every real value of the branch. */
export function pooled(m: Moments): { count: number; mean: number; m2: number } {
  const one = emptyMoments();
  for (let k = 0; k < m.count.length; k++) mergeSlot(one, 0, m.count[k], m.mean[k], m.m2[k]);
  return { count: one.count[0] ?? 0, mean: one.mean[0] ?? 0, m2: one.m2[0] ?? 0 };
}
