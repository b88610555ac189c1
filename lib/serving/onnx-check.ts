import type { onnx as O } from 'onnx-proto';
import onnxProto from 'onnx-proto';
import type { OnnxSection } from '../bundles/params.js';
import { expandMapping } from '../dataset/input-mapping.js';
import { UnprocessableError } from '../errors.js';

const { onnx } = onnxProto;

/** The newest ai.onnx opset ONNX Runtime 1.30 supports (27 and later are "under development"). */
export const MAX_OPSET = 26;
/** Operator domains ONNX Runtime's CPU build implements. */
const DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft', 'ai.onnx.preview.training']);
/** Bytes one declared tensor (an input, an output, an intermediate value) may hold per row, or in all. */
const MAX_DECLARED_BYTES = 256 * 1024 * 1024;
const MAX_DEPTH = 16;

/** Bytes per element of each TensorProto.DataType (strings: variable, counted as 1). */
const ELEMENT_BYTES: Record<number, number> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  8: 1,
  9: 1,
  10: 2,
  11: 8,
  12: 4,
  13: 8,
  14: 8,
  15: 16,
  16: 2,
};
const TYPE_NAMES: Record<number, string> = {
  1: 'float32',
  10: 'float16',
  11: 'float64',
  6: 'int32',
  7: 'int64',
};

type Long = number | { toString(): string };
const num = (v: Long | null | undefined): number => (typeof v === 'number' ? v : Number(v?.toString() ?? 0));

function bad(message: string): never {
  throw new UnprocessableError(`model.onnx ${message}`, 'BadOnnxModel');
}

/** What the upload check learned of the graph (graph inputs other than initializers). */
export interface OnnxGraphInfo {
  opset: number;
  inputs: Array<{ name: string; type: string; shape: Array<number | string> }>;
  outputs: Array<{ name: string; type: string; shape: Array<number | string> }>;
}

/** Elements a tensor declares (its dims), refused when a dim is negative or the product is absurd. */
function declared(dims: readonly Long[], what: string): number {
  let n = 1;
  for (const d of dims) {
    const v = num(d);
    if (v < 0) bad(`declares ${what} with a negative dimension (${v})`);
    n *= v;
    if (n > Number.MAX_SAFE_INTEGER) bad(`declares ${what} with more than 2^53 elements`);
  }
  return n;
}

/** Elements a TensorProto actually holds, whichever field carries them. */
function stored(t: O.ITensorProto): number {
  const size = ELEMENT_BYTES[t.dataType ?? 0] ?? 1;
  if (t.rawData?.length) return t.rawData.length / size;
  const complex = t.dataType === 14 || t.dataType === 15 ? 2 : 1;
  const n =
    t.floatData?.length ||
    t.int32Data?.length ||
    t.int64Data?.length ||
    t.doubleData?.length ||
    t.uint64Data?.length ||
    t.stringData?.length ||
    0;
  return n / complex;
}

/**
 * A weight or constant: its declared shape must match what it holds (a tensor declaring 2 GB in a
 * small file is refused before anything allocates it), and it may not live in an external file.
 */
function checkTensor(t: O.ITensorProto, where: string): void {
  const what = `the tensor "${t.name ?? ''}" (${where})`;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || t.externalData?.length)
    bad(`stores ${what} in an external file; export the model with its weights inside the .onnx file`);
  const n = declared(t.dims ?? [], what);
  const bytes = n * (ELEMENT_BYTES[t.dataType ?? 0] ?? 1);
  if (bytes > MAX_DECLARED_BYTES)
    bad(
      `declares ${what} of shape [${(t.dims ?? []).map(num).join(', ')}], ${bytes} bytes: more than ${MAX_DECLARED_BYTES}`,
    );
  const held = stored(t);
  if (held !== n)
    bad(`declares ${what} of shape [${(t.dims ?? []).map(num).join(', ')}] (${n} values) but holds ${held}`);
}

function checkGraph(g: O.IGraphProto, depth: number): void {
  if (depth > MAX_DEPTH) bad(`nests subgraphs more than ${MAX_DEPTH} deep`);
  for (const t of g.initializer ?? []) checkTensor(t, 'an initializer');
  for (const s of g.sparseInitializer ?? []) {
    if (s.values) checkTensor(s.values, 'a sparse initializer');
    if (s.indices) checkTensor(s.indices, 'a sparse initializer');
  }
  for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) {
    const tt = v.type?.tensorType;
    const dims = (tt?.shape?.dim ?? []).filter((d) => !d.dimParam);
    const fixed = dims.map((d) => num(d.dimValue ?? 0)).filter((d) => d > 0);
    const bytes = declared(fixed, `the value "${v.name}"`) * (ELEMENT_BYTES[tt?.elemType ?? 1] ?? 1);
    if (bytes > MAX_DECLARED_BYTES)
      bad(
        `declares the value "${v.name}" with ${bytes} bytes per row (shape [${fixed.join(', ')}]): more than ${MAX_DECLARED_BYTES}`,
      );
  }
  for (const node of g.node ?? []) {
    if (node.domain && !DOMAINS.has(node.domain))
      bad(
        `uses the operator ${node.domain}.${node.opType}, from a domain ONNX Runtime does not have (custom operators are not served)`,
      );
    for (const a of node.attribute ?? []) {
      if (a.t) checkTensor(a.t, `attribute ${a.name} of ${node.opType}`);
      for (const t of a.tensors ?? []) checkTensor(t, `attribute ${a.name} of ${node.opType}`);
      if (a.g) checkGraph(a.g, depth + 1);
      for (const sub of a.graphs ?? []) checkGraph(sub, depth + 1);
    }
  }
}

function shapeOf(v: O.IValueInfoProto): Array<number | string> {
  return (v.type?.tensorType?.shape?.dim ?? []).map((d) =>
    d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? num(d.dimValue) : '?',
  );
}

/**
 * Checks an uploaded model.onnx without running it, so a hostile or broken file costs no more than
 * its parse: a protobuf ModelProto with a graph, an opset ONNX Runtime has, standard operator
 * domains, weights inside the file whose declared shapes match what they hold, no declared value
 * of more than 256 MiB. Every failure is a 422 saying what is wrong.
 */
export function inspectOnnx(bytes: Uint8Array): OnnxGraphInfo {
  let model: O.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    return bad(`is not an ONNX model (the protobuf does not parse: ${(err as Error).message})`);
  }
  const g = model.graph;
  if (!g?.node?.length || !g.output?.length) bad('is not an ONNX model: it has no graph, nodes or outputs');
  const ir = num(model.irVersion);
  if (ir < 3) bad(`has IR version ${ir}; ONNX Runtime reads version 3 and later`);
  let opset = 0;
  for (const o of model.opsetImport ?? []) {
    const domain = o.domain ?? '';
    const v = num(o.version);
    if (domain === '' || domain === 'ai.onnx') {
      opset = v;
      if (v > MAX_OPSET)
        bad(
          `needs opset ${v} of ai.onnx; ONNX Runtime here supports up to ${MAX_OPSET}: export with opset_version=${MAX_OPSET} or lower`,
        );
      if (v < 7) bad(`needs opset ${v} of ai.onnx; ONNX Runtime supports opset 7 and later`);
    } else if (!DOMAINS.has(domain))
      bad(`imports the operator domain "${domain}", which ONNX Runtime does not have`);
  }
  if (!opset) bad('imports no ai.onnx opset');
  checkGraph(g, 0);
  const weights = new Set((g.initializer ?? []).map((t) => t.name));
  const info = (v: O.IValueInfoProto) => ({
    name: v.name ?? '',
    type: TYPE_NAMES[v.type?.tensorType?.elemType ?? 0] ?? `type ${v.type?.tensorType?.elemType ?? '?'}`,
    shape: shapeOf(v),
  });
  return {
    opset,
    inputs: (g.input ?? []).filter((v) => !weights.has(v.name)).map(info),
    outputs: (g.output ?? []).map(info),
  };
}

/** A mapping for a graph uploaded without one: each [batch, k] input's columns named `<input>_<i>`. */
export function defaultMapping(graph: OnnxGraphInfo, features?: readonly string[]): OnnxSection['inputs'] {
  return graph.inputs.map((i) => {
    const k = i.shape[1];
    if (i.shape.length !== 2 || typeof k !== 'number' || k <= 0)
      bad(
        `input "${i.name}" has shape ${JSON.stringify(i.shape)}; declare how branches fill it in params.json "onnx": {"inputs": [{"name": "${i.name}", "objects": {"branches": [...], "max": N}}]}`,
      );
    const columns =
      graph.inputs.length === 1 && features?.length === k
        ? [...features]
        : Array.from({ length: k }, (_, c) => `${i.name}_${c}`);
    return { name: i.name, columns };
  });
}

/** The graph against the bundle's mapping, before ONNX Runtime is asked to load it. */
export function checkMapping(graph: OnnxGraphInfo, section: OnnxSection): void {
  const mapped = expandMapping(section.inputs);
  const names = graph.inputs.map((i) => i.name);
  for (const m of mapped) {
    const g = graph.inputs.find((i) => i.name === m.name);
    if (!g)
      bad(
        `has no input "${m.name}", which params.json maps; its inputs are ${names.map((n) => `"${n}"`).join(', ')}`,
      );
    const per = g.shape.slice(1);
    if (g.type !== 'float32') bad(`input "${m.name}" is ${g.type}; only float32 inputs are served`);
    if (per.length !== m.shape.length || per.some((d, k) => typeof d === 'number' && d !== m.shape[k]))
      bad(
        `input "${m.name}" has shape ${JSON.stringify(g.shape)} but params.json fills [batch, ${m.shape.join(', ')}]`,
      );
  }
  const unmapped = names.filter((n) => !mapped.some((m) => m.name === n));
  if (unmapped.length)
    bad(`has inputs params.json does not map: ${unmapped.map((n) => `"${n}"`).join(', ')}`);
  const out = section.output ?? graph.outputs[0].name;
  const o = graph.outputs.find((x) => x.name === out);
  if (!o)
    bad(`has no output "${out}"; its outputs are ${graph.outputs.map((x) => `"${x.name}"`).join(', ')}`);
  if (!(o.shape.length === 1 || (o.shape.length === 2 && typeof o.shape[1] === 'number' && o.shape[1] > 0)))
    bad(
      `output "${out}" has shape ${JSON.stringify(o.shape)}; it must be [batch] or [batch, k] with k known`,
    );
}
