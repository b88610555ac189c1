/**
 * Mixed load on `mlaas4hep serve` (local store, in-process queue and trainer) on 127.0.0.1:
 *   npm run bench:load [-- --seconds 60 --connections 100 --submit-rate 1 --drain-seconds 300]
 * Rate limits are off unless MLAAS4HEP_RATE_LIMIT_PREDICT / _SUBMIT are set for the run.
 * Generates small synth files (`mlaas4hep generate`), trains the model `synth` on them
 * (`mlaas4hep train`), starts `mlaas4hep serve` in its own process, then drives three routes at
 * once: single-row predictions (POST /json), job status (GET /jobs/{id} of accepted jobs) and
 * submissions (POST /submit of a small workflow, at a fixed rate so the trainer can keep up).
 * Afterwards waits, bounded, for every accepted job to end. Prints per route requests/s, p99 and
 * errors (5xx apart), jobs accepted/succeeded/failed/lost, the server's memory, and last one
 * JSON line with every figure.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seconds: { type: 'string', default: '60' },
    connections: { type: 'string', default: '100' },
    // jobs a second: each trains on `events` rows, so the in-process trainer keeps pace
    'submit-rate': { type: 'string', default: '1' },
    events: { type: 'string', default: '2000' },
    'drain-seconds': { type: 'string', default: '300' },
  },
});
const num = (name: keyof typeof values, min: number) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number >= ${min}`);
  return n;
};
const seconds = num('seconds', 1);
const connections = num('connections', 3);
const submitRate = num('submit-rate', 1);
const events = num('events', 100);
const drainSeconds = num('drain-seconds', 0);

// autocannon through require and the few types used here (types/autocannon.d.ts covers less)
interface Histogram {
  average: number;
  p50: number;
  p99: number;
  total: number;
}
interface Result {
  requests: Histogram;
  latency: Histogram;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface Request {
  method: string;
  path: string;
  body?: string;
  setupRequest?(r: Request): Request;
  onResponse?(status: number, body: string): void;
}
type Autocannon = (o: Record<string, unknown>) => Promise<Result>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const cli = join(process.cwd(), 'dist/bin/mlaas4hep.js');
const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-bench-load-'));
const data = join(dir, 'data');
const store = join(dir, 'store');
const params = { branch: 'Events', nevts: events, chunk_size: events, epochs: 1 };
const workflow = (name: string) => ({
  name,
  files: [join(data, 'signal.root'), join(data, 'background.root')],
  labels: [1, 0],
  params,
});

console.error(`generating ${events} events per file and training "synth" in ${dir}`);
await run(process.execPath, [cli, 'generate', '--out', data, '--events', String(events)]);
await writeFile(join(dir, 'synth.json'), JSON.stringify(workflow('synth')));
await run(process.execPath, [cli, 'train', join(dir, 'synth.json'), '--out', store]);

const server = spawn(
  process.execPath,
  [cli, 'serve', '--store', store, '--port', '0', '--host', '127.0.0.1'],
  {
    env: {
      ...process.env,
      MLAAS4HEP_DEV_ISSUER: '1',
      MLAAS4HEP_DEV_JWKS: '',
      // one benchmark user measures capacity, not the per-user limiter; set them (high) for the
      // run to measure what the limiter costs
      MLAAS4HEP_RATE_LIMIT_PREDICT: process.env.MLAAS4HEP_RATE_LIMIT_PREDICT ?? '0',
      MLAAS4HEP_RATE_LIMIT_SUBMIT: process.env.MLAAS4HEP_RATE_LIMIT_SUBMIT ?? '0',
      // the policy a shared VM would use: only the generated files may be read
      MLAAS4HEP_ALLOWED_SOURCES: `${data}/`,
      XDG_CACHE_HOME: join(dir, 'cache'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
let serverErrors = 0;
const { url, token } = await new Promise<{ url: string; token: string }>((resolve, reject) => {
  let text = '';
  const ERROR = Buffer.from('"level":"ERROR"');
  const onData = (c: Buffer) => {
    text += c.toString();
    const u = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
    const lines = text.split('\n');
    const t = lines.findIndex((l) => l.startsWith('development token'));
    if (!u || t < 0 || !lines[t + 1]) return;
    // from here on, one log line per request: only counted (a native search per chunk), never
    // kept, so reading them takes no CPU from the server or the load generator
    server.stdout.off('data', onData);
    server.stdout.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(ERROR); i !== -1; i = chunk.indexOf(ERROR, i + 1)) serverErrors++;
    });
    resolve({ url: u[1], token: lines[t + 1].trim() });
  };
  server.stdout.on('data', onData);
  server.once('exit', (code) => reject(new Error(`mlaas4hep serve exited (${code})`)));
});
const pid = server.pid!;

/** VmHWM (peak) and VmRSS (now) of the server process in MiB; null off Linux. */
async function memory(): Promise<{ peak_mb: number | null; rss_mb: number | null }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const mb = (k: string) => {
    const m = new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
  };
  return { peak_mb: mb('VmHWM'), rss_mb: mb('VmRSS') };
}

const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};
const { features } = (await api('GET', '/models/synth')).json as { features: string[] };
const predictBody = JSON.stringify({ model: 'synth', keys: features, values: features.map(() => 0.5) });
const submitBody = JSON.stringify(workflow('load-job'));
// the status route needs an id from the start: one job submitted before the load
const accepted: string[] = [];
const seed = await api('POST', '/submit', workflow('load-job'));
if (seed.status !== 202) throw new Error(`the first submission was refused: ${JSON.stringify(seed.json)}`);
accepted.push(seed.json.job_id as string);
const atStart = await memory();

const submitConns = Math.min(Math.max(1, Math.round(connections * 0.02)), submitRate);
const statusConns = Math.max(1, Math.round(connections * 0.08));
const predictConns = connections - submitConns - statusConns;
console.error(
  `mlaas4hep serve (pid ${pid}) on ${url}: ${seconds} s, ${connections} connections ` +
    `(predict ${predictConns}, status ${statusConns}, submit ${submitConns} at ${submitRate}/s)`,
);
const load = (conns: number, request: Request, extra: Record<string, unknown> = {}) =>
  autocannon({ url, connections: conns, duration: seconds, headers, requests: [request], ...extra });
let peakDuringLoad = atStart.rss_mb ?? 0;
const sampler = setInterval(async () => {
  peakDuringLoad = Math.max(peakDuringLoad, (await memory()).rss_mb ?? 0);
}, 1000);
const [predict, status, submit] = await Promise.all([
  load(predictConns, { method: 'POST', path: '/json', body: predictBody }),
  load(statusConns, {
    method: 'GET',
    path: `/jobs/${accepted[0]}`,
    setupRequest: (r) => ({ ...r, path: `/jobs/${accepted[Math.floor(Math.random() * accepted.length)]}` }),
  }),
  load(
    submitConns,
    {
      method: 'POST',
      path: '/submit',
      body: submitBody,
      onResponse: (code, body) => {
        if (code === 202) accepted.push((JSON.parse(body) as { job_id: string }).job_id);
      },
    },
    { overallRate: submitRate },
  ),
]);
clearInterval(sampler);

// every accepted job must reach a final state; bounded, so a stuck trainer ends the bench too
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const drainStart = performance.now();
let jobs = new Map<string, string>();
for (;;) {
  const list = await api('GET', '/jobs');
  jobs = new Map(
    (list.json as unknown as Array<{ job_id: string; status: string }>).map((j) => [j.job_id, j.status]),
  );
  const open = accepted.filter((id) => !FINAL.has(jobs.get(id) ?? ''));
  if (!open.length || performance.now() - drainStart > drainSeconds * 1000) break;
  await new Promise((r) => setTimeout(r, 1000));
}
const drained_s = Math.round((performance.now() - drainStart) / 100) / 10;
const count = (s: string) => accepted.filter((id) => jobs.get(id) === s).length;
const atEnd = await memory();
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
await rm(dir, { recursive: true, force: true });

function figures(r: Result) {
  const codes = Object.entries(r.statusCodeStats ?? {});
  const of = (test: (code: number) => boolean) =>
    codes.filter(([c]) => test(Number(c))).reduce((n, [, s]) => n + s.count, 0);
  return {
    requests_per_s: Math.round(r.requests.average),
    requests: r.requests.total,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
    status_5xx: of((c) => c >= 500),
    status_4xx: of((c) => c >= 400 && c < 500),
    socket_errors: r.errors,
    timeouts: r.timeouts,
  };
}
const routes = {
  'POST /json': figures(predict),
  'GET /jobs/{id}': figures(status),
  'POST /submit': figures(submit),
};
const jobFigures = {
  accepted: accepted.length,
  succeeded: count('succeeded'),
  failed: count('failed'),
  cancelled: count('cancelled'),
  lost: accepted.filter((id) => !FINAL.has(jobs.get(id) ?? '')).length,
  missing: accepted.filter((id) => !jobs.has(id)).length,
  drained_s,
};
for (const [name, f] of Object.entries(routes)) {
  console.error(
    `${name.padEnd(15)} ${String(f.requests_per_s).padStart(6)} req/s  p50 ${f.p50_ms} ms  p99 ${f.p99_ms} ms  ` +
      `${f.errors} errors (${f.status_5xx} 5xx, ${f.status_4xx} 4xx, ${f.socket_errors} socket, ${f.timeouts} timeouts)`,
  );
}
console.error(
  `jobs: ${jobFigures.accepted} accepted, ${jobFigures.succeeded} succeeded, ${jobFigures.failed} failed, ` +
    `${jobFigures.lost} lost (${jobFigures.missing} without a record) after ${drained_s} s of draining`,
);
console.error(
  `server memory: at start peak ${atStart.peak_mb} MiB, RSS ${atStart.rss_mb} MiB; under load RSS up to ` +
    `${peakDuringLoad} MiB; at end peak ${atEnd.peak_mb} MiB, RSS ${atEnd.rss_mb} MiB; ${serverErrors} error log lines`,
);
console.log(
  JSON.stringify({
    duration_s: seconds,
    connections: { predict: predictConns, status: statusConns, submit: submitConns },
    submit_rate_per_s: submitRate,
    events_per_file: events,
    routes,
    jobs: jobFigures,
    server: {
      start: atStart,
      end: atEnd,
      rss_max_under_load_mb: peakDuringLoad,
      error_log_lines: serverErrors,
    },
  }),
);
process.exit(jobFigures.lost || Object.values(routes).some((r) => r.status_5xx) ? 1 : 0);
