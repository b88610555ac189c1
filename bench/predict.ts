/**
 * Prediction throughput of `mlaas4hep serve` on 127.0.0.1, measured in one run:
 *   npm run bench:predict [-- --duration 10 --connections 50 --workers <cores>]
 * Trains the default model briefly on the synth pair, starts `mlaas4hep serve` in its own process,
 * then drives POST /json with autocannon (in a third process): single rows, then 10,000-row batches. Prints, last, one
 * JSON line: requests/s, p50 and p99 latency (ms) and errors for each.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
const features = outcome.features;

const server = spawn(
  process.execPath,
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
  {
    // no per-user limit: one benchmark user measures capacity, not the limiter
    env: { ...process.env, MLAAS4HEP_DEV_ISSUER: '1', MLAAS4HEP_RATE_LIMIT_PREDICT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const { url, token } = await new Promise<{ url: string; token: string }>((resolve, reject) => {
  let text = '';
  const onData = (c: Buffer) => {
    text += c.toString();
    const u = /serving on (http:\/\/\S+)/.exec(text);
    const lines = text.split('\n');
    const t = lines.findIndex((l) => l.startsWith('development token'));
    if (u && t >= 0 && lines[t + 1]) {
      // from here on the server logs a line per request: drain them unread, or scanning the
      // growing text would take CPU from the server and the load generator
      server.stdout.off('data', onData);
      server.stdout.resume();
      resolve({ url: u[1], token: lines[t + 1].trim() });
    }
  };
  server.stdout.on('data', onData);
  server.once('exit', (code) => reject(new Error(`mlaas4hep serve exited (${code})`)));
});

console.error(`mlaas4hep serve (${workers} processes) on ${url}`);
const names = (await (
  await fetch(`${url}/models/synth`, { headers: { authorization: `Bearer ${token}` } })
).json()) as { features: string[] };
const row = Array.from({ length: features }, () => Math.random());
const single = JSON.stringify({ model: 'synth', keys: names.features, values: row });
const batch = JSON.stringify({
  model: 'synth',
  keys: names.features,
  values: Array.from({ length: 10_000 }, () => row),
});

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
const run = async (body: string, conns: number) => {
  const bodyFile = join(dir, 'body.json');
  await writeFile(bodyFile, body);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      autocannonBin,
      '--json',
      ...['-c', String(conns), '-d', String(duration), '-m', 'POST', '-i', bodyFile],
      ...['-H', `authorization=Bearer ${token}`, '-H', 'content-type=application/json'],
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
console.error(`single rows: ${connections} connections, ${duration} s`);
const singleRow = await run(single, connections);
console.error(`10,000-row batches: ${Math.min(connections, 4)} connections, ${duration} s`);
const batches = await run(batch, Math.min(connections, 4));
server.kill('SIGTERM');
await rm(dir, { recursive: true, force: true });

console.error(
  `single row: ${singleRow.requests_per_s} req/s, p50 ${singleRow.p50_ms} ms, p99 ${singleRow.p99_ms} ms, ${singleRow.errors} errors`,
);
console.error(
  `10,000-row batches: ${batches.requests_per_s} req/s (${batches.requests_per_s * 10_000} rows/s), p99 ${batches.p99_ms} ms, ${batches.errors} errors`,
);
console.log(
  JSON.stringify({
    backend,
    serve_processes: workers,
    connections,
    duration_s: duration,
    single_row: singleRow,
    batch_10000: { ...batches, rows_per_s: batches.requests_per_s * 10_000 },
  }),
);
