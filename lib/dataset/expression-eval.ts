import { InvalidInputError, UnprocessableError } from '../errors.js';
import type { NumColumn, NumericArray } from './columns.js';
import { type CmpOp, type Expression, type Node, parseExpression } from './expression.js';

/** A value during evaluation: a constant, or one value per event (flat) or per element (jagged). */
type Val = number | NumColumn;

const isConst = (v: Val): v is number => typeof v === 'number';

function sameOffsets(a: Int32Array, b: Int32Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Spreads a flat column over the elements of a jagged one (each event's value to each of its elements). */
function broadcast(flat: NumericArray, offsets: Int32Array): Float64Array {
  const out = new Float64Array(offsets[offsets.length - 1]);
  for (let i = 0; i + 1 < offsets.length; i++) out.fill(flat[i], offsets[i], offsets[i + 1]);
  return out;
}

/** Brings operands to one shape: all constants, or arrays of one length sharing offsets. */
function align(
  vals: Val[],
  names: string,
): { arrays: Array<NumericArray | number>; offsets?: Int32Array; n: number } {
  const jagged = vals.filter((v): v is NumColumn => !isConst(v) && v.offsets !== undefined);
  const offsets = jagged[0]?.offsets;
  for (const j of jagged.slice(1)) {
    if (!sameOffsets(j.offsets!, offsets!)) {
      throw new UnprocessableError(
        `in ${names}: two jagged branches with different lengths per event cannot be combined element by element`,
      );
    }
  }
  const arrays = vals.map((v) => {
    if (isConst(v)) return v;
    if (offsets && !v.offsets) return broadcast(v.values, offsets);
    return v.values;
  });
  const n = arrays.reduce<number>((m, a) => (typeof a === 'number' ? m : Math.max(m, a.length)), 0);
  return { arrays, offsets, n };
}

function mapN(vals: Val[], f: (...x: number[]) => number, what: string): Val {
  if (vals.every(isConst)) return f(...(vals as number[]));
  const { arrays, offsets, n } = align(vals, what);
  const out = new Float64Array(n);
  if (arrays.length === 1) {
    const a = arrays[0] as NumericArray;
    for (let i = 0; i < n; i++) out[i] = f(a[i]);
  } else if (arrays.length === 2) {
    const [a, b] = arrays;
    const ca = typeof a === 'number';
    const cb = typeof b === 'number';
    for (let i = 0; i < n; i++) out[i] = f(ca ? a : (a as NumericArray)[i], cb ? b : (b as NumericArray)[i]);
  } else {
    const args = new Array<number>(arrays.length);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < arrays.length; k++) {
        const a = arrays[k];
        args[k] = typeof a === 'number' ? a : a[i];
      }
      out[i] = f(...args);
    }
  }
  return { values: out, offsets };
}

const BINARY: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
  '**': (a, b) => a ** b,
  '&&': (a, b) => (a !== 0 && !Number.isNaN(a) && b !== 0 && !Number.isNaN(b) ? 1 : 0),
  '||': (a, b) => ((a !== 0 && !Number.isNaN(a)) || (b !== 0 && !Number.isNaN(b)) ? 1 : 0),
};
const COMPARE: Record<CmpOp, (a: number, b: number) => number> = {
  '<': (a, b) => (a < b ? 1 : 0),
  '<=': (a, b) => (a <= b ? 1 : 0),
  '>': (a, b) => (a > b ? 1 : 0),
  '>=': (a, b) => (a >= b ? 1 : 0),
  '==': (a, b) => (a === b ? 1 : 0),
  '!=': (a, b) => (a !== b ? 1 : 0),
};
const CALLS: Record<string, (...x: number[]) => number> = {
  abs: Math.abs,
  sqrt: Math.sqrt,
  exp: Math.exp,
  log: Math.log,
  log10: Math.log10,
  log2: Math.log2,
  log1p: Math.log1p,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  floor: Math.floor,
  ceil: Math.ceil,
  round: Math.round,
  atan2: Math.atan2,
  min: Math.min,
  max: Math.max,
  pow: Math.pow,
  where: (c, a, b) => (c !== 0 && !Number.isNaN(c) ? a : b),
};

function evalNode(node: Node, cols: Readonly<Record<string, NumColumn>>, text: string): Val {
  switch (node.k) {
    case 'num':
      return node.v;
    case 'var': {
      // own properties only: a branch named "constructor" exists only if the file has one
      const c = Object.hasOwn(cols, node.name) ? cols[node.name] : undefined;
      if (!c) throw new InvalidInputError(`in "${text}": branch "${node.name}" is not available`);
      return c;
    }
    case 'neg':
      return mapN([evalNode(node.a, cols, text)], (a) => -a, text);
    case 'not':
      return mapN([evalNode(node.a, cols, text)], (a) => (a === 0 || Number.isNaN(a) ? 1 : 0), text);
    case 'bin':
      return mapN([evalNode(node.a, cols, text), evalNode(node.b, cols, text)], BINARY[node.op], text);
    case 'call':
      return mapN(
        node.args.map((a) => evalNode(a, cols, text)),
        CALLS[node.fn],
        text,
      );
    case 'cmp': {
      // a < b <= c means a < b && b <= c, each operand evaluated once
      const args = node.args.map((a) => evalNode(a, cols, text));
      let acc: Val = mapN([args[0], args[1]], COMPARE[node.ops[0]], text);
      for (let i = 1; i < node.ops.length; i++) {
        acc = mapN([acc, mapN([args[i], args[i + 1]], COMPARE[node.ops[i]], text)], BINARY['&&'], text);
      }
      return acc;
    }
  }
}

/** Evaluates over n events: flat result (one value per event) unless a jagged branch is involved. */
export function evaluate(
  expr: Expression,
  columns: Readonly<Record<string, NumColumn>>,
  n: number,
): NumColumn {
  const v = evalNode(expr.root, columns, expr.text);
  return isConst(v) ? { values: new Float64Array(n).fill(v) } : v;
}

export type CutMode = 'any' | 'all';

export interface Cut {
  readonly expr: Expression;
  readonly mode?: CutMode;
  readonly variables: readonly string[];
}

export function parseCut(spec: string | readonly [string, CutMode], available?: Iterable<string>): Cut {
  const [text, mode] = typeof spec === 'string' ? [spec, undefined] : spec;
  const expr = parseExpression(text, available);
  return { expr, mode, variables: expr.variables };
}

/**
 * One 0/1 per event. A cut on jagged values is reduced per event: "any" passes an event with at
 * least one passing element, "all" one whose elements all pass (an empty event passes "all").
 */
export function applyCut(cut: Cut, columns: Readonly<Record<string, NumColumn>>, n: number): Uint8Array {
  const v = evaluate(cut.expr, columns, n);
  const mask = new Uint8Array(n);
  const pass = (x: number): boolean => x !== 0 && !Number.isNaN(x);
  if (!v.offsets) {
    for (let i = 0; i < n; i++) mask[i] = pass(v.values[i]) ? 1 : 0;
    return mask;
  }
  if (!cut.mode) {
    throw new InvalidInputError(
      `the cut "${cut.expr.text}" is on a jagged branch: say how to combine each event's values, as ["${cut.expr.text}", "any"] or ["${cut.expr.text}", "all"]`,
    );
  }
  const o = v.offsets;
  for (let i = 0; i < n; i++) {
    let any = false;
    let all = true;
    for (let k = o[i]; k < o[i + 1]; k++) {
      if (pass(v.values[k])) any = true;
      else all = false;
    }
    mask[i] = (cut.mode === 'any' ? any : all) ? 1 : 0;
  }
  return mask;
}
