import {
  InvalidInputError,
  nearestNames,
  PayloadTooLargeError,
  truncateName,
  UnprocessableError,
} from '../errors.js';
import type { ModelCache, ServedModel } from './model-cache.js';
import { scoreRows } from './scoring.js';

export interface PredictLimits {
  /** most rows per request (default 100,000) */
  maxRows?: number;
}

/**
 * TFaaS's `/json` body: `values` is one row or a list of rows, in the order of `keys`; without
 * `keys` (or with keys that name no input, as TFaaS ignores them) values are read by position.
 * `name` is TFaaS's client's alias of `model`.
 */
export interface JsonPredictRequest {
  keys?: string[];
  values: unknown[];
  model?: string;
  name?: string;
  version?: string;
}

const MAX_ROWS = 100_000;

export function checkRows(n: number, limits: PredictLimits | undefined): void {
  const max = limits?.maxRows ?? MAX_ROWS;
  if (n > max)
    throw new PayloadTooLargeError(
      `${n} rows in one request; send at most ${max} per request`,
      'BatchTooLarge',
    );
  if (n === 0) throw new InvalidInputError('no rows to predict');
}

/**
 * One number per row (sigmoid and regression models) or one list of class probabilities per row;
 * a single row (not a batch) of a multi-class model is one flat list, as TFaaS answers.
 */
export function perRow(m: ServedModel, p: Float32Array, single = false): number[] | number[][] {
  const k = m.outputs;
  if (k === 1 || single) return numbers(p, 0, p.length);
  const out: number[][] = [];
  for (let i = 0; i < p.length; i += k) out.push(numbers(p, i, i + k));
  return out;
}

/** p[from..to) as numbers: a loop, as Array.from takes the iterator path (4% of a single-row prediction). */
function numbers(p: Float32Array, from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(p[i]);
  return out;
}

function describeInputs(m: ServedModel): string {
  const f = `the model takes ${m.width} features (${m.inputs.features.join(', ')})`;
  const raw = m.inputs.rawNames;
  return raw ? `${f}, or raw values of the branches ${[...raw.keys()].join(', ')}` : f;
}

/** A value as the caller sent it, short: numbers as numbers (JSON would show Infinity as null). */
export function shown(v: unknown): string {
  if (typeof v === 'number') return String(v);
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : truncateName(s, 60);
}

function bad(where: string, v: unknown, want: string): never {
  throw new InvalidInputError(`${where} must be ${want}, got ${shown(v)}`);
}

/** The largest finite float32: models compute in float32, so anything beyond becomes Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Why a value cannot be fed to a model, or undefined when it can: a finite number within float32's
 * range. JSON's 1e999 arrives as Infinity; 3.5e38 is finite in JavaScript but Infinity once stored
 * in the float32 tensor, and the model would answer a meaningless constant.
 */
export function float32Problem(v: unknown): string | undefined {
  if (typeof v !== 'number') return 'not a number';
  if (Number.isNaN(v)) return 'not a number';
  if (!Number.isFinite(v))
    return 'not finite (a number too large for JSON doubles, such as 1e999, reads as Infinity)';
  if (Math.abs(v) > FLOAT32_MAX)
    return `outside the float32 range the model computes in (at most ±${FLOAT32_MAX.toPrecision(8)})`;
  return undefined;
}

function finite(v: unknown, where: string, missing = false): number {
  if (missing && v === null) return Number.NaN;
  const problem = float32Problem(v);
  if (problem)
    throw new InvalidInputError(
      `${where} must be a finite number${missing ? ' (or null: missing)' : ''}, got ${shown(v)}: ${problem}`,
    );
  return v as number;
}

/**
 * A value fit for a float32 tensor (a number, finite, within range; NaN fails the comparison): the
 * common case, checked before `finite` builds the message naming the value, which per value was
 * most of what a single-row prediction allocated.
 */
const fits = (v: unknown): v is number => typeof v === 'number' && Math.abs(v) <= FLOAT32_MAX;

/** Graphs that take raw values (ONNX) read null as a missing value (NaN), as their exporters wrote them. */
const takesMissing = (m: ServedModel) => m.inputs.missing;

function rowOf(v: unknown, i: number, keys: readonly string[]): unknown[] {
  if (!Array.isArray(v)) bad(`values[${i}]`, v, `a row of ${keys.length} values`);
  if (v.length !== keys.length)
    throw new UnprocessableError(
      `row ${i} has ${v.length} values for ${keys.length} keys (${keys.join(', ')})`,
    );
  return v;
}

function twice(keys: readonly string[]): never {
  throw new InvalidInputError(`"keys" names ${keys.find((k, i) => keys.indexOf(k) !== i)} twice`);
}

/** Rows of feature columns in `keys` order (any permutation of the model's features), as the engine takes them. */
function featureRows(m: ServedModel, keys: readonly string[], values: unknown[], limits?: PredictLimits) {
  const batch = Array.isArray(values[0]);
  const n = batch ? values.length : 1;
  checkRows(n, limits);
  const w = m.width;
  const col = new Int32Array(w);
  // every key a feature and as many as features: a repeated one leaves another out
  const seen = new Uint8Array(w);
  for (let j = 0; j < w; j++) {
    col[j] = m.inputs.featureIndex.get(keys[j])!;
    if (seen[col[j]]++) twice(keys);
  }
  const x = new Float32Array(n * w);
  for (let i = 0; i < n; i++) {
    const row = batch ? rowOf(values[i], i, keys) : rowOf(values, 0, keys);
    for (let j = 0, at = i * w; j < w; j++) {
      const v = row[j];
      x[at + col[j]] = fits(v) ? v : finite(v, `"${keys[j]}" of row ${i}`, takesMissing(m));
    }
  }
  return { x: m.inputs.fromFeatures(x, n), n, single: !batch };
}

/** Rows of values by position: exactly the model's feature count per row. */
function positionalRows(
  m: ServedModel,
  values: unknown[],
  limits: PredictLimits | undefined,
  keys?: readonly string[],
) {
  const batch = Array.isArray(values[0]);
  const rows = batch ? values : [values];
  checkRows(rows.length, limits);
  const w = m.width;
  const x = new Float32Array(rows.length * w);
  rows.forEach((r, i) => {
    if (!Array.isArray(r)) bad(`values[${i}]`, r, `a row of ${w} values`);
    if (r.length !== w)
      throw new UnprocessableError(
        `${keys ? `the keys name no input of the model, so values are read by position: ` : ''}row ${i} has ${r.length} values but the model takes ${w} features (${m.inputs.features.join(', ')})`,
        'FeatureCount',
      );
    for (let j = 0; j < w; j++) {
      const v = r[j];
      x[i * w + j] = fits(v) ? v : finite(v, `value ${j} of row ${i}`, takesMissing(m));
    }
  });
  return { x: m.inputs.fromFeatures(x, rows.length), n: rows.length, single: !batch };
}

/** Rows of raw branch values, turned into the engine's rows by the bundle's own mapping or transform. */
function rawRows(m: ServedModel, keys: readonly string[], values: unknown[], limits?: PredictLimits) {
  const raw = m.inputs.rawNames!;
  const jagged = keys.map((k) => raw.get(k)!);
  // one row holds numbers (and lists for jagged branches); a batch holds rows. Only when every key
  // is jagged is a list of lists ambiguous: lists of numbers of keys.length are then one row.
  const single =
    !values.every(Array.isArray) ||
    (jagged.every(Boolean) &&
      values.length === keys.length &&
      values.every((v) => (v as unknown[]).every((x) => !Array.isArray(x))));
  const rows = single ? [values] : values;
  checkRows(rows.length, limits);
  const checked = rows.map((r, i) => {
    const row = rowOf(r, i, keys);
    return row.map((v, j) => {
      if (fits(v)) return v;
      const where = `"${keys[j]}" of row ${i}`;
      if (!jagged[j] || !Array.isArray(v)) return finite(v, where);
      return v.map((x, k) => (fits(x) ? x : finite(x, `${where}[${k}]`)));
    });
  });
  return { x: m.inputs.fromRaw(keys, checked), n: rows.length, single };
}

/**
 * Builds the engine rows of a `/json` request: feature columns or raw branch values by name, or
 * values by position when there are no keys or they name none of the model's inputs.
 */
export function jsonRows(
  m: ServedModel,
  keys: readonly string[] | undefined,
  values: unknown[],
  limits?: PredictLimits,
): { x: Float32Array; n: number; single: boolean } {
  if (!keys) return positionalRows(m, values, limits);
  const { featureIndex, rawNames } = m.inputs;
  const allFeatures = keys.every((k) => featureIndex.has(k));
  // the common case checks its keys for repeats itself, without a Set of them
  if (allFeatures && keys.length === m.width) return featureRows(m, keys, values, limits);
  if (new Set(keys).size !== keys.length) twice(keys);
  if (rawNames && keys.every((k) => rawNames.has(k))) return rawRows(m, keys, values, limits);
  const unknown = keys.filter((k) => !featureIndex.has(k) && !rawNames?.has(k));
  // TFaaS ignores keys and reads values by position: so do we when no key names an input
  if (unknown.length === keys.length) return positionalRows(m, values, limits, keys);
  if (unknown.length) {
    const names = [...featureIndex.keys(), ...(rawNames?.keys() ?? [])];
    const hints = unknown
      .map((u) => [u, nearestNames(u, names)] as const)
      .filter(([, near]) => near.length)
      .map(([u, near]) => `"${truncateName(u)}": did you mean ${near.map((s) => `"${s}"`).join(' or ')}?`);
    throw new UnprocessableError(
      `unknown input name(s) ${unknown
        .slice(0, 10)
        .map((u) => `"${truncateName(u)}"`)
        .join(', ')}${hints.length ? ` (${hints.join('; ')})` : ''}; ${describeInputs(m)}`,
      'UnknownFeature',
    );
  }
  if (allFeatures)
    throw new UnprocessableError(`expected ${m.width} features, got ${keys.length}: ${describeInputs(m)}`);
  throw new UnprocessableError(`the keys mix feature names and raw branch names; ${describeInputs(m)}`);
}

/**
 * TFaaS `/json`: outputs for one row or a batch. Keys naming the model's features (in any order)
 * take those columns; keys naming raw branches go through the bundle's mapping or transform; no
 * keys, or keys naming nothing the model knows, mean values by position.
 */
export async function predictJson(
  cache: ModelCache,
  body: unknown,
  limits?: PredictLimits,
): Promise<number[] | number[][]> {
  const b = body as Partial<JsonPredictRequest> | null;
  if (!b || typeof b !== 'object' || Array.isArray(b))
    bad('the request', body, 'an object {keys, values, model}');
  const model = b.model ?? b.name;
  if (typeof model !== 'string' || !model) bad('"model" (or "name")', model, 'the name of a model');
  if (b.model !== undefined && b.name !== undefined && b.model !== b.name)
    throw new InvalidInputError(
      `"model" (${JSON.stringify(b.model)}) and "name" (${JSON.stringify(b.name)}) differ: send one`,
    );
  if (b.version !== undefined && typeof b.version !== 'string')
    bad('"version"', b.version, 'a version string');
  const { values } = b;
  // TFaaS reads values by position whatever the keys: empty keys are no keys
  const keys = Array.isArray(b.keys) && b.keys.length === 0 ? undefined : b.keys;
  if (keys !== undefined) {
    if (!Array.isArray(keys) || !keys.length || !keys.every((k) => typeof k === 'string'))
      bad('"keys"', keys, 'a non-empty list of input names');
  }
  if (!Array.isArray(values) || !values.length) bad('"values"', values, 'a row of values or a list of rows');
  return cache.use(model, b.version, async (m) => {
    const { x, n, single } = jsonRows(m, keys, values, limits);
    return perRow(m, await scoreRows(m, x, n), single);
  });
}
