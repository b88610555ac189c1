import type { ObjectStore } from '../storage/object-store.js';

/**
 * Exactly one model version per job, however many attempts it takes. A trainer can die (SIGKILL,
 * OOM, the store failing) after writing a bundle and before recording the job as succeeded; the
 * next attempt must adopt that bundle, not train and publish a second one. So an attempt records
 * the version it is about to publish in the job record (`publishing`) before the bundle's first
 * file, and the next attempt looks there first.
 */
export interface Publication {
  name: string;
  version: string;
}

/** writeBundle's first write of a new version: the point to record which version this job publishes */
const FIRST_FILE = /^models\/([^/]+)\/([^/]+)\/params\.json$/;

/**
 * The model store as one attempt of a job writes to it: `claim` runs (and must succeed) before the
 * first file of a new version is written.
 */
export function publishingStore(store: ObjectStore, claim: (p: Publication) => Promise<void>): ObjectStore {
  return {
    name: store.name,
    get: (key) => store.get(key),
    delete: (key) => store.delete(key),
    list: (prefix) => store.list(prefix),
    ...(store.stamp ? { stamp: (key: string) => store.stamp!(key) } : {}),
    async put(key, body, options) {
      const m = FIRST_FILE.exec(key);
      if (m) await claim({ name: m[1], version: m[2] });
      return store.put(key, body, options);
    },
  };
}

export interface Adopted extends Publication {
  metrics: Record<string, unknown>;
}

/**
 * Settles what an earlier attempt recorded as publishing. A complete bundle (COMPLETE written) is
 * adopted: `latest` is moved to it if the attempt died before doing so, and its metrics returned.
 * An incomplete one is removed, so that no half-written version lingers next to the one this
 * attempt will publish; then undefined.
 */
export async function settlePublication(store: ObjectStore, p: Publication): Promise<Adopted | undefined> {
  const base = `models/${p.name}/${p.version}`;
  if (!(await store.get(`${base}/COMPLETE`))) {
    for (const o of await store.list(`${base}/`)) await store.delete(o.key);
    return undefined;
  }
  const latest = await store.get(`models/${p.name}/latest`);
  // versions sort by time: never move `latest` back past a newer version of another job
  if (!latest || new TextDecoder().decode(latest.body).trim() < p.version) {
    await store.put(`models/${p.name}/latest`, p.version, { contentType: 'text/plain' });
  }
  const params = await store.get(`${base}/params.json`);
  const m = params
    ? (
        JSON.parse(new TextDecoder().decode(params.body)) as {
          metrics?: { test?: Record<string, unknown>; history?: unknown };
        }
      ).metrics
    : undefined;
  const test = m?.test ?? {};
  return {
    ...p,
    metrics: { auc: test.auc, accuracy: test.accuracy, testEvents: test.testEvents, history: m?.history },
  };
}
