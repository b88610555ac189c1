import { type OnnxSection, OnnxSectionSchema } from '../bundles/params.js';
import { columnName, expandMapping, mappedBranches } from '../dataset/input-mapping.js';
import { issuePath, UnprocessableError } from '../errors.js';
import { matchGraph, openSession } from './engines/onnx-engine.js';
import { onnxRuntimeStatus } from './engines/onnxruntime.js';
import { checkMapping, defaultMapping, inspectOnnx } from './onnx-check.js';

/** The ONNX part of an uploaded bundle, checked: nothing is written until every part is. */
export interface OnnxPart {
  onnx: Uint8Array;
  section: OnnxSection;
  /** the mapped columns, inputs in the graph's order (`f0`, `Jet_pt_3`, ...) */
  features: string[];
  /** values per row of the output read */
  outputs: number;
  inputNode: string;
  outputNode: string;
}

/** The .onnx file of an upload: params.json's "model" when it names one, else model.onnx or the only .onnx. */
export function onnxPath(files: ReadonlyMap<string, Uint8Array>, model: unknown): string | undefined {
  if (typeof model === 'string' && model.endsWith('.onnx') && files.has(model)) return model;
  if (files.has('model.onnx')) return 'model.onnx';
  const all = [...files.keys()].filter((p) => p.endsWith('.onnx'));
  return all.length === 1 ? all[0] : undefined;
}

/** A TensorFlow graph or SavedModel: refused with how to convert it. */
export function tensorflowGraphError(path: string): UnprocessableError {
  const saved = path.endsWith('saved_model.pb');
  return new UnprocessableError(
    `the bundle holds a TensorFlow ${saved ? 'SavedModel' : 'graph'} (${path}), which is not served here; convert it to ONNX with tf2onnx (pip install tf2onnx): ${
      saved
        ? 'python -m tf2onnx.convert --saved-model <model dir> --opset 13 --output model.onnx'
        : 'python -m tf2onnx.convert --graphdef model.pb --inputs <input>:0 --outputs <output>:0 --opset 13 --output model.onnx'
    }, or a Keras model to TensorFlow.js with tensorflowjs_converter --input_format keras`,
    'UnsupportedModelFormat',
  );
}

function parseSection(doc: unknown): OnnxSection {
  const r = OnnxSectionSchema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new UnprocessableError(
      `params.json "${issuePath(i.path, 'onnx')}": ${i.message}`,
      'BadInputMapping',
    );
  }
  return r.data;
}

/**
 * Checks an uploaded ONNX graph against its mapping (params.json "onnx"; without one, each
 * [batch, k] input gets columns `<input>_<i>`, or params.json "features" for a single input):
 * the file parses, its opset, operators and declared sizes are ones ONNX Runtime serves safely,
 * every graph input is mapped with its shape, and the output is known. Where ONNX Runtime is
 * installed the graph is also loaded, to prove it runs. Failures are 422s naming what is wrong.
 */
export async function checkOnnxUpload(
  bytes: Uint8Array,
  given: { onnx?: unknown; features?: unknown; outputNode?: unknown },
): Promise<OnnxPart> {
  const graph = inspectOnnx(bytes);
  const features =
    Array.isArray(given.features) && given.features.every((f) => typeof f === 'string')
      ? (given.features as string[])
      : undefined;
  const outputNode =
    typeof given.outputNode === 'string' && graph.outputs.some((o) => o.name === given.outputNode)
      ? given.outputNode
      : undefined;
  const section: OnnxSection =
    given.onnx !== undefined
      ? parseSection(given.onnx)
      : { file: 'model.onnx', inputs: defaultMapping(graph, features), output: outputNode };
  checkMapping(graph, section);
  try {
    mappedBranches(expandMapping(section.inputs));
  } catch (err) {
    throw new UnprocessableError(`params.json "onnx": ${(err as Error).message}`, 'BadInputMapping');
  }
  let outputs: number;
  const order = graph.inputs.map((i) => i.name);
  const ort = await onnxRuntimeStatus();
  if (ort.available) {
    const session = await openSession(bytes, 'the uploaded model');
    try {
      outputs = matchGraph(session, section, 'the uploaded model.onnx').outputs;
    } finally {
      await session.release();
    }
  } else {
    const out = graph.outputs.find((o) => o.name === (section.output ?? graph.outputs[0].name))!;
    outputs = out.shape.length === 1 ? 1 : (out.shape[1] as number);
  }
  const mapped = expandMapping(section.inputs).sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  return {
    onnx: bytes,
    section,
    features: mapped.flatMap((m) => m.sources.map(columnName)),
    outputs,
    inputNode: order.join(','),
    outputNode: section.output ?? graph.outputs[0].name,
  };
}
