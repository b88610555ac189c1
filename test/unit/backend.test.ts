import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReadiness } from '../../lib/serving/readiness.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { backendStatus, initBackend } from '../../lib/training/backend.js';

// this file's process is configured with a backend it cannot start (tfjs-node is not installed
// here): read by lib/config on first use, as a deployment's MLAAS4HEP_TF_BACKEND would be
process.env.MLAAS4HEP_TF_BACKEND = 'tensorflow';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-backend-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a forced TensorFlow.js backend that cannot start', () => {
  it('fails naming the backend, and readiness says the engine is not ready, the reason logged', async () => {
    await expect(initBackend()).rejects.toThrow(/the TensorFlow.js backend "tensorflow" cannot start here: /);
    expect(backendStatus()).toMatchObject({ state: 'failed' });
    const logged: Array<Record<string, unknown>> = [];
    const r = await checkReadiness({ store: new LocalObjectStore(dir), log: (e) => logged.push(e) });
    expect(r).toEqual({
      ready: false,
      checks: {
        engine: { ready: false, reason: 'the inference backend cannot start' },
        store: { ready: true },
      },
    });
    expect(logged).toHaveLength(1);
    expect(String(logged[0].error)).toContain('"tensorflow" cannot start here');
  });

  it('is not remembered: the next start is tried afresh, and once one starts readiness follows', async () => {
    // before, the failed start was kept: every prediction failed for the instance's life
    await expect(initBackend()).rejects.toThrow(/"tensorflow" cannot start/);
    expect(await initBackend('cpu')).toBe('cpu');
    expect(backendStatus()).toEqual({ state: 'ready', backend: 'cpu' });
    // a started backend is kept for the process's life
    expect(await initBackend()).toBe('cpu');
    const r = await checkReadiness({ store: new LocalObjectStore(dir) });
    expect(r.ready).toBe(true);
  });
});
