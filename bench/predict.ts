/**
 * Prediction throughput of `mlaas4hep serve` on 127.0.0.1, measured in one run:
 *   npm run bench:predict [-- --duration 10 --connections 50 --workers <cores>]
 * Trains the default model briefly on the synth pair (its bundle has model.json and model.onnx),
 * then drives POST /json with autocannon (in its own process) against, in turn, for each engine: a
 * no-op Node HTTP server that parses the body and answers [0.5] (the ceiling of this machine: same
 * processes, same load generator), then `mlaas4hep serve` on that engine, ONNX Runtime (the
 * bundle's default) and TensorFlow.js (MLAAS4HEP_ENGINE=tfjs): single rows, then 10,000-row
 * batches. Prints, last, one JSON line: requests/s, p50 and p99 latency (ms) and errors of each,
 * each engine's `ratio_to_ceiling` (to the ceiling run just before it) and ONNX Runtime's on top.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { MemorySpecsCache } from '../lib/dataset/cache.js';
import { parseWorkflow } from '../lib/dataset/workflow.js';
import { openRoot } from '../lib/root/file.js';
import { LocalObjectStore } from '../lib/storage/local.js';
import { runTrainingJob } from '../lib/trainer/job.js';
import { initBackend } from '../lib/training/backend.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    // serve's processes: one per core, as a VM would run it
    workers: { type: 'string', default: String(availableParallelism()) },
  },
});
const duration = Number(values.duration);
const connections = Number(values.connections);
const workers = Number(values.workers);
const synth = join(process.cwd(), '../shared/data/synth');
const dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-bench-predict-'));
const backend = await initBackend();

const outcome = await runTrainingJob(
  parseWorkflow({
    name: 'synth',
    files: [join(synth, 'signal.root'), join(synth, 'background.root')],
    labels: [1, 0],
    params: { branch: 'Events', nevts: 20_000, chunk_size: 10_000, epochs: 1 },
  }),
  {
    dataset: { openFile: (s) => openRoot(s), cache: new MemorySpecsCache() },
    store: new LocalObjectStore(dir),
    backend,
  },
);
const onnx = outcome.version ? 'model.onnx written' : 'no bundle';
console.error(`trained "synth" (${outcome.features} features, ${onnx})`);

interface Server {
  url: string;
  token?: string;
  stop(): void;
}

/**
 * A child process that prints its URL (and, for serve, a development token) once it listens. Its
 * output goes to a file, as a function's goes to its log service: a pipe to this process would wake
 * it at every request's log line and take a core's share from the server and the load generator.
 */
let started = 0;
async function start(args: string[], env: Record<string, string>, pattern: RegExp): Promise<Server> {
  const logFile = join(dir, `server-${started++}.log`);
  const out = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', out, 'inherit'],
  });
  closeSync(out);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const serve = args.includes('serve');
  for (;;) {
    if (exited !== undefined) throw new Error(`${args.join(' ')} exited (${exited}); its output: ${logFile}`);
    const text = await readFile(logFile, 'utf8');
    const u = pattern.exec(text);
    const lines = text.split('\n');
    const t = lines.findIndex((l) => l.startsWith('development token'));
    // the token line is whole once a line break follows it
    if (u && (!serve || (t >= 0 && lines[t + 1] && lines.length > t + 2))) {
      return { url: u[1], token: serve ? lines[t + 1].trim() : undefined, stop: () => child.kill('SIGTERM') };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const serve = (engine: string) =>
  start(
    [
      'dist/bin/mlaas4hep.js',
      'serve',
      '--store',
      dir,
      '--no-worker',
      '--port',
      '0',
      '--workers',
      String(workers),
    ],
    // no per-user limit: one benchmark user measures capacity, not the limiter
    { MLAAS4HEP_DEV_ISSUER: '1', MLAAS4HEP_RATE_LIMIT_PREDICT: '0', MLAAS4HEP_ENGINE: engine },
    /serving on (http:\/\/\S+)/,
  );

// the load generator runs in its own process: in this one, beside the trained model, it was the
// bottleneck (0.9 of a core for 3.9 k req/s), and it must not share a core with the server's heap
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
const autocannonBin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
const run = async (url: string, token: string | undefined, body: string, conns: number) => {
  const bodyFile = join(dir, 'body.json');
  await writeFile(bodyFile, body);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      autocannonBin,
      '--json',
      ...['-c', String(conns), '-d', String(duration), '-m', 'POST', '-i', bodyFile],
      ...(token ? ['-H', `authorization=Bearer ${token}`] : []),
      ...['-H', 'content-type=application/json'],
      `${url}/json`,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const r = JSON.parse(stdout) as AutocannonResult;
  return {
    requests_per_s: Math.round(r.requests.average),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
    requests: r.requests.total,
  };
};
type Run = Awaited<ReturnType<typeof run>>;

const first = await serve('onnxruntime');
const names = (
  (await (
    await fetch(`${first.url}/models/synth`, { headers: { authorization: `Bearer ${first.token}` } })
  ).json()) as {
    features: string[];
  }
).features;
first.stop();
const row = names.map(() => Math.random());
const single = JSON.stringify({ model: 'synth', keys: names, values: row });
const batch = JSON.stringify({
  model: 'synth',
  keys: names,
  values: Array.from({ length: 10_000 }, () => row),
});

// the ceiling is measured right before each engine's single rows, and each is compared with its
// own: on a machine whose load drifts (other work beside the bench), a ceiling measured once at
// the start made the second engine's ratio a comparison with another machine
const ceilingRuns: Run[] = [];
async function measureCeiling(): Promise<Run> {
  const noop = await start(['dist/bench/noop-server.js', String(workers)], {}, /listening on (http:\/\/\S+)/);
  console.error(
    `ceiling: a no-op server (${workers} processes), single rows, ${connections} connections, ${duration} s`,
  );
  const c = await run(noop.url, undefined, single, connections);
  noop.stop();
  console.error(`ceiling: ${c.requests_per_s} req/s, p50 ${c.p50_ms} ms, p99 ${c.p99_ms} ms`);
  ceilingRuns.push(c);
  return c;
}

const engines: Record<
  string,
  { single_row: Run & { ratio_to_ceiling: number }; batch_10000: Run & { rows_per_s: number } }
> = {};
for (const engine of ['onnxruntime', 'tfjs']) {
  const ceiling = await measureCeiling();
  const s = await serve(engine);
  console.error(
    `${engine}: mlaas4hep serve (${workers} processes), single rows, ${connections} connections, ${duration} s`,
  );
  const one = await run(s.url, s.token, single, connections);
  console.error(`${engine}: 10,000-row batches, ${Math.min(connections, 4)} connections, ${duration} s`);
  const many = await run(s.url, s.token, batch, Math.min(connections, 4));
  s.stop();
  const ratio = Number((one.requests_per_s / ceiling.requests_per_s).toFixed(3));
  engines[engine] = {
    single_row: { ...one, ratio_to_ceiling: ratio },
    batch_10000: { ...many, rows_per_s: many.requests_per_s * 10_000 },
  };
  console.error(
    `${engine}: single row ${one.requests_per_s} req/s (${ratio} of the ceiling), p50 ${one.p50_ms} ms, p99 ${one.p99_ms} ms, ${one.errors} errors; ` +
      `10,000-row batches ${many.requests_per_s} req/s (${many.requests_per_s * 10_000} rows/s), p99 ${many.p99_ms} ms, ${many.errors} errors`,
  );
}
await rm(dir, { recursive: true, force: true });

const ort = engines.onnxruntime;
const tfjs = engines.tfjs;
console.log(
  JSON.stringify({
    serve_processes: workers,
    connections,
    duration_s: duration,
    // the first run (before ONNX Runtime), and every run
    ceiling: { single_row: ceilingRuns[0], runs: ceilingRuns },
    onnxruntime: ort,
    tfjs,
    ratio_to_ceiling: ort.single_row.ratio_to_ceiling,
    onnxruntime_over_tfjs: {
      single_row: Number(
        (ort.single_row.requests_per_s / Math.max(1, tfjs.single_row.requests_per_s)).toFixed(2),
      ),
      batch_10000: Number(
        (ort.batch_10000.requests_per_s / Math.max(1, tfjs.batch_10000.requests_per_s)).toFixed(2),
      ),
    },
  }),
);
