import type { EntrySource } from './entry-source.js';
import { iterate } from './iterate.js';
import type { Column } from './types.js';

/** Per-branch figures in the shape of ../shared/data/root/reference.json, for checking against other readers. */
export interface BranchStats {
  entries: number;
  jagged: boolean;
  values: number;
  sum: number;
  min: number | null;
  max: number | null;
  first: Array<number | number[]>;
}

export interface TreeStats {
  entries: number;
  branches: Record<string, BranchStats>;
}

class Accumulator {
  entries = 0;
  values = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  first: Array<number | number[]> = [];
  nan = false;

  constructor(private readonly jagged: boolean) {}

  add(col: Column, n: number): void {
    const v = col.values;
    const len = v.length;
    let sum = 0;
    let min = this.min;
    let max = this.max;
    if (v instanceof BigInt64Array || v instanceof BigUint64Array) {
      for (let i = 0; i < len; i++) {
        const x = Number(v[i]);
        sum += x;
        if (x < min) min = x;
        if (x > max) max = x;
      }
    } else {
      for (let i = 0; i < len; i++) {
        const x = v[i];
        sum += x;
        if (x < min) min = x;
        if (x > max) max = x;
      }
      // NumPy's min/max propagate NaN; a NaN sum tells us one was there
      if (Number.isNaN(sum)) this.nan = true;
    }
    this.sum += sum;
    this.min = min;
    this.max = max;
    const per = col.shape === 'fixed' ? (col.inner ?? [1]).reduce((a, b) => a * b, 1) : 1;
    for (let e = 0; this.first.length < 3 && e < n; e++) {
      if (col.offsets) this.first.push(Array.from(v.subarray(col.offsets[e], col.offsets[e + 1]), Number));
      else if (col.shape === 'fixed') this.first.push(Array.from(v.subarray(e * per, (e + 1) * per), Number));
      else this.first.push(Number(v[e]));
    }
    this.entries += n;
    this.values += len;
  }

  result(): BranchStats {
    const empty = this.values === 0;
    return {
      entries: this.entries,
      jagged: this.jagged,
      values: this.values,
      sum: this.sum,
      min: empty ? null : this.nan ? Number.NaN : this.min,
      max: empty ? null : this.nan ? Number.NaN : this.max,
      first: this.first,
    };
  }
}

/** Streams every (or the given) numeric branch once and summarises it. */
export async function treeStats(
  tree: EntrySource,
  branches?: readonly string[],
  stepSize = 100_000,
): Promise<TreeStats> {
  const acc = new Map<string, Accumulator>();
  for await (const chunk of iterate(tree, { branches, stepSize })) {
    const n = chunk.entryStop - chunk.entryStart;
    for (const [name, col] of Object.entries(chunk.columns)) {
      let a = acc.get(name);
      if (!a) {
        a = new Accumulator(col.shape === 'jagged');
        acc.set(name, a);
      }
      a.add(col, n);
    }
  }
  const out: Record<string, BranchStats> = {};
  for (const [name, a] of acc) out[name] = a.result();
  return { entries: tree.entries, branches: out };
}

/** A number as JSON can hold it: NaN and ±Infinity (not JSON) become the strings "NaN", "Infinity", "-Infinity". */
export function jsonNumber(x: number): number | string {
  return Number.isFinite(x) ? x : String(x);
}

/** Statistics as strict JSON: NaN and ±Infinity written as strings, so JSON.parse and jq accept it. */
export function statsToJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' ? jsonNumber(v) : v), indent);
}

/**
 * Parses statistics: ours (NaN and ±Infinity as strings) or Python's, as in reference.json (bare
 * NaN/Infinity tokens, which are not JSON).
 */
export function parseStatsJson(text: string): unknown {
  const marked = text.replace(/([[:,]\s*)(NaN|-?Infinity)(?=\s*[,\]}])/g, '$1"$2"');
  return JSON.parse(marked, (_k, v) =>
    v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? Number(v) : v,
  );
}
