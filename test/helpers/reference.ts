import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { type BranchStats, parseStatsJson, type TreeStats } from '../../lib/root/stats.js';

const here = dirname(fileURLToPath(import.meta.url));
/** ../shared beside the repository root (read-only test data). */
export const SHARED = resolve(here, '../../../shared/data');
export const ROOT_DIR = join(SHARED, 'root');
export const SYNTH_DIR = join(SHARED, 'synth');
export const hasShared = existsSync(join(ROOT_DIR, 'reference.json'));

export type Reference = Record<string, Record<string, TreeStats>>;

export function loadReference(dir: string): Reference {
  return parseStatsJson(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference;
}

export function rootFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.root'));
}

const close = (a: number | null, b: number | null, rel: number): boolean => {
  if (a === null || b === null) return a === b;
  if (Number.isNaN(b)) return Number.isNaN(a);
  return a === b || Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-300);
};

function sameFirst(a: BranchStats['first'], b: BranchStats['first']): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    if (Array.isArray(x) || Array.isArray(y)) {
      return (
        Array.isArray(x) &&
        Array.isArray(y) &&
        x.length === y.length &&
        x.every((v, j) => close(v, y[j], 1e-8))
      );
    }
    return close(x, y, 1e-8);
  });
}

/** Checks ours against the reference: equal counts and first entries, min/max to 9 digits, sums to 1e-6. */
export function expectMatchesReference(ours: TreeStats, ref: TreeStats, label: string): void {
  expect(ours.entries, `${label}: entries`).toBe(ref.entries);
  const problems: string[] = [];
  for (const [name, r] of Object.entries(ref.branches)) {
    const s = ours.branches[name];
    if (!s) {
      problems.push(`${name}: missing`);
      continue;
    }
    if (s.entries !== r.entries) problems.push(`${name}: entries ${s.entries} != ${r.entries}`);
    if (s.values !== r.values) problems.push(`${name}: values ${s.values} != ${r.values}`);
    if (s.jagged !== r.jagged) problems.push(`${name}: jagged ${s.jagged} != ${r.jagged}`);
    if (!close(s.min, r.min, 1e-8)) problems.push(`${name}: min ${s.min} != ${r.min}`);
    if (!close(s.max, r.max, 1e-8)) problems.push(`${name}: max ${s.max} != ${r.max}`);
    if (!close(s.sum, r.sum, 1e-6)) problems.push(`${name}: sum ${s.sum} != ${r.sum}`);
    if (!sameFirst(s.first, r.first))
      problems.push(`${name}: first ${JSON.stringify(s.first)} != ${JSON.stringify(r.first)}`);
  }
  expect(problems, `${label}: ${problems.length} branches disagree with the reference`).toEqual([]);
}
