/**
 * Mixed load on `mlaas4hep serve` (local store, in-process queue and trainer) on 127.0.0.1:
 *   npm run bench:load [-- --seconds 60 --connections 100 --submit-rate 1 --drain-seconds 300]
 * Rate limits are off unless MLAAS4HEP_RATE_LIMIT_PREDICT / _SUBMIT are set for the run.
 * Generates small synth files (`mlaas4hep generate`), trains the model `synth` on them
 * (`mlaas4hep train`), starts `mlaas4hep serve` in its own process, then drives three routes at
 * once: single-row predictions (POST /json), job status (GET /jobs/{id} of accepted jobs) and
 * submissions (POST /submit of a small workflow, at a fixed rate so the trainer can keep up).
 * The load runs twice in one run: normal traffic alone, then the same traffic with a hostile mix
 * beside it (a few requests a second, each of which once wedged or broke the server: models too
 * big for the trainer, uploads declaring huge or string weights or a 5 M-unit topology, 8,192-row
 * predictions). Afterwards waits, bounded, for every accepted normal job to end. Prints per route
 * and phase requests/s, p99 and errors (5xx apart), what the hostile requests got, jobs
 * accepted/succeeded/failed/lost, the server's memory, the predict p99 ratio (hostile / normal),
 * and last one JSON line with every figure.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seconds: { type: 'string', default: '60' },
    connections: { type: 'string', default: '100' },
    // jobs a second: each trains on `events` rows, so the in-process trainer keeps pace
    'submit-rate': { type: 'string', default: '1' },
    events: { type: 'string', default: '2000' },
    'drain-seconds': { type: 'string', default: '300' },
    // hostile requests a second in the second phase
    'hostile-rate': { type: 'string', default: '2' },
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
const hostileRate = num('hostile-rate', 1);

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
// the first error lines themselves, so a run that has any says what they were
const errorLines: string[] = [];
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
      for (let i = chunk.indexOf(ERROR); i !== -1; i = chunk.indexOf(ERROR, i + 1)) {
        serverErrors++;
        if (errorLines.length < 3) {
          const from = chunk.lastIndexOf(10, i) + 1;
          const to = chunk.indexOf(10, i);
          errorLines.push(
            chunk
              .subarray(from, to === -1 ? undefined : to)
              .toString()
              .slice(0, 600),
          );
        }
      }
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

/** The normal traffic: predictions, job status, submissions at their fixed rate. */
const normal = () =>
  Promise.all([
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

const phaseA = await normal();
console.error('normal traffic measured; now again with the hostile mix beside it');
const hostile = hostileMix();
const phaseB = await normal();
const hostileCounts = await hostile.stop();
clearInterval(sampler);

// every accepted job must reach a final state; bounded, so a stuck trainer ends the bench too
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const drainStart = performance.now();
interface JobView {
  job_id: string;
  status: string;
  started?: string;
  finished?: string;
}
let jobs = new Map<string, string>();
let views: JobView[] = [];
for (;;) {
  const list = await api('GET', '/jobs');
  views = list.json as unknown as JobView[];
  jobs = new Map(views.map((j) => [j.job_id, j.status]));
  const open = accepted.filter((id) => !FINAL.has(jobs.get(id) ?? ''));
  if (!open.length || performance.now() - drainStart > drainSeconds * 1000) break;
  await new Promise((r) => setTimeout(r, 1000));
}
const drained_s = Math.round((performance.now() - drainStart) / 100) / 10;
const count = (s: string) => accepted.filter((id) => jobs.get(id) === s).length;
// how long the trainer spent on each job that ended (its record's started → finished): the rate
// the trainer can take is about one over this, less while the load takes its CPU
const mine = new Set(accepted);
const spent = views
  .filter((j) => mine.has(j.job_id) && j.started && j.finished)
  .map((j) => (Date.parse(j.finished!) - Date.parse(j.started!)) / 1000)
  .sort((a, b) => a - b);
const at = (q: number) =>
  spent.length ? spent[Math.min(spent.length - 1, Math.floor(q * spent.length))] : null;
// why jobs failed, counted by reason (a job that fails is no lost job, but it should have a reason)
const failures: Record<string, number> = {};
for (const id of accepted.filter((j) => jobs.get(j) === 'failed')) {
  const why = String((await api('GET', `/jobs/${id}`)).json.error ?? 'no reason recorded').slice(0, 200);
  failures[why] = (failures[why] ?? 0) + 1;
}
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
const routesOf = ([predict, status, submit]: Result[]) => ({
  'POST /json': figures(predict),
  'GET /jobs/{id}': figures(status),
  'POST /submit': figures(submit),
});
const routes = routesOf(phaseA);
const routesHostile = routesOf(phaseB);
const p99Ratio =
  Math.round((routesHostile['POST /json'].p99_ms / Math.max(1, routes['POST /json'].p99_ms)) * 100) / 100;
const jobFigures = {
  accepted: accepted.length,
  succeeded: count('succeeded'),
  failed: count('failed'),
  cancelled: count('cancelled'),
  // lost, by where they stood when the drain ended
  queued: count('queued'),
  running: count('running'),
  interrupted: count('interrupted'),
  lost: accepted.filter((id) => !FINAL.has(jobs.get(id) ?? '')).length,
  missing: accepted.filter((id) => !jobs.has(id)).length,
  drained_s,
  failures,
  job_seconds: { p50: at(0.5), p90: at(0.9), max: spent.at(-1) ?? null },
};
for (const [phase, rs] of [
  ['normal', routes],
  ['hostile', routesHostile],
] as const)
  for (const [name, f] of Object.entries(rs)) {
    console.error(
      `${phase.padEnd(8)}${name.padEnd(15)} ${String(f.requests_per_s).padStart(6)} req/s  p50 ${f.p50_ms} ms  p99 ${f.p99_ms} ms  ` +
        `${f.errors} errors (${f.status_5xx} 5xx, ${f.status_4xx} 4xx, ${f.socket_errors} socket, ${f.timeouts} timeouts)`,
    );
  }
console.error(
  `hostile mix: ${Object.entries(hostileCounts)
    .map(([k, v]) => `${k} ${JSON.stringify(v)}`)
    .join('; ')}`,
);
console.error(`predict p99 with the hostile mix / without: ${p99Ratio}`);
console.error(
  `jobs: ${jobFigures.accepted} accepted, ${jobFigures.succeeded} succeeded, ${jobFigures.failed} failed, ` +
    `${jobFigures.lost} lost (${jobFigures.queued} queued, ${jobFigures.running} running, ` +
    `${jobFigures.interrupted} interrupted, ${jobFigures.missing} without a record) after ${drained_s} s of draining; ` +
    `seconds a job trained: p50 ${jobFigures.job_seconds.p50}, p90 ${jobFigures.job_seconds.p90}, max ${jobFigures.job_seconds.max}`,
);
console.error(
  `server memory: at start peak ${atStart.peak_mb} MiB, RSS ${atStart.rss_mb} MiB; under load RSS up to ` +
    `${peakDuringLoad} MiB; at end peak ${atEnd.peak_mb} MiB, RSS ${atEnd.rss_mb} MiB; ${serverErrors} error log lines`,
);
for (const [why, n] of Object.entries(failures)) console.error(`failed jobs (${n}): ${why}`);
for (const line of errorLines) console.error(`error log line: ${line}`);
console.log(
  JSON.stringify({
    duration_s: seconds,
    connections: { predict: predictConns, status: statusConns, submit: submitConns },
    submit_rate_per_s: submitRate,
    events_per_file: events,
    routes,
    routes_with_hostile_mix: routesHostile,
    hostile_mix: hostileCounts,
    predict_p99_ratio_hostile_to_normal: p99Ratio,
    jobs: jobFigures,
    server: {
      start: atStart,
      end: atEnd,
      rss_max_under_load_mb: peakDuringLoad,
      error_log_lines: serverErrors,
    },
  }),
);
process.exit(
  jobFigures.lost || [...Object.values(routes), ...Object.values(routesHostile)].some((r) => r.status_5xx)
    ? 1
    : 0,
);

/**
 * Requests that each once wedged or broke serve, `hostileRate` a second, until stopped; what they
 * got is counted per kind (a 4xx is the right answer; none may be a socket error or time out).
 */
function hostileMix() {
  const counts: Record<string, Record<string, number>> = {};
  const note = (kind: string, outcome: string) => {
    counts[kind] ??= {};
    counts[kind][outcome] = (counts[kind][outcome] ?? 0) + 1;
  };
  const upload = (name: string, modelJson: unknown, weights: Uint8Array) =>
    fetch(`${url}/upload?name=${name}`, {
      method: 'POST',
      headers: { authorization: headers.authorization, 'content-type': 'application/gzip' },
      body: tarGz({
        'params.json': JSON.stringify({ features: ['a', 'b', 'c', 'd'] }),
        'model.json': JSON.stringify(modelJson),
        'weights.bin': weights,
      }),
      signal: AbortSignal.timeout(10_000),
    });
  const topology = (units: number, weights: unknown[]) => ({
    format: 'layers-model',
    modelTopology: {
      class_name: 'Sequential',
      config: {
        layers: [{ class_name: 'Dense', config: { name: 'd', units, batch_input_shape: [null, 4] } }],
      },
    },
    weightsManifest: [{ paths: ['weights.bin'], weights }],
  });
  const wideRows = JSON.stringify({
    model: 'synth',
    keys: features,
    values: Array.from({ length: 8192 }, (_, i) => features.map((_, j) => ((i + j) % 7) / 7)),
  });
  const kinds: Array<[string, () => Promise<Response>]> = [
    [
      'submit_wide_model',
      () =>
        fetch(`${url}/submit`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            ...workflow('hostile-wide'),
            model: {
              layers: [
                { type: 'dense', units: 65536 },
                { type: 'dense', units: 65536 },
              ],
            },
          }),
          signal: AbortSignal.timeout(10_000),
        }),
    ],
    [
      'upload_string_weights',
      () =>
        upload(
          'hostile-strings',
          topology(1, [{ name: 'd/kernel', shape: [1e5, 1e5], dtype: 'string' }]),
          new Uint8Array(20),
        ),
    ],
    [
      'upload_5m_units',
      () =>
        upload(
          'hostile-wide',
          topology(5_000_000, [
            { name: 'd/kernel', shape: [4, 1], dtype: 'float32' },
            { name: 'd/bias', shape: [1], dtype: 'float32' },
          ]),
          new Uint8Array(20),
        ),
    ],
    [
      'predict_8192_rows',
      () =>
        fetch(`${url}/json`, {
          method: 'POST',
          headers,
          body: wideRows,
          signal: AbortSignal.timeout(10_000),
        }),
    ],
  ];
  let stopped = false;
  let i = 0;
  const inFlight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    if (stopped) return;
    const [kind, send] = kinds[i++ % kinds.length];
    const p: Promise<void> = send()
      .then(async (res) => {
        await res.arrayBuffer();
        note(kind, String(res.status));
      })
      .catch((err: Error) => note(kind, err.name === 'TimeoutError' ? 'timeout' : 'error'))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, 1000 / hostileRate);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all(inFlight);
      return counts;
    },
  };
}

/** A gzip tar of a few files (ustar headers by hand: the bench needs no tar package). */
function tarGz(files: Record<string, string | Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    const h = new Uint8Array(512);
    const put = (text: string, at: number) => h.set(new TextEncoder().encode(text), at);
    put(name, 0);
    put('0000644\0', 100);
    put('0000000\0', 108);
    put('0000000\0', 116);
    put(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    put('00000000000\0', 136);
    put('        ', 148);
    put('0', 156);
    put('ustar\0', 257);
    put('00', 263);
    put(
      `${h
        .reduce((a, b) => a + b, 0)
        .toString(8)
        .padStart(6, '0')}\0 `,
      148,
    );
    parts.push(h, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return gzipSync(Buffer.concat(parts));
}
