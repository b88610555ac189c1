import type * as tf from '@tensorflow/tfjs';
import type { onnx as O } from 'onnx-proto';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** The opset written: the one of ../shared/data/onnx (PyTorch's default), read by every runtime since 2020. */
export const EXPORT_OPSET = 13;

/**
 * How the graph turns raw branch values into the network's inputs, exactly as training encoded
 * them: value column c becomes (x - shift[c]) * scale[c], 0 where that is not finite (a missing
 * slot is NaN in the raw input); then, when `maskColumns`, one 0/1 column per jagged slot (the last
 * `maskColumns` value columns): 1 where the slot holds a value.
 */
export interface GraphEncoding {
  shift: ArrayLike<number>;
  scale: ArrayLike<number>;
  maskColumns: number;
}

export class OnnxExportError extends Error {}

interface Builder {
  nodes: O.INodeProto[];
  inits: O.ITensorProto[];
  n: number;
}

function tensor(b: Builder, name: string, dims: number[], values: ArrayLike<number>): string {
  const data = Float32Array.from(values);
  b.inits.push({
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(data.buffer),
  });
  return name;
}

function int64s(b: Builder, name: string, values: number[]): string {
  b.inits.push({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values });
  return name;
}

function node(b: Builder, op: string, inputs: string[], attrs: O.IAttributeProto[] = []): string {
  const out = `${op.toLowerCase()}_${b.n++}`;
  b.nodes.push({ opType: op, input: inputs, output: [out], name: out, attribute: attrs });
  return out;
}

const float = (name: string, f: number): O.IAttributeProto => ({
  name,
  f,
  type: onnx.AttributeProto.AttributeType.FLOAT,
});
const int = (name: string, i: number): O.IAttributeProto => ({
  name,
  i,
  type: onnx.AttributeProto.AttributeType.INT,
});

/** One Keras activation as ONNX nodes (tfjs's definitions: gelu with erf, leakyRelu alpha 0.2). */
function activation(b: Builder, x: string, name: string): string {
  switch (name) {
    case 'linear':
      return x;
    case 'relu':
      return node(b, 'Relu', [x]);
    case 'sigmoid':
      return node(b, 'Sigmoid', [x]);
    case 'tanh':
      return node(b, 'Tanh', [x]);
    case 'softmax':
      return node(b, 'Softmax', [x], [int('axis', -1)]);
    case 'elu':
      return node(b, 'Elu', [x], [float('alpha', 1)]);
    case 'selu':
      return node(b, 'Selu', [x]);
    case 'softplus':
      return node(b, 'Softplus', [x]);
    case 'swish':
      return node(b, 'Mul', [x, node(b, 'Sigmoid', [x])]);
    case 'leakyrelu':
      return node(b, 'LeakyRelu', [x], [float('alpha', 0.2)]);
    case 'gelu': {
      const half = tensor(b, `half_${b.n}`, [], [0.5]);
      const one = tensor(b, `one_${b.n}`, [], [1]);
      const root2 = tensor(b, `sqrt2_${b.n}`, [], [Math.SQRT2]);
      const erf = node(b, 'Erf', [node(b, 'Div', [x, root2])]);
      return node(b, 'Mul', [x, node(b, 'Mul', [half, node(b, 'Add', [one, erf])])]);
    }
    default:
      throw new OnnxExportError(`the activation "${name}" has no ONNX export here`);
  }
}

/** The encoding of raw values: Sub, Mul, IsNaN/IsInf → Where(0), and the slot mask. */
function encode(b: Builder, x: string, e: GraphEncoding): string {
  const v = e.shift.length;
  const scaled = node(b, 'Mul', [
    node(b, 'Sub', [x, tensor(b, 'encoding_shift', [v], e.shift)]),
    tensor(b, 'encoding_scale', [v], e.scale),
  ]);
  const notFinite = node(b, 'Or', [node(b, 'IsNaN', [scaled]), node(b, 'IsInf', [scaled])]);
  const encoded = node(b, 'Where', [notFinite, tensor(b, 'missing_value', [], [0]), scaled]);
  if (!e.maskColumns) return encoded;
  const slots = node(b, 'Slice', [
    x,
    int64s(b, 'slots_start', [v - e.maskColumns]),
    int64s(b, 'slots_end', [v]),
    int64s(b, 'slots_axis', [1]),
  ]);
  const mask = node(
    b,
    'Cast',
    [node(b, 'Not', [node(b, 'IsNaN', [slots])])],
    [int('to', onnx.TensorProto.DataType.FLOAT)],
  );
  return node(b, 'Concat', [encoded, mask], [int('axis', 1)]);
}

const weights = (l: tf.layers.Layer) => l.getWeights().map((w) => w.dataSync() as Float32Array);

/**
 * A trained TensorFlow.js model (a chain of Dense, Dropout, BatchNormalization and Activation
 * layers: every model mlaas4hep builds from a declarative spec, and Keras topologies made of those)
 * as an ONNX model (opset 13) whose input `features` [N, columns] takes raw branch values, missing
 * slots NaN, with the encoding inside the graph; its output `probabilities` is the model's.
 * Throws OnnxExportError for a layer it cannot express.
 */
export function exportOnnx(
  model: tf.LayersModel,
  encoding: GraphEncoding,
  meta: { name: string; version: string; description?: string },
): Uint8Array {
  const b: Builder = { nodes: [], inits: [], n: 0 };
  const columns = encoding.shift.length;
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    throw new OnnxExportError('only models with one input and one output are exported');
  let h = encode(b, 'features', encoding);
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as {
      activation?: string;
      epsilon?: number;
      center?: boolean;
      scale?: boolean;
      axis?: number;
    };
    if (cls === 'InputLayer' || cls === 'Dropout') continue;
    if (cls === 'Dense') {
      const [kernel, bias] = weights(layer);
      const [din, dout] = layer.getWeights()[0].shape as number[];
      const w = tensor(b, `${layer.name}_kernel`, [din, dout], kernel);
      const inputs = [h, w];
      if (bias) inputs.push(tensor(b, `${layer.name}_bias`, [dout], bias));
      h = node(b, 'Gemm', inputs);
      h = activation(b, h, String(cfg.activation ?? 'linear').toLowerCase());
    } else if (cls === 'Activation') {
      h = activation(b, h, String(cfg.activation).toLowerCase());
    } else if (cls === 'BatchNormalization') {
      // inference: gamma * (x - mean) / sqrt(var + eps) + beta, folded into one Mul and one Add
      const byName = (n: string) =>
        layer.weights
          .find((w) => w.name.includes(n))
          ?.read()
          .dataSync() as Float32Array | undefined;
      const mean = byName('moving_mean');
      const variance = byName('moving_variance');
      if (!mean || !variance || (cfg.axis !== undefined && cfg.axis !== -1 && cfg.axis !== 1))
        throw new OnnxExportError(`the BatchNormalization layer ${layer.name} cannot be exported`);
      const gamma = byName('gamma') ?? new Float32Array(mean.length).fill(1);
      const beta = byName('beta') ?? new Float32Array(mean.length);
      const eps = cfg.epsilon ?? 1e-3;
      const mul = Float32Array.from(mean, (_, i) => gamma[i] / Math.sqrt(variance[i] + eps));
      const add = Float32Array.from(mean, (m, i) => beta[i] - m * mul[i]);
      h = node(b, 'Add', [
        node(b, 'Mul', [h, tensor(b, `${layer.name}_mul`, [mul.length], mul)]),
        tensor(b, `${layer.name}_add`, [add.length], add),
      ]);
    } else throw new OnnxExportError(`the layer ${layer.name} (${cls}) has no ONNX export here`);
  }
  const outputs = model.outputs[0].shape[1] ?? 1;
  b.nodes.push({ opType: 'Identity', input: [h], output: ['probabilities'], name: 'output' });
  const value = (name: string, width: number): O.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimParam: 'batch' }, { dimValue: width }] },
      },
    },
  });
  const proto = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: EXPORT_OPSET }],
    producerName: 'mlaas4hep',
    modelVersion: 1,
    docString: meta.description ?? '',
    metadataProps: [
      { key: 'name', value: meta.name },
      { key: 'version', value: meta.version },
    ],
    graph: {
      name: meta.name,
      node: b.nodes,
      initializer: b.inits,
      input: [value('features', columns)],
      output: [value('probabilities', outputs)],
    },
  });
  return onnx.ModelProto.encode(proto).finish();
}
