import * as tf from '@tensorflow/tfjs';

/**
 * Training in standardised coordinates, served in the dataset's own (min-max) ones.
 *
 * Min-max features crowd into a sliver of [0, 1] (an exponential pT spectrum, a long eta tail), so
 * the first layer needs large weights that Adam grows only slowly. We train on (x - mean) / std and,
 * when training ends, fold the affine map into the first Dense layer:
 *   W'[j, :] = W[j, :] / std[j],   b' = b - sum_j mean[j] / std[j] * W[j, :]
 * The model then takes exactly the features the bundle documents; nothing changes for serving.
 */
export interface Standardizer {
  mean: Float32Array;
  /** 1 / std, or 1 where a feature does not vary */
  inv: Float32Array;
}

/** Per-feature mean and spread of rows of `width` features. */
export function fitStandardizer(x: Float32Array, width: number): Standardizer {
  const rows = x.length / width;
  const sum = new Float64Array(width);
  const sq = new Float64Array(width);
  for (let at = 0; at < x.length; at += width) {
    for (let j = 0; j < width; j++) {
      const v = x[at + j];
      sum[j] += v;
      sq[j] += v * v;
    }
  }
  const mean = new Float32Array(width);
  const inv = new Float32Array(width);
  for (let j = 0; j < width; j++) {
    const m = rows ? sum[j] / rows : 0;
    const variance = rows ? Math.max(sq[j] / rows - m * m, 0) : 0;
    const std = Math.sqrt(variance);
    mean[j] = m;
    // a (nearly) constant feature carries nothing to learn from: centre it, do not blow it up
    inv[j] = std > 1e-6 ? 1 / std : 1;
  }
  return { mean, inv };
}

/** A standardised copy of rows. */
export function standardize(s: Standardizer, x: Float32Array): Float32Array {
  const width = s.mean.length;
  const out = new Float32Array(x.length);
  for (let at = 0; at < x.length; at += width) {
    for (let j = 0; j < width; j++) out[at + j] = (x[at + j] - s.mean[j]) * s.inv[j];
  }
  return out;
}

/** The model's first layer when it is a Dense layer fed by the input (with a bias), else undefined. */
export function inputDense(model: tf.LayersModel): tf.layers.Layer | undefined {
  const first = model.layers.find((l) => l.getClassName() !== 'InputLayer');
  if (first?.getClassName() !== 'Dense') return undefined;
  const w = first.getWeights();
  return w.length === 2 && w[0].shape.length === 2 ? first : undefined;
}

/** Folds the standardisation into the first Dense layer, so the model takes unstandardised rows. */
export function foldStandardizer(model: tf.LayersModel, s: Standardizer): void {
  const dense = inputDense(model);
  if (!dense) throw new Error('the model has no input Dense layer to fold the standardisation into');
  const [kernel, bias] = dense.getWeights();
  const folded = tf.tidy(() => {
    const inv = tf.tensor2d(s.inv, [s.inv.length, 1]);
    const w = kernel.mul(inv);
    const shift = tf.tensor2d(s.mean, [1, s.mean.length]).matMul(w).reshape(bias.shape);
    return [w, bias.sub(shift)];
  });
  dense.setWeights(folded);
  tf.dispose(folded);
}
