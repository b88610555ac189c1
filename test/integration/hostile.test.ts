import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe, underWatch } from '../helpers/serve-process.js';
import { tarGz } from '../helpers/tar.js';

/**
 * Requests that once wedged `serve` for everyone, each sent to a real `serve` process while a
 * watchdog asks its health every 300 ms: a check not answered within 2 s fails the test at once
 * (it does not hang with the server).
 */
let dir: string;
let srv: ServeProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-hostile-'));
  srv = await startServe(['--store', dir, '--no-worker']);
});
afterAll(async () => {
  await srv?.stop();
  await rm(dir, { recursive: true, force: true });
});

const auth = () => ({ authorization: `Bearer ${srv.token}` });
const health = () => `${srv.url}/v2/health/live`;

/** A 4 → units dense model.json whose manifest the test chooses. */
function modelJson(units: number, weights: unknown[]): string {
  return JSON.stringify({
    format: 'layers-model',
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 'seq',
        layers: [
          {
            class_name: 'Dense',
            config: {
              name: 'out',
              units,
              activation: 'sigmoid',
              use_bias: true,
              batch_input_shape: [null, 4],
            },
          },
        ],
      },
    },
    weightsManifest: [{ paths: ['weights.bin'], weights }],
  });
}

function bundle(model: string, weights: Uint8Array): Uint8Array {
  return tarGz([
    { name: 'params.json', data: JSON.stringify({ features: ['a', 'b', 'c', 'd'] }) },
    { name: 'model.json', data: model },
    { name: 'weights.bin', data: weights },
  ]);
}

/** The status, and the message of an error (the body otherwise). */
async function upload(name: string, body: Uint8Array): Promise<{ status: number; text: string }> {
  const res = await fetch(`${srv.url}/upload?name=${name}`, {
    method: 'POST',
    headers: { ...auth(), 'content-type': 'application/gzip' },
    body,
  });
  const text = await res.text();
  return { status: res.status, text: res.status >= 400 ? JSON.parse(text).message : text };
}

describe('uploads that could wedge serve', () => {
  it('refuses a weights manifest declaring a huge shape of strings with 400, health answering throughout', async () => {
    const model = modelJson(1, [{ name: 'out/kernel', shape: [100000, 100000], dtype: 'string' }]);
    const { result, answers } = await underWatch(health(), () =>
      upload('strings', bundle(model, new Uint8Array(20))),
    );
    expect(result.status).toBe(400);
    expect(result.text).toMatch(/dtype "string"; only float32, int32 and bool/);
    expect(answers).toBeGreaterThan(0);
  });

  it('refuses a topology of 5 M units behind a small manifest with 400 before building it', async () => {
    const model = modelJson(5_000_000, [
      { name: 'out/kernel', shape: [4, 1], dtype: 'float32' },
      { name: 'out/bias', shape: [1], dtype: 'float32' },
    ]);
    const { result } = await underWatch(health(), () => upload('wide', bundle(model, new Uint8Array(20))));
    expect(result.status).toBe(400);
    expect(result.text).toMatch(/its layers hold 25000000 weights but its weights manifest lists 5/);
  });

  it('still accepts the same bundle with a float32 manifest matching its weights', async () => {
    const model = modelJson(1, [
      { name: 'out/kernel', shape: [4, 1], dtype: 'float32' },
      { name: 'out/bias', shape: [1], dtype: 'float32' },
    ]);
    const weights = new Uint8Array(new Float32Array([0.1, 0.2, 0.3, 0.4, 0]).buffer);
    const res = await upload('fine', bundle(model, weights));
    expect([res.status, res.text]).toEqual([201, expect.stringContaining('"name":"fine"')]);
  });
});
