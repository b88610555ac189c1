import { BundleStore } from '../bundles/bundle-store.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * Exactly one model version per job, however many attempts it takes. A trainer can die (SIGKILL,
 * OOM, the store failing) after writing a bundle and before recording the job as succeeded; the
 * next attempt must adopt that bundle, not train and publish a second one. So an attempt records
 * the version it is about to publish in the job record (`publishing`) before the bundle's first
 * file (runTrainingJob's `claim`), and the next attempt looks there first.
 */
export interface Publication {
  name: string;
  version: string;
}

export interface Adopted extends Publication {
  metrics: Record<string, unknown>;
}

/**
 * Settles what an earlier attempt recorded as publishing. A complete bundle is adopted: published
 * again (`latest` moves to it unless a newer version is there) and its metrics returned. An
 * incomplete one is removed, so that no half-written version lingers next to the one this attempt
 * will publish; then undefined.
 */
export async function settlePublication(store: ObjectStore, p: Publication): Promise<Adopted | undefined> {
  const bundles = new BundleStore(store);
  if (!(await bundles.isComplete(p.name, p.version))) {
    await bundles.discard(p.name, p.version);
    return undefined;
  }
  await bundles.publish(p.name, p.version);
  const m = (await bundles.params(p.name, p.version))?.metrics as
    | { test?: Record<string, unknown>; history?: unknown }
    | undefined;
  const test = m?.test ?? {};
  return {
    ...p,
    metrics: { auc: test.auc, accuracy: test.accuracy, testEvents: test.testEvents, history: m?.history },
  };
}
