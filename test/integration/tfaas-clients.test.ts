import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../lib/service/stack.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { hasShared, SHARED } from '../helpers/reference.js';

const { onnx } = onnxProto;
const MODEL = join(SHARED, 'onnx', 'synth_mlp_binary.onnx');
let dir: string;
let stack: Stack;
let token: string;
let reference: { inputs: { features: Array<Array<number | null>> }; outputs: { score: number[][] } };

/** curl as TFaaS's documentation calls it, with a bearer token; returns status and body. */
/** Runs curl with the arguments of a documented command line (single quotes group words), plus a token. */
async function curl(command: string): Promise<{ status: number; body: string; json: unknown }> {
  const args = [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
  const { stdout } = await promisify(execFile)(
    'curl',
    ['-s', '-w', '\n%{http_code}', '-H', `Authorization: Bearer ${token}`, ...args],
    { cwd: dir, maxBuffer: 16 * 2 ** 20 },
  );
  const at = stdout.lastIndexOf('\n');
  const body = stdout.slice(0, at);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {}
  return { status: Number(stdout.slice(at + 1)), body, json };
}

const row = (i: number) => reference.inputs.features[i];

beforeAll(async () => {
  if (!hasShared) return;
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-tfaas-'));
  stack = await startStack({ store: new LocalObjectStore(join(dir, 'store')), rateLimits: {} });
  token = stack.token!('admin', ['predict', 'admin']);
  reference = JSON.parse(await readFile(join(SHARED, 'onnx', 'synth_mlp_binary.json'), 'utf8')).reference;
  await copyFile(MODEL, join(dir, 'model.onnx'));
  await writeFile(join(dir, 'labels.txt'), 'background\nsignal\n');
  // doc/curl_client.md's params.json, for an ONNX graph instead of tf_model.pb
  await writeFile(
    join(dir, 'params.json'),
    JSON.stringify({
      name: 'ImageModel',
      model: 'model.onnx',
      labels: 'labels.txt',
      inputNode: 'features',
      outputNode: 'score',
    }),
  );
  await writeFile(join(dir, 'tf_model.pb'), 'not really a graph');
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasShared)("TFaaS's documented curl calls against mlaas4hep serve (with a token)", () => {
  it('uploads with the form, lists with TFParams, predicts by position, deletes with a form field', async () => {
    const url = stack.url;
    const up = await curl(
      `-X POST ${url}/upload -F name=ImageModel -F params=@params.json -F model=@model.onnx -F labels=@labels.txt`,
    );
    expect(up.status, up.body).toBe(201);

    const models = await curl(`${url}/models`);
    const entry = (models.json as Array<Record<string, unknown>>).find((m) => m.name === 'ImageModel')!;
    for (const k of ['name', 'model', 'labels', 'op', 'input_name', 'output_name', 'img_channels', 'options'])
      expect(entry, k).toHaveProperty(k);
    expect(entry).toMatchObject({ model: 'model.onnx', input_node: 'features', output_node: 'score' });
    expect(JSON.stringify(entry).length).toBeLessThan(2000);

    // input.json as TFaaS documents it: keys that name no input are ignored, values read by position
    await writeFile(
      join(dir, 'input.json'),
      JSON.stringify({ keys: row(0).map((_, i) => `attr${i}`), values: row(0), name: 'ImageModel' }),
    );
    const p = await curl(`-X POST -H 'Content-type: application/json' -d@input.json ${url}/json`);
    expect(p.status, p.body).toBe(200);
    expect(Math.abs((p.json as number[])[0] - reference.outputs.score[0][0])).toBeLessThanOrEqual(1e-5);

    await writeFile(
      join(dir, 'short.json'),
      JSON.stringify({ values: row(0).slice(1), model: 'ImageModel' }),
    );
    const short = await curl(`-X POST -d@short.json ${url}/json`);
    expect(short.status).toBe(422);
    expect((short.json as { message: string }).message).toMatch(
      /row 0 has 42 values but the model takes 43 features/,
    );

    const del = await curl(`-X DELETE ${url}/delete -F model=ImageModel`);
    expect(del.status, del.body).toBe(200);
    expect((await curl(`-X POST -d@input.json ${url}/json`)).status).toBe(404);
  });

  it("uploads a bundle as TFaaS's client does: gzip tar of one folder, named after it", async () => {
    const folder = join(dir, 'bundle', 'model');
    await mkdir(folder, { recursive: true });
    for (const f of ['model.onnx', 'labels.txt']) await copyFile(join(dir, f), join(folder, f));
    await writeFile(
      join(folder, 'params.json'),
      JSON.stringify({ model: 'model.onnx', labels: 'labels.txt' }),
    );
    await promisify(execFile)('tar', ['cfz', join(dir, 'model.tar.gz'), 'model'], {
      cwd: join(dir, 'bundle'),
    });
    const up = await curl(
      `-X POST -H 'Content-Encoding: gzip' -H 'content-type: application/octet-stream' --data-binary @model.tar.gz ${stack.url}/upload`,
    );
    expect(up.status, up.body).toBe(201);
    expect((up.json as { name: string }).name).toBe('model');
    // empty keys, as no keys: values by position (two rows here)
    await writeFile(
      join(dir, 'input2.json'),
      JSON.stringify({ keys: [], values: [row(1), row(2)], model: 'model' }),
    );
    const q = await curl(`-X POST -H 'Content-type: application/json' -d@input2.json ${stack.url}/json`);
    expect(q.status, q.body).toBe(200);
    for (const [i, s] of (q.json as number[]).entries())
      expect(Math.abs(s - reference.outputs.score[i + 1][0])).toBeLessThanOrEqual(1e-5);
  });

  it("takes the Python client's base64-encoded model part (Content-Encoding: base64)", async () => {
    await writeFile(join(dir, 'model.b64'), `${(await readFile(MODEL)).toString('base64')}\n`);
    await writeFile(join(dir, 'params64.json'), JSON.stringify({ name: 'b64model', model: 'model.onnx' }));
    const up = await curl(
      `-X POST -H 'Content-Encoding: base64' -F name=b64model -F params=@params64.json;type=application/json -F model=@model.b64;filename=model.onnx;type=application/octet-stream ${stack.url}/upload`,
    );
    expect(up.status, up.body).toBe(201);
  });

  it('a TensorFlow graph (.pb) is a 422 that says how to convert it to ONNX', async () => {
    await writeFile(join(dir, 'pbparams.json'), JSON.stringify({ name: 'PbModel', model: 'tf_model.pb' }));
    const up = await curl(
      `-X POST ${stack.url}/upload -F name=PbModel -F params=@pbparams.json -F model=@tf_model.pb`,
    );
    expect(up.status).toBe(422);
    expect((up.json as { message: string }).message).toMatch(/tf2onnx/);
  });
});

describe.skipIf(!hasShared)('bad ONNX uploads: a 4xx naming the problem, the registry untouched', () => {
  const variant = (edit: (m: ReturnType<typeof onnx.ModelProto.decode>) => void): Uint8Array => {
    const m = onnx.ModelProto.decode(new Uint8Array(readFileSync(MODEL)));
    edit(m);
    return onnx.ModelProto.encode(m).finish();
  };
  const mapping = (name = 'features') => ({
    inputs: [{ name, columns: [...Array.from({ length: 43 }, (_, i) => `c${i}`)] }],
  });

  it.each([
    [
      'a corrupt file',
      () => new Uint8Array(Buffer.from('garbage garbage garbage')),
      mapping(),
      /not an ONNX model/,
    ],
    [
      'a truncated file',
      () => new Uint8Array(readFileSync(MODEL)).subarray(0, 20_000),
      mapping(),
      /model\.onnx/,
    ],
    [
      'input names that differ from the mapping',
      () => variant(() => {}),
      mapping('x'),
      /no input "x".*"features"/,
    ],
    [
      'a weight declaring 2 GB',
      () =>
        variant((m) => {
          m.graph!.initializer![2].dims = [536_870_912, 1];
        }),
      mapping(),
      /declares the tensor "net\.0\.weight".*2147483648 bytes/,
    ],
    [
      'an input declaring 2 GB per row',
      () =>
        variant((m) => {
          m.graph!.input![0].type!.tensorType!.shape!.dim![1].dimValue = 536_870_912;
        }),
      mapping(),
      /declares the value "features" with 2147483648 bytes per row/,
    ],
    [
      'an opset ONNX Runtime lacks',
      () =>
        variant((m) => {
          m.opsetImport![0].version = 30;
        }),
      mapping(),
      /opset 30.*up to 26/,
    ],
  ])('%s', async (_what, bytes, onnxSection, message) => {
    const before = await (
      await fetch(`${stack.url}/models`, { headers: { authorization: `Bearer ${token}` } })
    ).text();
    await writeFile(join(dir, 'bad.onnx'), bytes());
    await writeFile(
      join(dir, 'badparams.json'),
      JSON.stringify({ name: 'bad', model: 'bad.onnx', onnx: onnxSection }),
    );
    const up = await curl(
      `-X POST ${stack.url}/upload -F name=bad -F params=@badparams.json -F model=@bad.onnx`,
    );
    expect(up.status, up.body).toBeGreaterThanOrEqual(400);
    expect(up.status, up.body).toBeLessThan(500);
    expect((up.json as { message: string }).message).toMatch(message);
    const after = await (
      await fetch(`${stack.url}/models`, { headers: { authorization: `Bearer ${token}` } })
    ).text();
    expect(after).toBe(before);
  });
});
