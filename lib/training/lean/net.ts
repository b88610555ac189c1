import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../model-schema.js';

/**
 * The training step of a declarative model (dense, dropout and activation layers) without the
 * layers API: every parameter in one flat variable, the loss on logits, one tf.variableGrads and
 * one optimizer update per batch. Layers' fit() costs a callback round, a tensor per weight and a
 * metrics pass per batch, which for the networks physicists train here weighs as much as the maths.
 * The parameters are the LayersModel's own (same order, same seeded initial values), copied back
 * into it when training ends, so saving, serving and ONNX export are unchanged.
 */
export type LeanLayer =
  | { type: 'dense'; units: number; activation?: string }
  | { type: 'dropout'; rate: number }
  | { type: 'activation'; activation: string };

const ACTIVATIONS: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  elu: (x) => tf.elu(x),
  selu: (x) => tf.selu(x),
  tanh: (x) => tf.tanh(x),
  sigmoid: (x) => tf.sigmoid(x),
  softplus: (x) => tf.softplus(x),
  swish: (x) => tf.mul(x, tf.sigmoid(x)),
};

type Dense = (x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor2D;

/**
 * x·kernel + bias (then relu when asked), with its gradient written with explicit transposes.
 * tfjs-wasm runs a matMul through XNNPACK only when neither operand is transposed; the gradient
 * tfjs derives for matMul transposes one, which sends it to a scalar loop 5-7 times slower (at batch
 * 512 those loops were most of a training step). The maths is the same.
 */
function makeDense(relu: boolean, inputGradient: boolean): Dense {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, kernel, bias] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
    const save = args[3] as tf.GradSaveFunc;
    const out = tf.fused.matMul({ a: x, b: kernel, bias, activation: relu ? 'relu' : 'linear' });
    save([x, kernel, out]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sk, so] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        // relu's derivative from its output: 1 where it passed the input, 0 where it cut it
        const dz = (relu ? tf.mul(dy, tf.step(so)) : dy) as tf.Tensor2D;
        // one transpose of dz serves both: the bias gradient sums its rows (a sum over axis 0 would
        // transpose anyway), the kernel's is (dzᵀ·x)ᵀ, whose transpose is only kernel-sized
        const dzT = tf.transpose(dz);
        return [
          inputGradient ? tf.matMul(dz, tf.transpose(sk)) : tf.zerosLike(sx),
          tf.transpose(tf.matMul(dzT, sx)),
          tf.sum(dzT, 1),
        ];
      },
    };
  });
  return f as unknown as Dense;
}

const DENSE = new Map<string, Dense>();
function dense(relu: boolean, inputGradient: boolean): Dense {
  const key = `${relu}${inputGradient}`;
  const known = DENSE.get(key);
  if (known) return known;
  const made = makeDense(relu, inputGradient);
  DENSE.set(key, made);
  return made;
}

/**
 * What dropout multiplies a batch's activations by: each unit kept with probability 1 - rate and
 * scaled by 1 / (1 - rate), as tf.dropout does, reproducible from the seed. tf.dropout draws with
 * tfjs-core's JavaScript randomUniform and then runs four tensor ops on the draws, a fifth of a
 * training step on the wasm backend; here each 32-bit draw of mulberry32 (the generator of
 * ../../dataset/random.ts, inlined) decides two units by its 16-bit halves, so the rate is honoured
 * to 1/65536.
 */
export function dropoutMask(shape: [number, number], rate: number, seed: number): tf.Tensor2D {
  const scale = 1 / (1 - rate);
  const threshold = Math.round((1 - rate) * 65536);
  const mask = new Float32Array(shape[0] * shape[1]);
  let a = seed >>> 0;
  for (let i = 0; i < mask.length; i += 2) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    t = (t ^ (t >>> 14)) >>> 0;
    mask[i] = (t & 0xffff) < threshold ? scale : 0;
    if (i + 1 < mask.length) mask[i + 1] = t >>> 16 < threshold ? scale : 0;
  }
  return tf.tensor2d(mask, shape);
}

/** What a worker needs to rebuild the network: layers, shapes, optimizer, loss. */
export interface LeanNetSpec {
  layers: LeanLayer[];
  inputs: number;
  /** 1 (sigmoid, binary cross-entropy) or k classes (softmax, categorical cross-entropy) */
  outputs: number;
  optimizer: ModelSpec['optimizer'];
  learningRate: number;
}

/** The lean form of a model spec, or undefined when the spec needs the layers API (batch norm, other losses). */
export function leanSpecOf(spec: ModelSpec, inputs: number, classes: number): LeanNetSpec | undefined {
  const outputs = classes > 2 ? classes : 1;
  const wanted = outputs === 1 ? 'binaryCrossentropy' : 'categoricalCrossentropy';
  if (spec.loss !== undefined && spec.loss !== wanted) return undefined;
  const layers: LeanLayer[] = [];
  for (const l of spec.layers) {
    if (l.type === 'batchNormalization') return undefined;
    if (l.type === 'dense' || l.type === 'activation') {
      if (!ACTIVATIONS[l.activation ?? 'linear']) return undefined;
    }
    layers.push(l as LeanLayer);
  }
  return { layers, inputs, outputs, optimizer: spec.optimizer, learningRate: spec.learningRate };
}

/** Shapes of the parameters in the LayersModel's order: kernel [in, units], bias [units] per dense layer. */
export function parameterShapes(s: LeanNetSpec): number[][] {
  const shapes: number[][] = [];
  let width = s.inputs;
  for (const l of s.layers)
    if (l.type === 'dense') {
      shapes.push([width, l.units], [l.units]);
      width = l.units;
    }
  shapes.push([width, s.outputs], [s.outputs]);
  return shapes;
}

export function parameterCount(s: LeanNetSpec): number {
  return parameterShapes(s).reduce((sum, sh) => sum + sh.reduce((a, b) => a * b, 1), 0);
}

function optimizer(s: LeanNetSpec): tf.Optimizer {
  switch (s.optimizer) {
    case 'sgd':
      return tf.train.sgd(s.learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(s.learningRate);
    case 'adagrad':
      return tf.train.adagrad(s.learningRate);
    default:
      return tf.train.adam(s.learningRate);
  }
}

/**
 * The network's parameters and optimizer. The optimizer updates one flat variable (a dozen ops per
 * step; one variable per kernel and bias was six dozen, a seventh of a step), and the layers read
 * per-step tensors made from a JavaScript copy of it: slicing the flat variable on tfjs-wasm copies
 * the whole vector back into JavaScript per slice, and pads per slice in the backward pass.
 */
export class LeanNet {
  readonly size: number;
  private readonly flat: tf.Variable;
  /** the flat variable's values, read back after each update */
  private host: Float32Array;
  private readonly opt: tf.Optimizer;
  private readonly shapes: number[][];
  private readonly offsets: number[];

  constructor(
    readonly spec: LeanNetSpec,
    initial: Float32Array,
  ) {
    this.shapes = parameterShapes(spec);
    this.offsets = [];
    let at = 0;
    for (const sh of this.shapes) {
      this.offsets.push(at);
      at += sh.reduce((a, b) => a * b, 1);
    }
    this.size = at;
    if (initial.length !== at) throw new Error(`expected ${at} parameters, got ${initial.length}`);
    this.host = initial.slice();
    this.flat = tf.variable(tf.tensor1d(this.host), true);
    this.opt = optimizer(spec);
  }

  set learningRate(lr: number) {
    // tfjs optimizers read this field on every update
    (this.opt as unknown as { learningRate: number }).learningRate = lr;
  }

  /** The parameters as a tensor per kernel and bias. */
  private parts(): tf.Tensor[] {
    return this.shapes.map((sh, i) =>
      tf.tensor(this.host.subarray(this.offsets[i], this.offsets[i] + sh.reduce((a, b) => a * b, 1)), sh),
    );
  }

  /** Logits of a batch; `seed` set means training (dropout on, seeded); `p` the parameters (default: the current ones). */
  logits(x: tf.Tensor2D, seed?: number, p: tf.Tensor[] = this.parts()): tf.Tensor2D {
    let h: tf.Tensor = x;
    let w = 0;
    let d = 0;
    for (const l of this.spec.layers) {
      if (l.type === 'dense') {
        // the first layer's input is data: no gradient wanted for it
        h = dense(l.activation === 'relu', w > 0)(
          h as tf.Tensor2D,
          p[w] as tf.Tensor2D,
          p[w + 1] as tf.Tensor1D,
        );
        w += 2;
        const act = l.activation ?? 'linear';
        if (act !== 'relu' && act !== 'linear') h = ACTIVATIONS[act](h);
      } else if (l.type === 'dropout') {
        if (seed !== undefined && l.rate > 0)
          h = tf.mul(h, dropoutMask(h.shape as [number, number], l.rate, seed * 64 + d));
        d++;
      } else h = ACTIVATIONS[l.activation](h);
    }
    return dense(false, w > 0)(h as tf.Tensor2D, p[w] as tf.Tensor2D, p[w + 1] as tf.Tensor1D);
  }

  private targets(y: Float32Array, n: number): tf.Tensor {
    if (this.spec.outputs === 1) return tf.tensor2d(y, [n, 1]);
    return tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), this.spec.outputs).toFloat());
  }

  /** Mean loss over a batch and its gradient, a tensor per kernel and bias (kept: the caller disposes them). */
  private grads(
    x: Float32Array,
    y: Float32Array,
    n: number,
    seed: number,
  ): { loss: number; grads: tf.Tensor[] } {
    return tf.tidy(() => {
      const xt = tf.tensor2d(x, [n, this.spec.inputs]);
      const yt = this.targets(y, n);
      const f = (...p: tf.Tensor[]): tf.Scalar => {
        const z = this.logits(xt, seed, p);
        return (
          this.spec.outputs === 1
            ? tf.losses.sigmoidCrossEntropy(yt, z)
            : tf.losses.softmaxCrossEntropy(yt, z)
        ) as tf.Scalar;
      };
      const { value, grads } = tf.valueAndGrads(f)(this.parts());
      for (const g of grads) tf.keep(g);
      return { loss: value.dataSync()[0], grads };
    });
  }

  /** Mean loss over a batch of n rows; its gradient is written, flat, into `out`. */
  gradientInto(out: Float32Array, x: Float32Array, y: Float32Array, n: number, seed: number): number {
    const { loss, grads } = this.grads(x, y, n, seed);
    grads.forEach((g, i) => {
      out.set(g.dataSync() as Float32Array, this.offsets[i]);
    });
    tf.dispose(grads);
    return loss;
  }

  private update(grad: tf.Tensor): void {
    this.opt.applyGradients({ [this.flat.name]: grad });
    this.host = this.flat.dataSync() as Float32Array;
  }

  /** One optimizer update with a flat gradient. */
  apply(flat: Float32Array): void {
    const g = tf.tensor1d(flat);
    this.update(g);
    g.dispose();
  }

  /** One step on a batch in this thread: gradient and update. */
  step(x: Float32Array, y: Float32Array, n: number, seed: number): number {
    const { loss, grads } = this.grads(x, y, n, seed);
    const g = tf.tidy(() => tf.concat(grads.map((t) => t.reshape([-1]))));
    tf.dispose(grads);
    this.update(g);
    g.dispose();
    return loss;
  }

  values(): Float32Array {
    return this.host.slice();
  }

  setValues(flat: Float32Array): void {
    this.host = flat.slice();
    tf.tidy(() => this.flat.assign(tf.tensor1d(this.host)));
  }

  dispose(): void {
    this.flat.dispose();
    this.opt.dispose();
  }
}

/** The LayersModel's trainable weights as one flat vector, in its order. */
export function flatWeights(model: tf.LayersModel): Float32Array {
  const parts = model.trainableWeights.map((w) => w.read().dataSync() as Float32Array);
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Writes a flat vector back into the LayersModel's trainable weights. */
export function setFlatWeights(model: tf.LayersModel, flat: Float32Array): void {
  let at = 0;
  for (const w of model.trainableWeights) {
    const n = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    const t = tf.tensor(flat.subarray(at, at + n), w.shape as number[]);
    w.write(t);
    t.dispose();
    at += n;
  }
}
