import * as tf from '@tensorflow/tfjs';

/** A layers model as bundle files: model.json (topology and weights manifest) and weights.bin. */
export interface SerializedModel {
  modelJson: string;
  weights: Uint8Array;
}

/** Serialises a trained model to the bytes of model.json and weights.bin (no file system, no tfjs-node). */
export async function serializeModel(model: tf.LayersModel): Promise<SerializedModel> {
  let modelJson = '';
  let weights = new Uint8Array(0);
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData;
      const buffers = data === undefined ? [] : Array.isArray(data) ? data : [data];
      const total = buffers.reduce((s, b) => s + b.byteLength, 0);
      weights = new Uint8Array(total);
      let at = 0;
      for (const b of buffers) {
        weights.set(new Uint8Array(b), at);
        at += b.byteLength;
      }
      modelJson = JSON.stringify({
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
      });
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return { modelJson, weights };
}

/** The parts of model.json a model is built from. */
export interface ModelJson {
  modelTopology: tf.io.ModelArtifacts['modelTopology'];
  weightsManifest: Array<{ paths?: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/**
 * The topology with every initializer made Zeros: the weights are set from the manifest right
 * after the layers are built, and drawing millions of random initial values first held the event
 * loop for seconds on a wide model.
 */
function withoutInitializers(topology: unknown): unknown {
  if (Array.isArray(topology)) return topology.map(withoutInitializers);
  if (!topology || typeof topology !== 'object') return topology;
  return Object.fromEntries(
    Object.entries(topology).map(([k, v]) => [
      k,
      k.endsWith('_initializer') && v ? { class_name: 'Zeros', config: {} } : withoutInitializers(v),
    ]),
  );
}

/** Builds a model from model.json's topology and manifest and the weights' bytes (every shard, in order). */
export function loadModel(json: ModelJson, weights: Uint8Array): Promise<tf.LayersModel> {
  const weightData = weights.buffer.slice(
    weights.byteOffset,
    weights.byteOffset + weights.byteLength,
  ) as ArrayBuffer;
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: withoutInitializers(json.modelTopology) as ModelJson['modelTopology'],
      weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
      weightData,
    }),
  );
}
