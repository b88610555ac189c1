import { InvalidInputError, truncateName } from '../errors.js';
import type { NumColumn } from './columns.js';
import { compact } from './columns.js';
import { checkDefinedName, type Expression, parseExpression } from './expression.js';
import { applyCut, type Cut, evaluate, parseCut } from './expression-eval.js';
import type { CutSpec, Workflow } from './workflow.js';

/** The workflow's preprocessing, compiled: new branches in order, then every cut (all must pass). */
export interface Preprocessing {
  defines: Array<{ name: string; expr: Expression; type?: 'flat' | 'jagged' }>;
  cuts: Array<{ text: string; cut: Cut }>;
  /** branches dropped from the features after the cuts used them */
  drop: Set<string>;
  /** branches of the file that defines and cuts read */
  inputs: Set<string>;
}

export function cutsOf(block: Record<string, unknown>): CutSpec[] {
  return Object.keys(block)
    .filter((k) => /^cut(_\d+)?$/.test(k))
    .sort((a, b) => Number(a.split('_')[1] ?? 0) - Number(b.split('_')[1] ?? 0))
    .map((k) => block[k] as CutSpec);
}

/** Compiles MLaaS4HEP's new_branch / flat_cut / jagged_cut, or our cuts / define / drop, against the tree's branch names. */
export function compilePreproc(pre: Workflow['preproc'], branchNames: Iterable<string>): Preprocessing {
  const known = new Set(branchNames);
  const out: Preprocessing = { defines: [], cuts: [], drop: new Set(), inputs: new Set() };
  if (!pre) return out;
  const addCut = (spec: CutSpec, where: string): void => {
    try {
      const cut = parseCut(spec, known);
      out.cuts.push({ text: Array.isArray(spec) ? `${spec[0]} (${spec[1]})` : spec, cut });
      for (const v of cut.variables) if (!out.defines.some((d) => d.name === v)) out.inputs.add(v);
    } catch (err) {
      throw new InvalidInputError(`preproc.${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const defines: Array<[string, string, 'flat' | 'jagged' | undefined]> = [
    ...Object.entries(pre.define ?? {}).map(([n, d]): [string, string, undefined] => [n, d, undefined]),
    ...Object.entries(pre.new_branch ?? {}).map(([n, b]): [string, string, 'flat' | 'jagged' | undefined] => [
      n,
      b.def,
      b.type,
    ]),
  ];
  for (const [name, def, type] of defines) {
    checkDefinedName(name, 'preproc');
    if (known.has(name))
      throw new InvalidInputError(
        `preproc: new branch "${truncateName(name)}" already exists in the file; choose another name`,
      );
    let expr: Expression;
    try {
      expr = parseExpression(def, known);
    } catch (err) {
      throw new InvalidInputError(
        `preproc.new_branch.${name}.def: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    for (const v of expr.variables) if (!out.defines.some((d) => d.name === v)) out.inputs.add(v);
    out.defines.push({ name, expr, type });
    known.add(name);
  }
  for (const [name, b] of Object.entries(pre.new_branch ?? {})) {
    for (const c of cutsOf(b)) addCut(c, `new_branch.${name}`);
    if (b.remove) out.drop.add(name);
    for (const k of b.keys_to_remove) out.drop.add(k);
  }
  for (const [group, blocks] of [
    ['flat_cut', pre.flat_cut],
    ['jagged_cut', pre.jagged_cut],
  ] as const) {
    for (const [name, b] of Object.entries(blocks ?? {})) {
      if (!known.has(name))
        throw new InvalidInputError(
          `preproc.${group}.${truncateName(name)}: no branch named "${truncateName(name)}"`,
        );
      for (const c of cutsOf(b)) addCut(c, `${group}.${name}`);
      if (b.remove) out.drop.add(name);
    }
  }
  (pre.cuts ?? []).forEach((c, i) => {
    addCut(c, `cuts[${i}]`);
  });
  for (const d of pre.drop ?? []) out.drop.add(d);
  return out;
}

/**
 * Adds the new branches to the columns of n events, applies every cut, and keeps the passing
 * events. Returns the surviving columns, their count and (when cuts ran) which events passed.
 */
export function applyPreproc(
  pre: Preprocessing,
  columns: Record<string, NumColumn>,
  n: number,
): { columns: Record<string, NumColumn>; events: number; mask?: Uint8Array } {
  if (!pre.defines.length && !pre.cuts.length) return { columns, events: n };
  const cols: Record<string, NumColumn> = { ...columns };
  for (const d of pre.defines) cols[d.name] = evaluate(d.expr, cols, n);
  if (!pre.cuts.length) return { columns: cols, events: n };
  const mask = new Uint8Array(n).fill(1);
  for (const { cut } of pre.cuts) {
    const m = applyCut(cut, cols, n);
    for (let i = 0; i < n; i++) mask[i] &= m[i];
  }
  let kept = 0;
  for (let i = 0; i < n; i++) kept += mask[i];
  const out: Record<string, NumColumn> = {};
  for (const [k, c] of Object.entries(cols)) out[k] = compact(c, mask, kept);
  return { columns: out, events: kept, mask };
}
