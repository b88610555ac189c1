/**
 * Cold start of each packaged Lambda function on the runtime's Node major (22): zip size, the time
 * to import the handler's module, and the time of its first request, against the local S3 and SQS
 * emulators. `serverless package --stage ci` makes the zips (in a folder outside the repository).
 *
 *   npm run bench:cold-start [-- --runs 5] [-- --baseline <folder of an earlier package>]
 *
 * With --baseline (a folder holding the zips and cloudformation-template-update-stack.json of
 * another packaging, e.g. one made on an earlier commit), both are measured in this run and the
 * ratios printed. Each function is started --runs times (a fresh process each: a cold start); the
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
import { startSqs } from '../test/helpers/local-aws.js';
import {
  httpEvent,
  invokePackaged,
  lambdaNode,
  onnxRuntimeLayer,
  type Packaged,
  packageStack,
  s3Event,
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
  firstRequestMs: number;
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

  async function measure(p: Packaged, label: string): Promise<Record<Fn, Figures>> {
    const out = {} as Record<Fn, Figures>;
    for (const fn of FUNCTIONS) {
      const zip = join(p.dir, `${fn}.zip`);
      const { task, opt } = unpackFunction(zip, join(work, label, fn), fn === 'predict' ? [layer] : []);
      const imports: number[] = [];
      const firsts: number[] = [];
      let answer = '';
      for (let i = 0; i < runs; i++) {
        const r = await invokePackaged({
          node,
          task,
          opt,
          handler: handlerOf(p, fn),
          functionName: `mlaas4hep-ci-${fn}`,
          env: functionEnv(p, fn, { bucket, queueUrl, s3: s3.endpoint, sqs: sqs.endpoint, dev }),
          events: [first[fn]],
        });
        imports.push(r.importMs);
        firsts.push(r.results[0].ms);
        const res = r.results[0].result;
        answer = res.statusCode !== undefined ? String(res.statusCode) : JSON.stringify(res).slice(0, 60);
        if (fn === 'predict') {
          const engines = r.logs.find((l) => l.message === 'inference engines');
          const backend = (engines?.tfjs as { backend?: string } | undefined)?.backend;
          if (backend) answer += ` (tfjs ${backend})`;
        }
      }
      out[fn] = {
        zipBytes: (await stat(zip)).size,
        importMs: Math.round(median(imports)),
        firstRequestMs: Math.round(median(firsts)),
        answer,
      };
      console.log(
        `${label.padEnd(8)} ${fn.padEnd(9)} zip ${(out[fn].zipBytes / 2 ** 20).toFixed(2).padStart(6)} MiB` +
          `  import ${String(out[fn].importMs).padStart(5)} ms  first request ${String(out[fn].firstRequestMs).padStart(5)} ms  → ${answer}`,
      );
    }
    return out;
  }

  try {
    console.log(`Node ${nodeVersion}, ${runs} cold starts per function, medians`);
    const base = baseline ? await measure(baseline, 'baseline') : undefined;
    const now = await measure(current, 'current');
    const ratios = base
      ? Object.fromEntries(
          FUNCTIONS.map((fn) => [
            fn,
            {
              zip: +(now[fn].zipBytes / base[fn].zipBytes).toFixed(3),
              import: +(now[fn].importMs / base[fn].importMs).toFixed(3),
              firstRequest: +(now[fn].firstRequestMs / base[fn].firstRequestMs).toFixed(3),
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
