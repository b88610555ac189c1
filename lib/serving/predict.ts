import { type TransformSpec, transformRecords } from '../dataset/transform.js';
import { InvalidInputError, nearestNames, PayloadTooLargeError, UnprocessableError } from '../errors.js';
import type { ModelCache, ServedModel } from './model-cache.js';
import { scoreRows } from './scoring.js';

export interface PredictLimits {
  /** most rows per request (default 100,000) */
  maxRows?: number;
}

/** TFaaS's `/json` body: `values` is one row or a list of rows, in the order of `keys`. */
export interface JsonPredictRequest {
  keys: string[];
  values: unknown[];
  model: string;
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

/** One number per row (sigmoid models) or one list of class probabilities per row. */
export function perRow(m: ServedModel, p: Float32Array): number[] | number[][] {
  const k = m.outputs;
  if (k === 1) return Array.from(p);
  const out: number[][] = [];
  for (let i = 0; i < p.length; i += k) out.push(Array.from(p.subarray(i, i + k)));
  return out;
}

function describeInputs(m: ServedModel): string {
  const f = `the model takes ${m.width} features (${m.params.features.join(', ')})`;
  return m.rawNames ? `${f}, or raw values of the branches ${[...m.rawNames.keys()].join(', ')}` : f;
}

function bad(where: string, v: unknown, want: string): never {
  const s = JSON.stringify(v);
  throw new InvalidInputError(
    `${where} must be ${want}, got ${s === undefined ? String(v) : s.slice(0, 60)}`,
  );
}

function finite(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(where, v, 'a finite number');
  return v;
}

function rowOf(v: unknown, i: number, keys: readonly string[]): unknown[] {
  if (!Array.isArray(v)) bad(`values[${i}]`, v, `a row of ${keys.length} values`);
  if (v.length !== keys.length)
    throw new UnprocessableError(
      `row ${i} has ${v.length} values for ${keys.length} keys (${keys.join(', ')})`,
    );
  return v;
}

/** Rows of already-normalised features, in `keys` order (any permutation of the model's features). */
function normalisedRows(m: ServedModel, keys: readonly string[], values: unknown[], limits?: PredictLimits) {
  const batch = Array.isArray(values[0]);
  const n = batch ? values.length : 1;
  checkRows(n, limits);
  const w = m.width;
  const col = keys.map((k) => m.featureIndex.get(k)!);
  const x = new Float32Array(n * w);
  for (let i = 0; i < n; i++) {
    const row = batch ? rowOf(values[i], i, keys) : rowOf(values, 0, keys);
    for (let j = 0, at = i * w; j < w; j++) x[at + col[j]] = finite(row[j], `"${keys[j]}" of row ${i}`);
  }
  return { x, n };
}

/** Rows of raw branch values, normalised and padded by the bundle's own transform. */
function rawRows(
  m: ServedModel,
  transform: TransformSpec,
  keys: readonly string[],
  values: unknown[],
  limits?: PredictLimits,
) {
  const jagged = keys.map((k) => m.rawNames!.get(k)!);
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
      const where = `"${keys[j]}" of row ${i}`;
      if (!jagged[j] || !Array.isArray(v)) return finite(v, where);
      return v.map((x, k) => finite(x, `${where}[${k}]`));
    });
  });
  return { x: transformRecords(transform, keys, checked), n: rows.length };
}

/** Builds the input rows of a `/json` request, choosing normalised features or raw branch values by key names. */
export function jsonRows(
  m: ServedModel,
  keys: readonly string[],
  values: unknown[],
  limits?: PredictLimits,
): { x: Float32Array; n: number } {
  const allFeatures = keys.every((k) => m.featureIndex.has(k));
  if (allFeatures && keys.length === m.width) return normalisedRows(m, keys, values, limits);
  const t = m.params.transform;
  if (t && m.rawNames && keys.every((k) => m.rawNames!.has(k))) return rawRows(m, t, keys, values, limits);
  const unknown = keys.filter((k) => !m.featureIndex.has(k) && !m.rawNames?.has(k));
  if (unknown.length) {
    const names = [...m.featureIndex.keys(), ...(m.rawNames?.keys() ?? [])];
    const hints = unknown
      .map((u) => [u, nearestNames(u, names)] as const)
      .filter(([, near]) => near.length)
      .map(([u, near]) => `"${u}": did you mean ${near.map((s) => `"${s}"`).join(' or ')}?`);
    throw new UnprocessableError(
      `unknown input name(s) ${unknown.map((u) => `"${u}"`).join(', ')}${hints.length ? ` (${hints.join('; ')})` : ''}; ${describeInputs(m)}`,
      'UnknownFeature',
    );
  }
  if (allFeatures)
    throw new UnprocessableError(`expected ${m.width} features, got ${keys.length}: ${describeInputs(m)}`);
  throw new UnprocessableError(
    `the keys mix normalised feature names and raw branch names; ${describeInputs(m)}`,
  );
}

/**
 * TFaaS `/json`: probabilities for one row or a batch. Keys naming the bundle's features (in any
 * order) take normalised values as they are; keys naming raw branches go through the bundle's transform.
 */
export async function predictJson(
  cache: ModelCache,
  body: unknown,
  limits?: PredictLimits,
): Promise<number[] | number[][]> {
  const b = body as Partial<JsonPredictRequest> | null;
  if (!b || typeof b !== 'object' || Array.isArray(b))
    bad('the request', body, 'an object {keys, values, model}');
  if (typeof b.model !== 'string' || !b.model) bad('"model"', b.model, 'the name of a model');
  if (b.version !== undefined && typeof b.version !== 'string')
    bad('"version"', b.version, 'a version string');
  const { keys, values } = b;
  if (!Array.isArray(keys) || !keys.length || !keys.every((k) => typeof k === 'string'))
    bad('"keys"', keys, 'a non-empty list of input names');
  if (new Set(keys).size !== keys.length)
    throw new InvalidInputError(`"keys" names ${keys.find((k, i) => keys.indexOf(k) !== i)} twice`);
  if (!Array.isArray(values) || !values.length) bad('"values"', values, 'a row of values or a list of rows');
  return cache.use(b.model, b.version, async (m) => {
    const { x, n } = jsonRows(m, keys, values, limits);
    return perRow(m, await scoreRows(m, x, n));
  });
}
