import type * as tf from '@tensorflow/tfjs';
import { BundleStore } from '../../lib/bundles/bundle-store.js';
import type { BundleParams } from '../../lib/bundles/params.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { serializeModel } from '../../lib/training/model-io.js';

/** Writes and publishes a bundle of `model`, as a training job does; returns its version. */
export async function saveBundle(
  store: ObjectStore,
  model: tf.LayersModel,
  files: { params: BundleParams; extras?: Record<string, string | Uint8Array> },
): Promise<string> {
  const bundles = new BundleStore(store);
  await bundles.write({ ...files, ...(await serializeModel(model)) });
  await bundles.publish(files.params.name, files.params.version);
  return files.params.version;
}
