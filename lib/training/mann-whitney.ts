/**
 * The Mann–Whitney U statistic of two sorted samples: the number of (positive, negative) pairs in
 * which the positive scores higher, a tie counting one half. U / (n₊·n₋) is the ROC AUC.
 *
 * Identical to the average-rank formula U = R₊ − n₊(n₊+1)/2, but computed by merging the two sorted
 * samples in O(n₊ + n₋), in integer arithmetic (2U is an integer), so the result is exact.
 * Both arrays must be sorted ascending and free of NaN.
 */
export function mannWhitneyU(pos: Float64Array, neg: Float64Array): number {
  let u2 = 0;
  let lt = 0;
  let le = 0;
  const nn = neg.length;
  for (let i = 0; i < pos.length; ) {
    const v = pos[i];
    let j = i + 1;
    while (j < pos.length && pos[j] === v) j++;
    while (lt < nn && neg[lt] < v) lt++;
    if (le < lt) le = lt;
    while (le < nn && neg[le] <= v) le++;
    // each of the (j − i) tied positives beats lt negatives and ties with (le − lt): 2·lt + (le − lt)
    u2 += (j - i) * (lt + le);
    i = j;
  }
  return u2 / 2;
}
