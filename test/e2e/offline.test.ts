import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predict } from '../../bin/commands/predict.js';
import { type LocalStack, startLocalStack } from '../../bin/local-stack.js';
import { generateSynth } from '../../lib/root/writer/synth.js';

let dir: string;
let stack: LocalStack;
let token: string;
const lines: string[] = [];

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
}

async function until(id: string, statuses: string[], seconds = 120): Promise<Record<string, unknown>> {
  for (let i = 0; i < seconds * 4; i++) {
    const job = (await call('GET', `/jobs/${id}`)).json;
    if (statuses.includes(job.status as string)) return job;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `job ${id} did not reach ${statuses.join('/')}; last lines:\n${lines.slice(-20).join('\n')}`,
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-e2e-'));
  stack = await startLocalStack({ dataDir: join(dir, 'stack'), log: (l) => lines.push(l) });
  token = stack.token('alice', ['submit', 'predict', 'admin']);
  const files = await generateSynth({ outDir: join(dir, 'synth'), events: 20_000, seed: 3 });
  await stack.put('data/signal.root', await readFile(files.signal));
  await stack.put('data/background.root', await readFile(files.background));
}, 240_000);

afterAll(async () => {
  await (await import('node:fs/promises')).writeFile('/tmp/e2e-lines.log', lines.join('\n'));
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

const workflow = (name: string) => ({
  name,
  files: ['s3://mlaas4hep-local/data/signal.root', 's3://mlaas4hep-local/data/background.root'],
  labels: [1, 0],
  params: { branch: 'Events', nevts: 10_000, chunk_size: 5_000, epochs: 1 },
});

describe('end to end through serverless-offline, the S3 and SQS emulators and the trainer', () => {
  it('submit → queued → succeeded → listed in /models → /json and /v2 match the CLI', async () => {
    const key = { 'idempotency-key': 'e2e-model-1' };
    const sub = await call('POST', '/submit', workflow('e2e-model'), key);
    expect(sub.status).toBe(202);
    expect(sub.json.status).toBe('queued');
    // a client's retry of the same submission finds its job: not written again, not queued again
    // (the S3 emulator answers the job store's If-None-Match: * with 412, as S3 does)
    const replay = await call('POST', '/submit', workflow('e2e-model'), key);
    expect(replay.status).toBe(202);
    expect(replay.json.job_id).toBe(sub.json.job_id);
    const first = (await call('GET', `/jobs/${sub.json.job_id}`)).json;
    const job = await until(sub.json.job_id as string, ['succeeded', 'failed']);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.created).toBe(first.created);
    // trained once: one receive of one message
    expect(job.attempts).toBe(1);
    const late = await call('POST', '/submit', workflow('e2e-model'), key);
    expect(late.json).toEqual({ job_id: sub.json.job_id, status: 'succeeded' });
    const models = (await call('GET', '/models')).json as unknown as Array<{
      name: string;
      version: string;
      features: string[];
    }>;
    const model = models.find((m) => m.name === 'e2e-model')!;
    expect(model).toBeDefined();

    // the CLI scores the file from the bundle in the emulated bucket
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_S3: stack.s3Endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
    });
    let csv = '';
    const sink = new Writable({
      write(c: Buffer, _e, done) {
        csv += c.toString();
        done();
      },
    });
    await predict(
      [
        '--model',
        `s3://mlaas4hep-local/models/e2e-model/${model.version}`,
        's3://mlaas4hep-local/data/signal.root',
      ],
      sink,
    );
    const cli = csv
      .trim()
      .split('\n')
      .slice(1, 4)
      .map((l) => Number(l.split(',')[1]));

    // the same events, raw values by branch name: the server applies the bundle's normalisation
    const { openRoot } = await import('../../lib/root/index.js');
    const { readColumns } = await import('../../lib/root/iterate.js');
    const f = await openRoot(join(dir, 'synth', 'signal.root'));
    const { columns } = await readColumns(await f.tree('Events'), { entryStop: 3 });
    await f.close();
    const keys = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'nJet', 'Jet_eta', 'Jet_pt'];
    const rows = [0, 1, 2].map((e) =>
      keys.map((k) => {
        const c = columns[k];
        return c.offsets
          ? Array.from(c.values.subarray(c.offsets[e], c.offsets[e + 1]) as Float32Array)
          : Number(c.values[e]);
      }),
    );
    const json = (await call('POST', '/json', { model: 'e2e-model', keys, values: rows }))
      .json as unknown as number[];
    for (let i = 0; i < 3; i++) expect(Math.abs(json[i] - cli[i])).toBeLessThan(1e-5);
    const meta = (await call('GET', '/v2/models/e2e-model')).json as { inputs: Array<{ shape: number[] }> };
    expect(meta.inputs[0].shape).toEqual([-1, model.features.length]);
  }, 240_000);

  it('an upload under incoming/ covered by a trigger rule starts a training job', async () => {
    const rule = await call('PUT', '/triggers/signal-drop', {
      prefix: 'incoming/',
      workflow: {
        ...workflow('triggered-model'),
        files: ['s3://mlaas4hep-local/data/background.root'],
        labels: [0],
      },
      label: 1,
    });
    expect(rule.status).toBe(200);
    const before = ((await call('GET', '/jobs')).json as unknown as unknown[]).length;
    await stack.put('incoming/run42/signal.root', await readFile(join(dir, 'synth', 'signal.root')));
    let jobs: Array<{ job_id: string }> = [];
    for (let i = 0; i < 120 && jobs.length <= before; i++) {
      await new Promise((r) => setTimeout(r, 250));
      jobs = (await call('GET', '/jobs')).json as unknown as Array<{ job_id: string }>;
    }
    expect(
      jobs.length,
      lines.filter((l) => l.includes('on-upload') || l.includes('onUpload')).join('\n'),
    ).toBe(before + 1);
    const job = await until(jobs[0].job_id, ['succeeded', 'failed']);
    expect(job.status).toBe('succeeded');
    expect((job.model as { name: string }).name).toBe('triggered-model');
  }, 240_000);
});
