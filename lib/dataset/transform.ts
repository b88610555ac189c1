import { InvalidInputError, UnprocessableError } from '../errors.js';
import type { RootFile } from '../root/file.js';
import type { NumColumn } from './columns.js';
import { type Dataset, entryNumbers } from './dataset.js';
import { columnEncoding, type EncodingKind } from './encoding.js';
import { evaluate } from './expression-eval.js';
import { type BranchSpec, type FeatureLayout, featureRows, type TransformCounters } from './features.js';
import { compilePreproc } from './preproc.js';
import type { Selection } from './selection.js';
import { preprocessed } from './specs.js';
import type { Workflow } from './workflow.js';

/**
 * Everything needed to turn raw events into a model's inputs exactly as in training: stored in
 * a model bundle, so predictions apply the bundle's own preprocessing.
 */
export interface TransformSpec {
  tree: string;
  selection: Selection;
  preproc?: Workflow['preproc'];
  layout: FeatureLayout;
  branches: Record<string, BranchSpec>;
  /** absent in bundles written before it existed: those used `minmax` (./encoding.ts) */
  encoding?: EncodingKind;
}

export function transformSpecOf(ds: Dataset): TransformSpec {
  const branches: Record<string, BranchSpec> = {};
  for (const f of ds.selection.features) branches[f] = ds.specs.branches[f];
  return {
    tree: ds.specs.tree,
    selection: ds.selection,
    preproc: ds.workflow.preproc,
    layout: ds.layout,
    branches,
    encoding: ds.encoding,
  };
}

export interface TransformedBlock {
  /** entry number in the file of each row (events failing the cuts have no row) */
  entries: Float64Array;
  x: Float32Array;
  rows: number;
  /** the raw branch columns the rows were encoded from (after cuts, new branches computed) */
  columns: Readonly<Record<string, NumColumn>>;
}

/** Streams the feature rows of every event of a file that passes the cuts, with its entry number. */
export async function* transformFile(
  file: RootFile,
  spec: TransformSpec,
  stepSize = 50_000,
  counters: TransformCounters = { truncatedEvents: 0, nonFinite: 0 },
): AsyncGenerator<TransformedBlock> {
  const tree = await file.entrySource(spec.tree);
  const enc = columnEncoding(spec.layout, spec.branches, spec.encoding ?? 'minmax');
  const pre = compilePreproc(
    spec.preproc,
    tree.branches.map((b) => b.name),
  );
  const read = spec.selection.read.filter((b) => b !== spec.selection.labelBranch);
  for await (const p of preprocessed(tree, { ...spec.selection, read }, pre, stepSize)) {
    const x = featureRows(p.columns, p.events, spec.layout, enc, counters);
    yield { entries: entryNumbers(p.entryStart, p.events, p.mask), x, rows: p.events, columns: p.columns };
  }
}

/**
 * Feature rows from raw values given by branch name, one record per event (the serving path:
 * callers send un-normalised values, a number for a flat branch and a list for a jagged one; new
 * branches of the workflow's preproc are computed from their inputs, as in training).
 */
export function transformRecords(
  spec: TransformSpec,
  keys: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<number | number[]>>,
): Float32Array {
  const columns = recordColumns(spec, keys, rows);
  const enc = columnEncoding(spec.layout, spec.branches, spec.encoding ?? 'minmax');
  return featureRows(columns, rows.length, spec.layout, enc, { truncatedEvents: 0, nonFinite: 0 });
}

/** The branch columns of records (raw values by branch name), new branches computed: before encoding. */
export function recordColumns(
  spec: TransformSpec,
  keys: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<number | number[]>>,
): Record<string, NumColumn> {
  const newNames = new Set([
    ...Object.keys(spec.preproc?.new_branch ?? {}),
    ...Object.keys(spec.preproc?.define ?? {}),
  ]);
  const fileBranches = [...spec.selection.read, ...spec.selection.features].filter((b) => !newNames.has(b));
  const compiled = compilePreproc(spec.preproc, new Set(fileBranches));
  // a label the workflow defined is not needed to predict, nor are its inputs
  const label = spec.selection.labelBranch;
  const pre = { ...compiled, defines: compiled.defines.filter((d) => d.name !== label) };
  const defined = new Set(pre.defines.map((d) => d.name));
  const inputs = [...spec.layout.flat, ...spec.layout.jagged.map((j) => j.name)].filter(
    (k) => !defined.has(k),
  );
  for (const d of pre.defines)
    for (const v of d.expr.variables) if (!defined.has(v) && !inputs.includes(v)) inputs.push(v);
  const missing = inputs.filter((k) => !keys.includes(k));
  if (missing.length) {
    throw new UnprocessableError(
      `missing values for ${missing.map((m) => `"${m}"`).join(', ')}; the model needs ${inputs.length} inputs: ${inputs.join(', ')}`,
    );
  }
  const n = rows.length;
  const columns: Record<string, NumColumn> = {};
  keys.forEach((k, ki) => {
    if (!inputs.includes(k)) return;
    const jagged = spec.branches[k]?.jagged ?? rows.some((r) => Array.isArray(r[ki]));
    if (!jagged) {
      const values = new Float64Array(n);
      rows.forEach((r, i) => {
        const v = r[ki];
        if (typeof v !== 'number')
          throw new InvalidInputError(`"${k}" takes one number per event, row ${i} has ${JSON.stringify(v)}`);
        values[i] = v;
      });
      columns[k] = { values };
    } else {
      const offsets = new Int32Array(n + 1);
      const parts: number[] = [];
      rows.forEach((r, i) => {
        const v = r[ki];
        const list = Array.isArray(v) ? v : [v];
        for (const x of list) {
          if (typeof x !== 'number')
            throw new InvalidInputError(`"${k}" takes a list of numbers, row ${i} has ${JSON.stringify(v)}`);
          parts.push(x);
        }
        offsets[i + 1] = parts.length;
      });
      columns[k] = { values: Float64Array.from(parts), offsets };
    }
  });
  for (const d of pre.defines) columns[d.name] = evaluate(d.expr, columns, n);
  return columns;
}
