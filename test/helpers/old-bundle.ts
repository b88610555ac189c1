import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache } from '../../lib/serving/model-cache.js';
import { predictJson } from '../../lib/serving/predict.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { initBackend } from '../../lib/training/backend.js';

/** A bundle written before the encoding changed (test/fixtures/bundles/README.md), with what it served. */
const FIXTURE = join(import.meta.dirname, '../fixtures/bundles');

interface Expected {
  keys: string[];
  records: Array<Array<number | number[]>>;
  onnxruntime: number[];
  tfjs: number[];
}

/**
 * The old bundle served by one engine. The engine is read from MLAAS4HEP_ENGINE once per process
 * (lib/config.ts), so each engine has its own test file, which sets it before any use.
 */
export function describeOldBundle(engine: 'onnxruntime' | 'tfjs'): void {
  let dir: string;
  let expected: Expected;
  beforeAll(async () => {
    process.env.MLAAS4HEP_ENGINE = engine;
    await initBackend();
    dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-old-bundle-'));
    await cp(join(FIXTURE, 'old-minmax'), dir, { recursive: true });
    expected = JSON.parse(await readFile(join(FIXTURE, 'old-minmax.expected.json'), 'utf8')) as Expected;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('a bundle written with the min-max encoding (before issue 11)', () => {
    it(`predicts exactly the scores it served then, from raw branch values, on ${engine}`, async () => {
      const cache = new ModelCache(new LocalObjectStore(dir));
      const used = await cache.use('old-minmax', undefined, (m) => m.choice.engine);
      expect(used).toBe(engine);
      const scores = await predictJson(cache, {
        model: 'old-minmax',
        keys: expected.keys,
        values: expected.records,
      });
      expect(scores).toEqual(expected[engine]);
    });
  });
}
