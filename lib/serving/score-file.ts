import type { StoredBundle } from '../bundles/bundle-store.js';
import { entryNumbers } from '../dataset/dataset.js';
import { expandMapping, mappedBranches, mappedRows } from '../dataset/input-mapping.js';
import { compilePreproc } from '../dataset/preproc.js';
import { preprocessed } from '../dataset/specs.js';
import { transformFile } from '../dataset/transform.js';
import { InvalidInputError } from '../errors.js';
import type { RootFile } from '../root/file.js';
import { type EngineChoice, splitRows } from './engines/engine.js';
import { loadBundleModel } from './engines/load.js';

export interface ScoredBlock {
  /** entry number in the file of each row (events failing the bundle's cuts have no row) */
  entries: Float64Array;
  rows: number;
  /** rows × outputs values */
  scores: Float32Array;
  outputs: number;
}

const STEP = 50_000;

/**
 * Scores every event of a ROOT file that passes the bundle's cuts, block by block, with the engine
 * the bundle runs on: a model trained here reads its transform's branches (its cuts and new
 * branches applied); an uploaded graph reads the branches its mapping names.
 */
export async function* scoreFile(
  file: RootFile,
  bundle: StoredBundle,
  options: { tree?: string; what?: string; onEngine?(c: EngineChoice): void } = {},
): AsyncGenerator<ScoredBlock> {
  const { params } = bundle;
  const what = options.what ?? `model "${params.name}"`;
  const { model, choice } = await loadBundleModel(bundle, what);
  options.onEngine?.(choice);
  try {
    const run = (x: Float32Array, rows: number) => model.predict(splitRows(x, model.inputWidths, rows), rows);
    const t = params.transform;
    const onnxInputs = model.engine === 'onnxruntime' ? expandMapping(params.onnx!.inputs) : undefined;
    const mapped = onnxInputs && model.inputs.map((i) => onnxInputs.find((m) => m.name === i.name)!);
    if (t) {
      for await (const block of transformFile(file, { ...t, tree: options.tree ?? t.tree }, STEP)) {
        const x = mapped ? mappedRows(mapped, block.columns, block.rows) : block.x;
        yield {
          entries: block.entries,
          rows: block.rows,
          scores: await run(x, block.rows),
          outputs: model.outputs,
        };
      }
      return;
    }
    if (!mapped)
      throw new InvalidInputError(
        `${what} has no transform (it was uploaded without one) and no ONNX input mapping, so ROOT files cannot be turned into its inputs`,
      );
    const treeName = options.tree ?? params.onnx?.tree;
    if (!treeName) throw new InvalidInputError(`${what} names no tree: give --tree`);
    const tree = await file.tree(treeName);
    const read = [...mappedBranches(mapped).keys()];
    for (const b of read) tree.branch(b); // names a missing branch, with suggestions
    const pre = compilePreproc(undefined, read);
    for await (const p of preprocessed(tree, { read, features: read }, pre, STEP)) {
      const x = mappedRows(mapped, p.columns, p.events);
      yield {
        entries: entryNumbers(p.entryStart, p.events, p.mask),
        rows: p.events,
        scores: await run(x, p.events),
        outputs: model.outputs,
      };
    }
  } finally {
    model.dispose();
  }
}
