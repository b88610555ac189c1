import { describe, expect, it } from 'vitest';
import type { NumColumn } from '../../lib/dataset/columns.js';
import { columnEncoding, constantColumns } from '../../lib/dataset/encoding.js';
import { type BranchSpec, featureLayout, featureRows } from '../../lib/dataset/features.js';
import { addColumn, emptyMoments, mergeMoments, pooled } from '../../lib/dataset/moments.js';
import { seededRandom } from '../../lib/dataset/random.js';
import { BranchAccumulator, type FileSpecs, mergeSpecs } from '../../lib/dataset/specs.js';

/** A jagged column of `events` events with 0..4 entries each, values around `centre`. */
function jagged(events: number, centre: number, seed: number): NumColumn {
  const rnd = seededRandom(seed);
  const offsets = new Int32Array(events + 1);
  const values: number[] = [];
  for (let i = 0; i < events; i++) {
    const n = Math.floor(rnd() * 5);
    for (let k = 0; k < n; k++) values.push(centre + (k + 1) * rnd());
    offsets[i + 1] = values.length;
  }
  return { values: Float64Array.from(values), offsets };
}

function concat(a: NumColumn, b: NumColumn): NumColumn {
  const values = new Float64Array(a.values.length + b.values.length);
  values.set(a.values);
  values.set(b.values, a.values.length);
  const na = a.offsets!.length - 1;
  const offsets = new Int32Array(na + b.offsets!.length);
  offsets.set(a.offsets!);
  for (let i = 1; i < b.offsets!.length; i++) offsets[na + i] = b.offsets![i] + a.values.length;
  return { values, offsets };
}

function fileOf(name: string, acc: BranchAccumulator, events: number): FileSpecs {
  return { source: name, fingerprint: name, entries: events, events, branches: { j: acc.spec() } };
}

describe('moments of real values', () => {
  it('merged over two files equal one pass over all their values (count, mean, M2 per slot)', () => {
    // a large mean and a small spread: where the sum-of-squares formula loses every digit
    const a = jagged(3_000, 1e6, 1);
    const b = jagged(5_000, 1e6 + 0.5, 2);
    const accA = new BranchAccumulator();
    accA.add(a, 3_000);
    const accB = new BranchAccumulator();
    accB.add(b, 5_000);
    const merged = mergeSpecs('k', 't', [fileOf('a', accA, 3_000), fileOf('b', accB, 5_000)]).branches.j;
    const one = new BranchAccumulator();
    one.add(concat(a, b), 8_000);
    const m = merged.moments!;
    const o = one.moments;
    expect(m.count).toEqual(o.count);
    for (let k = 0; k < o.count.length; k++) {
      expect(Math.abs(m.mean[k] - o.mean[k])).toBeLessThan(1e-9 * 1e6);
      expect(Math.abs(m.m2[k] - o.m2[k]) / o.m2[k]).toBeLessThan(1e-7);
      // and both agree with the textbook two-pass figure in exact-enough arithmetic
      const slot: number[] = [];
      const all = concat(a, b);
      for (let i = 0; i + 1 < all.offsets!.length; i++)
        if (all.offsets![i] + k < all.offsets![i + 1]) slot.push(all.values[all.offsets![i] + k]);
      const mean = slot.reduce((s, v) => s + v, 0) / slot.length;
      const m2 = slot.reduce((s, v) => s + (v - mean) ** 2, 0);
      expect(Math.abs(m.m2[k] - m2) / m2).toBeLessThan(1e-7);
    }
    expect(merged.jdim).toBe(4);
    expect(merged.min).toBe(Math.min(accA.min, accB.min));
  });

  it('step by step equals all at once, and pooling the slots gives the whole branch', () => {
    const c = jagged(4_000, 3, 5);
    const whole = emptyMoments();
    addColumn(whole, c.values, c.offsets);
    const steps = emptyMoments();
    for (const [from, to] of [
      [0, 1_000],
      [1_000, 2_500],
      [2_500, 4_000],
    ]) {
      const off = c.offsets!.slice(from, to + 1);
      const values = c.values.slice(off[0], off.at(-1));
      addColumn(
        steps,
        values,
        off.map((o) => o - off[0]),
      );
    }
    expect(steps.count).toEqual(whole.count);
    steps.mean.forEach((m, k) => {
      expect(m).toBeCloseTo(whole.mean[k], 12);
    });
    const p = pooled(whole);
    const flat = emptyMoments();
    addColumn(flat, c.values);
    expect(p.count).toBe(flat.count[0]);
    expect(p.mean).toBeCloseTo(flat.mean[0], 12);
    expect(p.m2 / flat.m2[0]).toBeCloseTo(1, 12);
    expect(mergeMoments(emptyMoments(), whole)).toEqual(whole);
  });

  it('counts NaN and ±Inf, and leaves them out of min, max and the moments', () => {
    const acc = new BranchAccumulator();
    acc.add({ values: Float64Array.from([1, Number.NaN, 3, Number.POSITIVE_INFINITY, -Infinity, 5]) }, 6);
    const s = acc.spec();
    expect(s.nonFinite).toBe(3);
    expect([s.min, s.max]).toEqual([1, 5]);
    expect(s.moments!.count).toEqual([3]);
    expect(s.moments!.mean[0]).toBe(3);
    expect(s.moments!.m2[0]).toBe(8);
  });
});

describe('the standard encoding', () => {
  const stats = (values: number[][]): BranchSpec['moments'] => {
    const m = emptyMoments();
    const offsets = new Int32Array(values.length + 1);
    values.forEach((v, i) => {
      offsets[i + 1] = offsets[i] + v.length;
    });
    addColumn(m, values.flat(), offsets);
    return m;
  };
  // a: flat, mean 2, std 1; c: constant; j: slot 0 = {10, 30} (mean 20, std 10), slot 1 = {4, 6}
  const branches: Record<string, BranchSpec> = {
    a: { min: 1, max: 3, jagged: false, jdim: 0, moments: stats([[1], [3]]) },
    c: { min: 7, max: 7, jagged: false, jdim: 0, moments: stats([[7], [7]]) },
    j: { min: 4, max: 30, jagged: true, jdim: 2, moments: stats([[10, 4], [30, 6], []]) },
  };
  const layout = featureLayout(branches, true);
  const columns = {
    a: { values: Float64Array.from([1, 3, Number.NaN]) },
    c: { values: Float64Array.from([7, 7, 7]) },
    j: {
      values: Float64Array.from([10, 4, 30, Number.POSITIVE_INFINITY]),
      offsets: Int32Array.from([0, 2, 4, 4]),
    },
  };

  it('standardises each slot on its real values; missing slots, NaN and ±Inf become 0 (the mean); the mask marks entries', () => {
    const enc = columnEncoding(layout, branches, 'standard');
    const counters = { truncatedEvents: 0, nonFinite: 0 };
    const x = featureRows(columns, 3, layout, enc, counters);
    expect(layout.names).toEqual(['a', 'c', 'j_0', 'j_1', 'j_mask_0', 'j_mask_1']);
    expect(Array.from(x)).toEqual([-1, 0, -1, -1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(counters.nonFinite).toBe(2);
  });

  it('keeps a feature that does not vary at 0, never NaN, and names it', () => {
    const enc = columnEncoding(layout, branches, 'standard');
    expect(constantColumns(layout, enc)).toEqual(['c']);
    const x = featureRows({ ...columns, c: { values: Float64Array.from([7, 8, -1e30]) } }, 3, layout, enc, {
      truncatedEvents: 0,
      nonFinite: 0,
    });
    for (let i = 0; i < 3; i++) expect(x[i * 6 + 1] + 0).toBe(0);
  });

  it('per branch instead of per slot pools the slots', () => {
    const enc = columnEncoding(layout, branches, 'standard', false);
    const p = pooled(branches.j.moments!);
    expect(enc.shift[2]).toBeCloseTo(p.mean, 12);
    expect(enc.shift[3]).toBeCloseTo(p.mean, 12);
    expect(enc.scale[3]).toBeCloseTo(1 / Math.sqrt(p.m2 / p.count), 12);
  });

  it("min-max is MLaaS4HEP's (x - min) / (max - min), missing at 0, x itself where max == min", () => {
    const enc = columnEncoding(layout, branches, 'minmax');
    const x = featureRows(columns, 3, layout, enc, { truncatedEvents: 0, nonFinite: 0 });
    expect(Array.from(x.subarray(0, 6))).toEqual([0, 7, Math.fround(6 / 26), 0, 1, 1]);
    expect(x[6]).toBe(1);
    expect(x[12 + 2]).toBe(0);
  });
});
