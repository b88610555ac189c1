import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PreconditionFailedError } from '../../lib/errors.js';
import { LocalObjectStore } from '../../lib/storage/local.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-local-store-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Read, change, write back if unchanged meanwhile (If-Match), again until it sticks: JobStore.update's loop. */
async function increment(store: LocalObjectStore, key: string): Promise<void> {
  for (;;) {
    const cur = await store.get(key);
    const n = Number(new TextDecoder().decode(cur!.body));
    try {
      await store.put(key, String(n + 1), { ifMatch: cur!.etag });
      return;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  }
}

describe('the local object store', () => {
  it('loses no conditional write between two stores on one folder (two processes, say serve and its trainer)', async () => {
    // separate instances share no in-process lock: only the folder serialises them
    const a = new LocalObjectStore(dir);
    const b = new LocalObjectStore(dir);
    await a.put('jobs/counter.json', '0');
    await Promise.all(Array.from({ length: 40 }, (_, i) => increment(i % 2 ? a : b, 'jobs/counter.json')));
    expect(new TextDecoder().decode((await a.get('jobs/counter.json'))!.body)).toBe('40');
    // no lock or temporary file left behind, and none listed meanwhile
    expect(await readdir(join(dir, 'jobs'))).toEqual(['counter.json']);
  });

  it('refuses a create over an existing object from another store instance (If-None-Match)', async () => {
    const a = new LocalObjectStore(dir);
    const b = new LocalObjectStore(dir);
    const results = await Promise.allSettled([
      a.put('models/x/OWNER', 'a', { ifNoneMatch: '*' }),
      b.put('models/x/OWNER', 'b', { ifNoneMatch: '*' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});
