import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predict } from '../../bin/commands/predict.js';
import { openRoot } from '../../lib/root/file.js';
import { readColumns } from '../../lib/root/iterate.js';
import { type Stack, startStack } from '../../lib/service/stack.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { auc } from '../../lib/training/metrics.js';
import { hasShared, SHARED, SYNTH_DIR } from '../helpers/reference.js';

const ONNX_DIR = join(SHARED, 'onnx');
const FLAT = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'nJet'];
const FEATURES = {
  name: 'features',
  columns: [...FLAT, { branch: 'Jet_eta', max: 17 }, { branch: 'Jet_pt', max: 17 }],
};

/** params.json of each of ../shared/data/onnx's models: how the synth branches fill its inputs. */
const MODELS: Record<string, { classes: Array<string | number>; inputs: unknown[] }> = {
  synth_mlp_binary: { classes: [0, 1], inputs: [FEATURES] },
  synth_mlp_3class: { classes: ['a', 'b', 'c'], inputs: [FEATURES] },
  synth_deepsets_two_inputs: {
    classes: [0, 1],
    inputs: [
      { name: 'event', columns: FLAT },
      { name: 'jets', objects: { branches: ['Jet_eta', 'Jet_pt'], max: 17 } },
    ],
  },
};

interface Reference {
  inputs: string[];
  outputs: string[];
  reference: { inputs: Record<string, unknown[]>; outputs: Record<string, number[][]> };
}

let dir: string;
let stack: Stack;
let token: string;
const refs: Record<string, Reference> = {};

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...headers },
    body: body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** Every element of got within 1e-5 of want (the tolerance against PyTorch's outputs). */
function expectClose(got: number[], want: number[]): void {
  expect(got.length).toBe(want.length);
  const worst = Math.max(...got.map((g, i) => Math.abs(g - want[i])));
  expect(worst).toBeLessThanOrEqual(1e-5);
}

/** A reference row's raw branch values: numbers for flat branches, the non-missing slots for jets. */
function rawRecord(features: Array<number | null>): Array<number | number[]> {
  const eta = features.slice(9, 26).filter((v): v is number => v !== null);
  const pt = features.slice(26, 43).filter((v): v is number => v !== null);
  return [...(features.slice(0, 9) as number[]), eta, pt];
}

beforeAll(async () => {
  if (!hasShared) return;
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-onnx-'));
  stack = await startStack({ store: new LocalObjectStore(join(dir, 'store')), rateLimits: {} });
  token = stack.token!('physicist', ['predict', 'admin']);
  for (const [name, m] of Object.entries(MODELS)) {
    refs[name] = JSON.parse(await readFile(join(ONNX_DIR, `${name}.json`), 'utf8'));
    // TFaaS's bundle: a tar.gz of one folder named after the model, uploaded without a name
    const folder = join(dir, 'bundles', name);
    await mkdir(folder, { recursive: true });
    await copyFile(join(ONNX_DIR, `${name}.onnx`), join(folder, 'model.onnx'));
    await writeFile(
      join(folder, 'params.json'),
      JSON.stringify({ classes: m.classes, onnx: { inputs: m.inputs, tree: 'Events' } }),
    );
    await promisify(execFile)('tar', ['czf', join(dir, `${name}.tar.gz`), '-C', join(dir, 'bundles'), name]);
    const up = await call('POST', '/upload', await readFile(join(dir, `${name}.tar.gz`)), {
      'content-type': 'application/octet-stream',
      'content-encoding': 'gzip',
    });
    expect(up.status, JSON.stringify(up.json)).toBe(201);
    expect(up.json.name).toBe(name);
  }
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasShared)("PyTorch's ONNX models of ../shared/data/onnx, served", () => {
  it.each(Object.keys(MODELS))('%s: /json by position reproduces the reference outputs', async (name) => {
    const r = refs[name].reference;
    const rows = (
      name.includes('deepsets')
        ? (r.inputs.event as number[][]).map((e, i) => [
            ...e,
            ...(r.inputs.jets[i] as Array<Array<number | null>>).flat(),
          ])
        : r.inputs.features
    ) as unknown[];
    const res = await call('POST', '/json', { name, values: rows });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const want = Object.values(r.outputs)[0];
    expectClose((res.json as number[] | number[][]).flat(), want.flat());
  });

  it('answers one row of a 3-class model with one flat list, as TFaaS does', async () => {
    const r = refs.synth_mlp_3class.reference;
    const res = await call('POST', '/json', { model: 'synth_mlp_3class', values: r.inputs.features[0] });
    expectClose(res.json, r.outputs.probabilities[0]);
  });

  it('/json by raw branch name: jets as lists, missing slots left out', async () => {
    for (const name of ['synth_mlp_binary', 'synth_deepsets_two_inputs']) {
      const r = refs[name].reference;
      const features = name.includes('deepsets')
        ? (r.inputs.event as number[][]).map((e, i) => [
            ...e,
            ...(r.inputs.jets[i] as Array<Array<number | null>>).map((j) => j[0]),
            ...(r.inputs.jets[i] as Array<Array<number | null>>).map((j) => j[1]),
          ])
        : (r.inputs.features as Array<Array<number | null>>);
      const keys = [...FLAT, 'Jet_eta', 'Jet_pt'];
      const res = await call('POST', '/json', { model: name, keys, values: features.map(rawRecord) });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expectClose(res.json, Object.values(r.outputs)[0].flat());
    }
  });

  it.each(Object.keys(MODELS))(
    '%s: Open Inference Protocol v2 metadata from the graph, and inference',
    async (name) => {
      const ref = refs[name];
      const meta = await call('GET', `/v2/models/${name}`);
      expect(meta.json.platform).toBe('onnxruntime_onnx');
      expect(meta.json.inputs.map((i: { name: string }) => i.name)).toEqual(ref.inputs);
      expect(meta.json.outputs[0].name).toBe(ref.outputs[0]);
      for (const i of meta.json.inputs) expect(i.shape[0]).toBe(-1);
      const inputs = meta.json.inputs.map((t: { name: string; shape: number[] }) => {
        const data = ref.reference.inputs[t.name];
        return { name: t.name, datatype: 'FP32', shape: [data.length, ...t.shape.slice(1)], data };
      });
      const res = await call('POST', `/v2/models/${name}/infer`, { inputs });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json.outputs[0].name).toBe(ref.outputs[0]);
      expectClose(res.json.outputs[0].data, Object.values(ref.reference.outputs)[0].flat());
    },
  );

  it.each(Object.keys(MODELS))(
    '%s: mlaas4hep predict on the synth ROOT files reproduces the reference rows',
    async (name) => {
      const { json: described } = await call('GET', `/models/${name}`);
      const bundle = join(dir, 'store', 'models', name, described.latest);
      const score = async (file: string) => {
        let csv = '';
        const sink = new Writable({
          write(c: Buffer, _e, done) {
            csv += c.toString();
            done();
          },
        });
        await predict(['--model', bundle, join(SYNTH_DIR, file)], sink, () => undefined);
        return csv.trim().split('\n');
      };
      const lines = await score('signal.root');
      const k = lines[0].split(',').length - 1;
      const scores = lines.slice(1).map((l) => l.split(',').slice(1).map(Number));
      expect(scores.length).toBe(250_000);
      // the reference rows are events of signal.root: found by their f0
      const f = await openRoot(join(SYNTH_DIR, 'signal.root'));
      const { columns } = await readColumns(await f.tree('Events'), { branches: ['f0'], entryStop: 5000 });
      await f.close();
      const f0 = columns.f0.values as Float32Array;
      const ref = refs[name].reference;
      const rows = (ref.inputs.features ?? ref.inputs.event) as number[][];
      const want = Object.values(ref.outputs)[0];
      let matched = 0;
      rows.forEach((row, i) => {
        const entry = f0.indexOf(Math.fround(row[0]));
        if (entry < 0) return;
        matched++;
        expectClose(scores[entry], want[i]);
      });
      expect(matched).toBeGreaterThan(10);
      expect(k).toBe(want[0].length);
      if (name === 'synth_mlp_binary') {
        const bg = (await score('background.root')).slice(1).map((l) => Number(l.split(',')[1]));
        const s = Float32Array.from([...scores.map((x) => x[0]), ...bg]);
        const y = Float32Array.from(s, (_, i) => (i < scores.length ? 1 : 0));
        const a = auc(s, y);
        console.log(`synth_mlp_binary on ../shared/data/synth (500,000 events): AUC ${a.toFixed(4)}`);
        expect(a).toBeGreaterThan(0.8);
      }
    },
    120_000,
  );
});
