import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { DevIssuer } from '../../lib/auth/dev-issuer.js';
import { devIssuerEnv } from '../../lib/auth/dev-issuer.js';
import type { BundleParams } from '../../lib/bundles/params.js';
import { type BranchSpec, featureLayout } from '../../lib/dataset/features.js';
import { TriggerStore } from '../../lib/jobs/triggers.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { serializeModel } from '../../lib/training/model-io.js';
import { saveBundle } from './bundles.js';
import type { Packaged } from './packaged.js';
import { SHARED } from './reference.js';
import { tarGz } from './tar.js';

const BRANCHES: Record<string, BranchSpec> = {
  a: { min: 0, max: 10, jagged: false, jdim: 0 },
  b: { min: -1, max: 1, jagged: false, jdim: 0 },
};

export const TFJS_MODEL = 'tfjs-model';
export const TFJS_VERSION = '20260101-000001-abcdef';
export const TRIGGER = 'new-signal';

/** A 2→1 dense model with fixed weights: its scores are known without training. */
function model(): tf.LayersModel {
  const m = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [2], units: 1, activation: 'sigmoid', name: 'out' })],
  });
  m.setWeights([tf.tensor2d([0.7, -1.3], [2, 1]), tf.tensor1d([0.1])]);
  return m;
}

/**
 * What the packaged functions and the benches find in the bucket: a published TensorFlow.js model
 * (features a and b, a plot) and an upload trigger on incoming/signal/.
 */
export async function seedStore(store: ObjectStore, bucket: string): Promise<void> {
  const params: BundleParams = {
    name: TFJS_MODEL,
    model: 'model.json',
    labels: 'labels.txt',
    inputNode: 'input',
    outputNode: 'output',
    description: 'a fixed two-feature model',
    timestamp: '2026-01-01T00:00:01.000Z',
    version: TFJS_VERSION,
    features: ['a', 'b'],
    classes: [0, 1],
    transform: {
      tree: 'Events',
      selection: { read: ['a', 'b'], features: ['a', 'b'] },
      layout: featureLayout(BRANCHES),
      branches: BRANCHES,
    },
    metrics: { test: { auc: 0.9 } },
    workflow: null,
    datasetFingerprint: 'fixture',
    backend: 'cpu',
    versions: {},
  };
  const m = model();
  await saveBundle(store, m, {
    params,
    extras: { 'plots/loss.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>' },
  });
  m.dispose();
  await new TriggerStore(store).put(
    TRIGGER,
    {
      prefix: 'incoming/signal/',
      workflow: {
        files: [`s3://${bucket}/data/background.root`],
        labels: [0],
        params: { branch: 'Events', epochs: 1 },
      },
      label: 1,
    },
    'alice',
  );
}

/** A workflow /submit takes (it reads files of the bucket, which a deployment allows). */
export const workflow = (bucket: string, name = 'packaged-model') => ({
  name,
  files: [`s3://${bucket}/data/signal.root`, `s3://${bucket}/data/background.root`],
  labels: [1, 0],
  params: { branch: 'Events', nevts: 1000, epochs: 1 },
});

/**
 * A function's environment as Lambda would give it here: the template's literal values (such as
 * NODE_OPTIONS) and, for the variables the template declares, the local emulators' settings, plus
 * Lambda's own AWS_* variables.
 */
export function functionEnv(
  p: Packaged,
  fn: string,
  local: { bucket: string; queueUrl: string; s3: string; sqs: string; dev: DevIssuer },
): Record<string, string> {
  const logical = `${fn[0].toUpperCase()}${fn.slice(1)}LambdaFunction`;
  const declared = (
    p.template.Resources[logical].Properties.Environment as { Variables: Record<string, unknown> }
  ).Variables;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(declared)) if (typeof v === 'string' && v) env[k] = v;
  const settings: Record<string, string> = {
    MLAAS4HEP_BUCKET: local.bucket,
    MLAAS4HEP_QUEUE_URL: local.queueUrl,
    // the names of earlier versions, set only where the template still declares them
    MLAAS4HEP_S3_ENDPOINT: local.s3,
    MLAAS4HEP_SQS_ENDPOINT: local.sqs,
    MLAAS4HEP_ALLOWED_SOURCES: `s3://${local.bucket}/`,
    ...devIssuerEnv(local.dev),
  };
  for (const [k, v] of Object.entries(settings)) if (k in declared) env[k] = v;
  return {
    ...env,
    AWS_ENDPOINT_URL_S3: local.s3,
    AWS_ENDPOINT_URL_SQS: local.sqs,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
  };
}

/** The handler a function's template names, e.g. functions/submit.handler. */
export function handlerOf(p: Packaged, fn: string): string {
  const logical = `${fn[0].toUpperCase()}${fn.slice(1)}LambdaFunction`;
  return p.template.Resources[logical].Properties.Handler as string;
}

/** A TFaaS-style upload: a tar.gz of a TensorFlow.js model under a folder that names it. */
export async function tfjsBundleTarGz(folder: string): Promise<Uint8Array> {
  const m = model();
  const { modelJson, weights } = await serializeModel(m);
  m.dispose();
  return tarGz(
    [
      ['model.json', modelJson],
      ['weights.bin', weights],
      ['params.json', JSON.stringify({ features: ['a', 'b'], classes: [0, 1] })],
      ['labels.txt', 'background\nsignal\n'],
    ].map(([name, data]) => ({ name: `${folder}/${name as string}`, data })),
  );
}

/** The TFaaS upload form for the shared ONNX model (multipart, as curl -F sends it). */
export function onnxForm(name: string): { raw: Uint8Array; type: string } {
  const boundary = 'packaged-boundary';
  const params = {
    name,
    classes: [0, 1],
    onnx: {
      inputs: [
        {
          name: 'features',
          columns: [
            ...['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'nJet'],
            { branch: 'Jet_eta', max: 17 },
            { branch: 'Jet_pt', max: 17 },
          ],
        },
      ],
    },
  };
  const part = (field: string, filename: string, data: Uint8Array) =>
    Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      data,
      Buffer.from('\r\n'),
    ]);
  const raw = Buffer.concat([
    part('params', 'params.json', Buffer.from(JSON.stringify(params))),
    part('model', 'model.onnx', readFileSync(join(SHARED, 'onnx', 'synth_mlp_binary.onnx'))),
    Buffer.from(`--${boundary}--\r\n`),
  ]);
  return { raw, type: `multipart/form-data; boundary=${boundary}` };
}
