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

let dir: string;
let expected: Expected;
const engine = process.env.MLAAS4HEP_ENGINE;

beforeAll(async () => {
  await initBackend();
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-old-bundle-'));
  await cp(join(FIXTURE, 'old-minmax'), dir, { recursive: true });
  expected = JSON.parse(await readFile(join(FIXTURE, 'old-minmax.expected.json'), 'utf8')) as Expected;
});
afterAll(async () => {
  if (engine === undefined) delete process.env.MLAAS4HEP_ENGINE;
  else process.env.MLAAS4HEP_ENGINE = engine;
  await rm(dir, { recursive: true, force: true });
});

describe('a bundle written with the min-max encoding (before issue 11)', () => {
  for (const name of ['onnxruntime', 'tfjs'] as const) {
    it(`predicts exactly the scores it served then, from raw branch values, on ${name}`, async () => {
      process.env.MLAAS4HEP_ENGINE = name;
      const cache = new ModelCache(new LocalObjectStore(dir));
      const scores = await predictJson(cache, {
        model: 'old-minmax',
        keys: expected.keys,
        values: expected.records,
      });
      expect(scores).toEqual(expected[name]);
    });
  }
});
