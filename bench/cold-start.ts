/**
 * Cold start of each packaged Lambda function on the runtime's Node major (22): zip size, the time
 * to import the handler's module, and the time of its first request, against the local S3 and SQS
 * emulators. `serverless package --stage ci` makes the zips (in a folder outside the repository).
 *
 *   npm run bench:cold-start [-- --runs 5] [-- --baseline <folder of an earlier package>]
 *
 * With --baseline (a folder holding the zips and cloudformation-template-update-stack.json of
 * another packaging, e.g. one made on an earlier commit), both are measured in this run and the
 * ratios printed. Each function is started --runs times (a fresh process each: a cold start), the
 * two packagings in turn so that the load of a shared machine falls on both alike; the
 * medians are reported. The last line is JSON.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { createDevIssuer } from '../lib/auth/dev-issuer.js';
import { S3ObjectStore } from '../lib/aws/s3-object-store.js';
import { httpEvent, s3Event } from '../test/helpers/lambda-events.js';
import { startSqs } from '../test/helpers/local-aws.js';
import {
  invokePackaged,
  lambdaNode,
  onnxRuntimeLayer,
  type Packaged,
  packageStack,
  unpackFunction,
} from '../test/helpers/packaged.js';
import {
  functionEnv,
  handlerOf,
  seedStore,
  TFJS_MODEL,
  workflow,
} from '../test/helpers/packaged-fixtures.js';
import { startS3Emulator } from '../test/helpers/s3-emulator.js';

const FUNCTIONS = ['submit', 'jobs', 'models', 'predict', 'onUpload'] as const;
type Fn = (typeof FUNCTIONS)[number];

interface Figures {
  zipBytes: number;
  importMs: number;
  /** CPU time of the import (user + system), less at the mercy of other jobs on the machine */
  importCpuMs: number;
  firstRequestMs: number;
  firstRequestCpuMs: number;
  /** the first request's HTTP status (or the jobs onUpload started) */
  answer: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '3' }, baseline: { type: 'string' } },
  });
  const runs = Number(values.runs);
  const node = await lambdaNode();
  const nodeVersion = (await promisify(execFile)(node, ['--version'])).stdout.trim();
  const current = await packageStack();
  const baseline: Packaged | undefined = values.baseline
    ? {
        dir: values.baseline,
        template: JSON.parse(
          readFileSync(join(values.baseline, 'cloudformation-template-update-stack.json'), 'utf8'),
        ),
        seconds: 0,
      }
    : undefined;
  const layer = await onnxRuntimeLayer();

  const bucket = 'bench';
  const s3 = await startS3Emulator({ buckets: [bucket] });
  const sqs = await startSqs();
  const { url: queueUrl } = await sqs.queue('bench-jobs', 0);
  const dev = createDevIssuer();
  const token = dev.mintToken({ sub: 'alice', scopes: ['submit', 'predict', 'admin'] });
  await seedStore(new S3ObjectStore(s3.client, bucket), bucket);
  const work = await mkdtemp(join(tmpdir(), 'mlaas4hep-cold-start-'));

  // the first request each function answers after its cold start
  const first: Record<Fn, unknown> = {
    submit: httpEvent('POST', '/submit', { token, body: workflow(bucket) }),
    jobs: httpEvent('GET', '/jobs', { token }),
    models: httpEvent('GET', '/models', { token }),
    predict: httpEvent('POST', '/json', { token, body: { model: TFJS_MODEL, values: [[1, 0.5]] } }),
    onUpload: s3Event(bucket, 'incoming/signal/run1.root', 'v1'),
  };

  type Sample = {
    importMs: number[];
    importCpuMs: number[];
    firstMs: number[];
    firstCpuMs: number[];
    answer: string;
  };
  const packages: Array<[string, Packaged]> = baseline
    ? [
        ['baseline', baseline],
        ['current', current],
      ]
    : [['current', current]];

  /** One cold start of one function of one packaging. */
  async function coldStart(
    label: string,
    p: Packaged,
    fn: Fn,
    into: { task: string; opt: string },
    sample: Sample,
  ) {
    const r = await invokePackaged({
      node,
      ...into,
      handler: handlerOf(p, fn),
      functionName: `mlaas4hep-ci-${fn}`,
      env: functionEnv(p, fn, { bucket, queueUrl, s3: s3.endpoint, sqs: sqs.endpoint, dev }),
      events: [first[fn]],
    });
    sample.importMs.push(r.importMs);
    sample.importCpuMs.push(r.importCpuMs);
    sample.firstMs.push(r.results[0].ms);
    sample.firstCpuMs.push(r.results[0].cpuMs);
    const res = r.results[0].result;
    sample.answer = res.statusCode !== undefined ? String(res.statusCode) : JSON.stringify(res).slice(0, 60);
    const engines = r.logs.find((l) => l.message === 'inference engines');
    const backend = (engines?.tfjs as { backend?: string } | undefined)?.backend;
    if (backend) sample.answer += ` (tfjs ${backend})`;
    if (res.thrown || (res.statusCode ?? 200) >= 500)
      throw new Error(`${label} ${fn}: ${JSON.stringify(res).slice(0, 500)}`);
  }

  /** Every function of every packaging; the packagings' cold starts interleaved, so load hits both alike. */
  async function measure(): Promise<Record<string, Record<Fn, Figures>>> {
    const out: Record<string, Record<Fn, Figures>> = {};
    for (const fn of FUNCTIONS) {
      const samples = packages.map(([label, p]) => ({
        label,
        p,
        into: unpackFunction(
          join(p.dir, `${fn}.zip`),
          join(work, label, fn),
          fn === 'predict' ? [layer] : [],
        ),
        sample: { importMs: [], importCpuMs: [], firstMs: [], firstCpuMs: [], answer: '' } as Sample,
      }));
      for (let i = 0; i < runs; i++)
        for (const x of samples) await coldStart(x.label, x.p, fn, x.into, x.sample);
      for (const { label, p, sample } of samples) {
        const f: Figures = {
          zipBytes: (await stat(join(p.dir, `${fn}.zip`))).size,
          importMs: Math.round(median(sample.importMs)),
          importCpuMs: Math.round(median(sample.importCpuMs)),
          firstRequestMs: Math.round(median(sample.firstMs)),
          firstRequestCpuMs: Math.round(median(sample.firstCpuMs)),
          answer: sample.answer,
        };
        out[label] ??= {} as Record<Fn, Figures>;
        out[label][fn] = f;
        console.log(
          `${label.padEnd(8)} ${fn.padEnd(9)} zip ${(f.zipBytes / 2 ** 20).toFixed(2).padStart(6)} MiB` +
            `  import ${String(f.importMs).padStart(5)} ms (cpu ${String(f.importCpuMs).padStart(5)})` +
            `  first request ${String(f.firstRequestMs).padStart(5)} ms (cpu ${String(f.firstRequestCpuMs).padStart(4)})  → ${f.answer}`,
        );
      }
    }
    return out;
  }

  try {
    console.log(`Node ${nodeVersion}, ${runs} cold starts per function and packaging, interleaved; medians`);
    const all = await measure();
    const now = all.current;
    const base = all.baseline;
    const ratio = (a: number, b: number) => +(a / b).toFixed(3);
    const ratios = base
      ? Object.fromEntries(
          FUNCTIONS.map((fn) => [
            fn,
            {
              zip: ratio(now[fn].zipBytes, base[fn].zipBytes),
              import: ratio(now[fn].importMs, base[fn].importMs),
              importCpu: ratio(now[fn].importCpuMs, base[fn].importCpuMs),
              firstRequest: ratio(now[fn].firstRequestMs, base[fn].firstRequestMs),
            },
          ]),
        )
      : undefined;
    if (ratios)
      for (const [fn, r] of Object.entries(ratios))
        console.log(`current/baseline ${fn}: ${JSON.stringify(r)}`);
    console.log(
      JSON.stringify({ bench: 'cold-start', node: nodeVersion, runs, current: now, baseline: base, ratios }),
    );
  } finally {
    await s3.close();
    await sqs.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
