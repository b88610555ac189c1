import type { BundleParams } from '../bundles/params.js';
import type { NumColumn } from '../dataset/columns.js';
import {
  columnName,
  expandMapping,
  type MappedInput,
  mappedBranches,
  mappedRows,
  transformEncoding,
} from '../dataset/input-mapping.js';
import { recordColumns, transformRecords } from '../dataset/transform.js';
import { InvalidInputError } from '../errors.js';
import type { LoadedModel, TensorInfo } from './engines/engine.js';

export type RawRecord = ReadonlyArray<number | number[]>;

/**
 * What a served model takes from callers, whichever engine runs it: named feature columns (by
 * position, or by these names) and, where the bundle says how, raw branch values by branch name.
 * Both become the engine's rows (every input side by side).
 */
export interface ModelInputs {
  /** the columns a row holds by position */
  readonly features: readonly string[];
  readonly featureIndex: ReadonlyMap<string, number>;
  /** raw branch name → jagged?, when raw values by branch name are accepted */
  readonly rawNames?: ReadonlyMap<string, boolean>;
  /** engine rows from rows of `features` */
  fromFeatures(x: Float32Array, n: number): Float32Array;
  /** engine rows from raw records (`keys` all in rawNames) */
  fromRaw(keys: readonly string[], rows: readonly RawRecord[]): Float32Array;
  /** the tensors the Open Inference Protocol takes (the graph's, or the bundle's features) */
  readonly tensors: readonly TensorInfo[];
  /** engine rows from those tensors' rows side by side */
  fromTensors(x: Float32Array, n: number): Float32Array;
  /** whether null in a feature column means a missing value (NaN): graphs fed raw columns */
  readonly missing: boolean;
}

const index = (names: readonly string[]) => new Map(names.map((f, i) => [f, i]));

function transformRaw(t: NonNullable<BundleParams['transform']>): Map<string, boolean> {
  return new Map([
    ...t.layout.flat.map((f): [string, boolean] => [f, false]),
    ...t.layout.jagged.map((j): [string, boolean] => [j.name, true]),
  ]);
}

/** Branch columns of raw records for a graph without a transform: numbers, or lists for jagged branches. */
function plainColumns(
  keys: readonly string[],
  rows: readonly RawRecord[],
  jagged: ReadonlyMap<string, boolean>,
): Record<string, NumColumn> {
  const columns: Record<string, NumColumn> = {};
  keys.forEach((k, ki) => {
    if (!jagged.get(k)) {
      columns[k] = {
        values: Float64Array.from(rows, (r, i) => {
          const v = r[ki];
          if (typeof v !== 'number')
            throw new InvalidInputError(
              `"${k}" takes one number per event, row ${i} has ${JSON.stringify(v)}`,
            );
          return v;
        }),
      };
      return;
    }
    const offsets = new Int32Array(rows.length + 1);
    const parts: number[] = [];
    rows.forEach((r, i) => {
      const v = r[ki];
      for (const x of Array.isArray(v) ? v : [v]) parts.push(x);
      offsets[i + 1] = parts.length;
    });
    columns[k] = { values: Float64Array.from(parts), offsets };
  });
  return columns;
}

/** The graph's mapped inputs in the engine's input order. */
function engineMapping(params: BundleParams, engine: LoadedModel): MappedInput[] {
  const byName = new Map(expandMapping(params.onnx!.inputs).map((m) => [m.name, m]));
  return engine.inputs.map((t) => byName.get(t.name)!);
}

/**
 * The inputs of a loaded bundle:
 * - TensorFlow.js: the bundle's (encoded) features; raw values through its transform;
 * - ONNX Runtime, a model trained here: the same features (by name, by position and in the Open
 *   Inference Protocol), decoded back to the raw values the graph encodes itself (a missing slot,
 *   mask 0, becomes NaN); raw values mapped as they are;
 * - ONNX Runtime, an uploaded graph: its mapped columns (f0, Jet_pt_3, ...) and mapped branches.
 */
export function modelInputs(params: BundleParams, engine: LoadedModel): ModelInputs {
  const t = params.transform;
  if (engine.engine === 'tfjs') {
    return {
      features: params.features,
      featureIndex: index(params.features),
      rawNames: t?.layout ? transformRaw(t) : undefined,
      fromFeatures: (x) => x,
      fromRaw: (keys, rows) => transformRecords(t!, keys, rows),
      tensors: engine.inputs,
      fromTensors: (x) => x,
      missing: false,
    };
  }
  const mapped = engineMapping(params, engine);
  if (t) {
    const enc = transformEncoding(t);
    const values = enc.shift.length;
    const maskStart = t.layout.flat.length;
    const fromFeatures = (x: Float32Array, n: number): Float32Array => {
      const w = params.features.length;
      const raw = new Float32Array(n * values);
      for (let i = 0; i < n; i++) {
        const row = i * w;
        for (let c = 0; c < values; c++) {
          const s = enc.scale[c];
          raw[i * values + c] = s ? x[row + c] / s + enc.shift[c] : enc.shift[c];
        }
        for (let k = 0; k < enc.maskColumns; k++)
          if (x[row + values + k] === 0) raw[i * values + maskStart + k] = Number.NaN;
      }
      return raw;
    };
    return {
      features: params.features,
      featureIndex: index(params.features),
      rawNames: transformRaw(t),
      fromFeatures,
      fromRaw: (keys, rows) => mappedRows(mapped, recordColumns(t, keys, rows), rows.length),
      // the Open Inference Protocol keeps the features TensorFlow.js took, whichever engine runs
      tensors: [{ name: params.inputNode || 'input', datatype: 'FP32', shape: [-1, params.features.length] }],
      fromTensors: fromFeatures,
      missing: false,
    };
  }
  const features = mapped.flatMap((m) => m.sources.map(columnName));
  const branches = mappedBranches(mapped);
  return {
    features,
    featureIndex: index(features),
    rawNames: branches,
    fromFeatures: (x) => x,
    fromRaw: (keys, rows) => mappedRows(mapped, plainColumns(keys, rows, branches), rows.length),
    tensors: engine.inputs,
    fromTensors: (x) => x,
    missing: true,
  };
}
