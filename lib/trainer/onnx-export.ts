import type * as tf from '@tensorflow/tfjs';
import type { OnnxSection } from '../bundles/params.js';
import type { DatasetDeps } from '../dataset/dataset.js';
import {
  expandMapping,
  mappedRows,
  transformEncoding,
  transformInputMapping,
} from '../dataset/input-mapping.js';
import { type TransformSpec, transformFile } from '../dataset/transform.js';
import { openSession } from '../serving/engines/onnx-engine.js';
import { loadOnnxRuntime, onnxRuntimeStatus } from '../serving/engines/onnxruntime.js';
import { EXPORT_OPSET, exportOnnx, OnnxExportError } from '../training/onnx-export.js';

/**
 * Events per block when the test split is read again for verification: the reader's default of
 * 50,000 holds a block's raw columns, features and mapped rows at once (tens of MB at the job's end).
 */
const VERIFY_BLOCK = 10_000;

/** The most a graph may differ from TensorFlow.js on the test split and still be published. */
export const TOLERANCE = 1e-5;

/** What the bundle's metrics record of the export (metrics.onnx). */
export type OnnxReport =
  | {
      exported: true;
      opset: number;
      verifiedRows: number;
      maxAbsDiff: number;
      tolerance: number;
      runtime: string;
    }
  | { exported: false; reason: string };

export interface TestSplit {
  /** the dataset's files; file[i] indexes them */
  files: string[];
  file: Uint16Array;
  entry: Float64Array;
  /** TensorFlow.js's outputs on the test rows (rows × outputs) */
  scores: Float32Array;
}

/**
 * Runs the graph on the raw branch values of the test split's events, read again from their files
 * through the bundle's own transform (cuts and new branches applied, missing jet slots NaN), and
 * returns the largest difference from TensorFlow.js's outputs on the same events.
 */
async function verify(
  bytes: Uint8Array,
  transform: TransformSpec,
  test: TestSplit,
  outputs: number,
  deps: Pick<DatasetDeps, 'openFile'>,
): Promise<{ rows: number; maxAbsDiff: number }> {
  const session = await openSession(bytes, 'the exported model.onnx');
  const mapped = expandMapping([transformInputMapping(transform)]);
  const { ort } = await loadOnnxRuntime();
  let rows = 0;
  let worst = 0;
  try {
    for (let f = 0; f < test.files.length; f++) {
      const wanted = new Map<number, number>();
      for (let i = 0; i < test.file.length; i++) if (test.file[i] === f) wanted.set(test.entry[i], i);
      if (!wanted.size) continue;
      const last = Math.max(...wanted.keys());
      const file = await deps.openFile(test.files[f]);
      try {
        for await (const block of transformFile(file, transform, VERIFY_BLOCK)) {
          const pick: number[] = [];
          const at: number[] = [];
          block.entries.forEach((e, r) => {
            const i = wanted.get(e);
            if (i !== undefined) {
              pick.push(r);
              at.push(i);
            }
          });
          if (pick.length) {
            const raw = mappedRows(mapped, block.columns, block.rows);
            const width = mapped[0].sources.length;
            const x = new Float32Array(pick.length * width);
            for (const [j, r] of pick.entries()) x.set(raw.subarray(r * width, (r + 1) * width), j * width);
            const out = await session.run({ features: new ort.Tensor('float32', x, [pick.length, width]) });
            const y = out.probabilities.data as Float32Array;
            at.forEach((i, j) => {
              for (let k = 0; k < outputs; k++)
                worst = Math.max(worst, Math.abs(y[j * outputs + k] - test.scores[i * outputs + k]));
            });
            rows += pick.length;
          }
          if (block.entries.length && block.entries[block.entries.length - 1] >= last) break;
        }
      } finally {
        await file.close();
      }
    }
  } finally {
    await session.release();
  }
  return { rows, maxAbsDiff: worst };
}

/**
 * The bundle's model.onnx: the trained model with its input encoding inside, verified against
 * TensorFlow.js on the whole test split (at most TOLERANCE apart). Without ONNX Runtime, with a
 * layer the exporter cannot express, or when the two disagree, no graph is published and the
 * report says why: the bundle still serves through TensorFlow.js.
 */
export async function exportVerified(
  model: tf.LayersModel,
  transform: TransformSpec,
  test: TestSplit,
  deps: Pick<DatasetDeps, 'openFile'>,
  meta: { name: string; version: string; description?: string },
): Promise<{ onnx?: Uint8Array; section?: OnnxSection; report: OnnxReport }> {
  let bytes: Uint8Array;
  try {
    bytes = exportOnnx(model, transformEncoding(transform), meta);
  } catch (err) {
    if (err instanceof OnnxExportError) return { report: { exported: false, reason: err.message } };
    throw err;
  }
  const ort = await onnxRuntimeStatus();
  if (!ort.available)
    return { report: { exported: false, reason: `not verified, so not published: ${ort.reason}` } };
  const outputs = model.outputs[0].shape[1] ?? 1;
  const { rows, maxAbsDiff } = await verify(bytes, transform, test, outputs, deps);
  if (!(maxAbsDiff <= TOLERANCE))
    return {
      report: {
        exported: false,
        reason: `the graph differs from TensorFlow.js by up to ${maxAbsDiff} on ${rows} test rows (tolerance ${TOLERANCE})`,
      },
    };
  return {
    onnx: bytes,
    section: {
      file: 'model.onnx',
      inputs: [transformInputMapping(transform)],
      output: 'probabilities',
      tree: transform.tree,
    },
    report: {
      exported: true,
      opset: EXPORT_OPSET,
      verifiedRows: rows,
      maxAbsDiff,
      tolerance: TOLERANCE,
      runtime: `onnxruntime ${ort.version}`,
    },
  };
}
