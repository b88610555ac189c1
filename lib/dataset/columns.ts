import type { Column, TypedValues } from '../root/types.js';

/** Values as float64, converting 64-bit integers once (features are floats in the end). */
export function toFloat64(values: TypedValues): Float64Array {
  if (values instanceof Float64Array) return values;
  const out = new Float64Array(values.length);
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    for (let i = 0; i < values.length; i++) out[i] = Number(values[i]);
  } else out.set(values);
  return out;
}

/** Numeric typed arrays other than 64-bit integers (those are converted to float64 once). */
export type NumericArray =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

/** A column as the dataset layer uses it: numeric values as read (no copy), offsets when jagged. */
export interface NumColumn {
  values: NumericArray;
  offsets?: Int32Array;
}

function asNumeric(values: TypedValues): NumericArray {
  return values instanceof BigInt64Array || values instanceof BigUint64Array ? toFloat64(values) : values;
}

export function numeric(col: Column): NumColumn {
  if (col.shape === 'fixed') {
    // a fixed array behaves like a jagged one whose entries all have the same length
    const per = (col.inner ?? [1]).reduce((a, b) => a * b, 1);
    const n = col.values.length / per;
    const offsets = new Int32Array(n + 1);
    for (let i = 0; i <= n; i++) offsets[i] = i * per;
    return { values: asNumeric(col.values), offsets };
  }
  return { values: asNumeric(col.values), offsets: col.offsets };
}

/** Keeps the events whose mask is 1 (`kept` of them), for flat and jagged columns alike. */
export function compact(col: NumColumn, mask: Uint8Array, kept: number): NumColumn {
  const n = mask.length;
  if (kept === n) return col;
  if (!col.offsets) {
    const out = new Float64Array(kept);
    for (let i = 0, j = 0; i < n; i++) if (mask[i]) out[j++] = col.values[i];
    return { values: out };
  }
  const off = col.offsets;
  let total = 0;
  for (let i = 0; i < n; i++) if (mask[i]) total += off[i + 1] - off[i];
  const values = new Float64Array(total);
  const offsets = new Int32Array(kept + 1);
  for (let i = 0, j = 0, at = 0; i < n; i++) {
    if (!mask[i]) continue;
    values.set(col.values.subarray(off[i], off[i + 1]), at);
    at += off[i + 1] - off[i];
    offsets[++j] = at;
  }
  return { values, offsets };
}
