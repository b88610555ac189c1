import type { InferenceSession } from 'onnxruntime-node';
import type { OnnxSection } from '../../bundles/params.js';
import { expandMapping, type MappedInput } from '../../dataset/input-mapping.js';
import { UnprocessableError } from '../../errors.js';
import type { LoadedModel, TensorInfo } from './engine.js';
import { loadOnnxRuntime } from './onnxruntime.js';

type Dim = number | string;

const FLOAT = new Set(['float32', 'float64', 'float16']);

function bad(what: string, message: string): never {
  throw new UnprocessableError(`${what}: ${message}`, 'BadOnnxModel');
}

/** Per-row dims of a graph tensor, checked against what the mapping feeds it. */
function checkInput(
  what: string,
  meta: { name: string; type?: string; shape?: readonly Dim[] },
  m: MappedInput,
) {
  if (meta.type !== 'float32')
    bad(what, `input "${meta.name}" is ${meta.type ?? 'not a tensor'}; only float32 inputs are served`);
  const shape = meta.shape ?? [];
  const want = [m.shape.length + 1];
  if (shape.length !== want[0])
    bad(
      what,
      `input "${meta.name}" has shape ${JSON.stringify(shape)} but the mapping fills [batch, ${m.shape.join(', ')}]`,
    );
  shape.slice(1).forEach((d, i) => {
    if (typeof d === 'number' && d !== m.shape[i])
      bad(
        what,
        `input "${meta.name}" has shape ${JSON.stringify(shape)} but the mapping fills [batch, ${m.shape.join(', ')}]`,
      );
  });
  if (typeof shape[0] === 'number' && shape[0] !== -1 && shape[0] !== 1)
    bad(
      what,
      `input "${meta.name}" has a fixed batch size of ${shape[0]}; export it with a dynamic batch axis`,
    );
}

/** Values per row of the output read: [batch] or [batch, k] with k known. */
function outputWidth(what: string, meta: { name: string; type?: string; shape?: readonly Dim[] }): number {
  if (!meta.type || !FLOAT.has(meta.type))
    bad(what, `output "${meta.name}" is ${meta.type ?? 'not a tensor'}, not a float tensor`);
  const shape = meta.shape ?? [];
  if (shape.length === 1) return 1;
  if (shape.length === 2 && typeof shape[1] === 'number' && shape[1] > 0) return shape[1];
  return bad(
    what,
    `output "${meta.name}" has shape ${JSON.stringify(shape)}; the output read must be [batch] or [batch, k] with k known`,
  );
}

/**
 * Checks a session's graph against the bundle's mapping: every input mapped and fed float32 of
 * the mapped shape, the output known. Returns the mapped inputs in the graph's input order.
 */
export function matchGraph(
  session: Pick<InferenceSession, 'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata'>,
  section: OnnxSection,
  what: string,
): { inputs: MappedInput[]; output: string; outputs: number } {
  const mapped = new Map(expandMapping(section.inputs).map((m) => [m.name, m]));
  const names = session.inputNames;
  const unmapped = names.filter((n) => !mapped.has(n));
  const unknown = [...mapped.keys()].filter((n) => !names.includes(n));
  if (unmapped.length || unknown.length)
    bad(
      what,
      `the graph's inputs are ${names.map((n) => `"${n}"`).join(', ')}${unknown.length ? `; params.json maps ${unknown.map((n) => `"${n}"`).join(', ')}, which the graph does not have` : ''}${unmapped.length ? `; no mapping for ${unmapped.map((n) => `"${n}"`).join(', ')}` : ''}`,
    );
  const inputs = names.map((n, i) => {
    const m = mapped.get(n)!;
    checkInput(what, session.inputMetadata[i] as never, m);
    return m;
  });
  const output = section.output ?? session.outputNames[0];
  const oi = session.outputNames.indexOf(output);
  if (oi < 0)
    bad(
      what,
      `the graph has no output "${output}"; its outputs are ${session.outputNames.map((n) => `"${n}"`).join(', ')}`,
    );
  return { inputs, output, outputs: outputWidth(what, session.outputMetadata[oi] as never) };
}

/** ONNX Runtime sessions for small requests: one thread each (a request is microseconds of work). */
const SESSION_OPTIONS: InferenceSession.SessionOptions = {
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  logSeverityLevel: 3,
};

/** A session of a bundle's model.onnx; errors name the bundle (`what`) and are 422s. */
export async function openSession(bytes: Uint8Array, what: string): Promise<InferenceSession> {
  const { ort } = await loadOnnxRuntime();
  try {
    return await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  } catch (err) {
    const msg = (err as Error).message.replace(/\s+/g, ' ').slice(0, 400);
    return bad(what, `ONNX Runtime cannot load model.onnx: ${msg}`);
  }
}

/** Loads model.onnx with ONNX Runtime behind the engine interface. */
export async function loadOnnxModel(
  bytes: Uint8Array,
  section: OnnxSection,
  what: string,
): Promise<LoadedModel> {
  const { ort } = await loadOnnxRuntime();
  const session = await openSession(bytes, what);
  let graph: ReturnType<typeof matchGraph>;
  try {
    graph = matchGraph(session, section, what);
  } catch (err) {
    await session.release();
    throw err;
  }
  const { inputs, output, outputs } = graph;
  const tensors: TensorInfo[] = inputs.map((m) => ({
    name: m.name,
    datatype: 'FP32',
    shape: [-1, ...m.shape],
  }));
  const widths = inputs.map((m) => m.sources.length);
  return {
    engine: 'onnxruntime',
    inputs: tensors,
    output: { name: output, datatype: 'FP32', shape: [-1, outputs] },
    inputWidths: widths,
    outputs,
    async predict(feeds, rows) {
      const named: Record<string, InstanceType<typeof ort.Tensor>> = {};
      inputs.forEach((m, i) => {
        named[m.name] = new ort.Tensor('float32', feeds[i], [rows, ...m.shape]);
      });
      const out = (await session.run(named, [output]))[output];
      const data = out.data;
      const y = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
      out.dispose?.();
      if (y.length !== rows * outputs)
        throw new UnprocessableError(`${what}: output "${output}" gave ${y.length} values for ${rows} rows`);
      return y;
    },
    dispose() {
      void session.release();
    },
  };
}
