import { UnprocessableError } from '../errors.js';
import type { NumColumn } from './columns.js';
import { type ColumnEncoding, columnEncoding } from './encoding.js';
import type { TransformSpec } from './transform.js';

/**
 * How ROOT branches become the named inputs of a graph (an ONNX model), as a bundle declares it:
 *
 * - a feature input `[N, columns]`: each column a flat branch by name, or the first `max` slots of
 *   a jagged branch (`{"branch": "Jet_pt", "max": 17}` → Jet_pt_0 .. Jet_pt_16);
 * - a per-object input `[N, max, branches]` from jagged branches of one count
 *   (`{"objects": {"branches": ["Jet_eta", "Jet_pt"], "max": 17}}`), object by object.
 *
 * A slot beyond an event's entries is `pad` (null, the default, means NaN: "missing", which the
 * graph itself encodes). Values are raw branch values: any encoding lives inside the graph.
 */
export type MappedColumn = string | { branch: string; max: number };

export type InputMapping =
  | { name: string; columns: MappedColumn[]; pad?: number | null }
  | { name: string; objects: { branches: string[]; max: number }; pad?: number | null };

/** One input as the engine sees it: its per-row shape and where each of its values comes from. */
export interface MappedInput {
  name: string;
  /** per-row shape: [columns] or [objects, branches] */
  shape: number[];
  /** per value of a row, in order: the branch, and the slot for a jagged one (-1 for a flat one) */
  sources: Array<{ branch: string; slot: number }>;
  /** the value of a missing slot */
  pad: number;
}

/** Column names as `/json` and OIP see them: `f0`, `Jet_pt_3` (slot 3 of Jet_pt). */
export function columnName(s: { branch: string; slot: number }): string {
  return s.slot < 0 ? s.branch : `${s.branch}_${s.slot}`;
}

export function expandMapping(inputs: readonly InputMapping[]): MappedInput[] {
  return inputs.map((m) => {
    const pad = m.pad === undefined || m.pad === null ? Number.NaN : m.pad;
    if ('objects' in m) {
      const { branches, max } = m.objects;
      const sources: MappedInput['sources'] = [];
      for (let k = 0; k < max; k++) for (const branch of branches) sources.push({ branch, slot: k });
      return { name: m.name, shape: [max, branches.length], sources, pad };
    }
    const sources: MappedInput['sources'] = [];
    for (const c of m.columns) {
      if (typeof c === 'string') sources.push({ branch: c, slot: -1 });
      else for (let k = 0; k < c.max; k++) sources.push({ branch: c.branch, slot: k });
    }
    return { name: m.name, shape: [sources.length], sources, pad };
  });
}

/** Every branch a mapping reads, with whether it is jagged, in first-use order. */
export function mappedBranches(inputs: readonly MappedInput[]): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const i of inputs)
    for (const s of i.sources) {
      const jagged = s.slot >= 0;
      const seen = out.get(s.branch);
      if (seen !== undefined && seen !== jagged)
        throw new UnprocessableError(
          `branch "${s.branch}" is mapped both as one value per event and as a list (input "${i.name}")`,
          'BadInputMapping',
        );
      out.set(s.branch, jagged);
    }
  return out;
}

/**
 * The rows of n events, all inputs side by side (input after input, each row-major), from branch
 * columns: a flat branch's value, a jagged branch's slot or `pad` beyond its entries.
 */
export function mappedRows(
  inputs: readonly MappedInput[],
  columns: Readonly<Record<string, NumColumn>>,
  n: number,
): Float32Array {
  const width = inputs.reduce((s, i) => s + i.sources.length, 0);
  const x = new Float32Array(n * width);
  let col = 0;
  for (const input of inputs)
    for (const { branch, slot } of input.sources) {
      const c = columns[branch];
      if (!c) throw new UnprocessableError(`no values for branch "${branch}" (input "${input.name}")`);
      const v = c.values;
      if (slot < 0) {
        if (c.offsets)
          throw new UnprocessableError(
            `branch "${branch}" holds a list per event, but input "${input.name}" takes one value`,
          );
        for (let i = 0, at = col; i < n; i++, at += width) x[at] = v[i];
      } else {
        const off = c.offsets;
        if (!off)
          throw new UnprocessableError(
            `branch "${branch}" holds one value per event, but input "${input.name}" takes its entries`,
          );
        for (let i = 0, at = col; i < n; i++, at += width)
          x[at] = off[i] + slot < off[i + 1] ? v[off[i] + slot] : input.pad;
      }
      col++;
    }
  return x;
}

export type { ColumnEncoding } from './encoding.js';

/** The encoding a model trained here applies to each value column of its transform's layout. */
export function transformEncoding(spec: TransformSpec): ColumnEncoding {
  return columnEncoding(spec.layout, spec.branches, spec.encoding ?? 'minmax');
}

/** The raw-value input of the graph exported for a model trained here: its layout's value columns. */
export function transformInputMapping(spec: TransformSpec): InputMapping {
  return {
    name: 'features',
    columns: [...spec.layout.flat, ...spec.layout.jagged.map((j) => ({ branch: j.name, max: j.jdim }))],
  };
}
