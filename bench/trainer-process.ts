/**
 * What serve's trainer process costs per job, at bench:load's job size (2 x --events rows, 1 epoch):
 *   npm run build && node dist/bench/trainer-process.js [-- --jobs 5 --events 2000]
 * Runs the same jobs twice from a local store: first a fresh `run-job` process per job (how serve
 * trained before), timing its start-up (fork to the record's "running"), the job (running to
 * finished) and its exit (finished to the process gone); then one warm `run-jobs` process through
 * childTrainer, as serve does now, timing each job from the call to its return (the first one pays
 * the process's start-up). The training threads are MLAAS4HEP_TRAIN_WORKERS as set for the run,
 * else 1 as serve sets them. Prints medians and, last, one JSON line; the figure to compare is
 * `ratio_fresh_to_warm` (seconds per job, a fresh process over a warm one).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { JobStore } from '../lib/jobs/job-store.js';
import { LocalObjectStore } from '../lib/storage/local.js';
import { childTrainer } from '../lib/trainer/child-trainer.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { jobs: { type: 'string', default: '5' }, events: { type: 'string', default: '2000' } },
});
const n = Number(values.jobs);
const events = Number(values.events);
if (!Number.isInteger(n) || n < 2) throw new Error('--jobs must be a whole number >= 2');
if (!Number.isInteger(events) || events < 100) throw new Error('--events must be a whole number >= 100');

const cli = join(process.cwd(), 'dist/bin/mlaas4hep.js');
const dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-bench-trainer-'));
const data = join(dir, 'data');
const root = join(dir, 'store');
const env = {
  ...process.env,
  MLAAS4HEP_TRAIN_WORKERS: process.env.MLAAS4HEP_TRAIN_WORKERS ?? '1',
  MLAAS4HEP_ALLOWED_SOURCES: `${data}/`,
  XDG_CACHE_HOME: join(dir, 'cache'),
};
const exited = (args: string[]) =>
  new Promise<number | null>((resolve) => {
    const p = spawn(process.execPath, [cli, ...args], { env, stdio: 'ignore' });
    p.once('exit', resolve);
  });
await exited(['generate', '--out', data, '--events', String(events)]);
const jobs = new JobStore(new LocalObjectStore(root));
const create = () =>
  jobs.create('bench', {
    name: 'bench-job',
    files: [join(data, 'signal.root'), join(data, 'background.root')],
    labels: [1, 0],
    params: { branch: 'Events', nevts: events, chunk_size: events, epochs: 1 },
  });
const s = (ms: number) => Math.round(ms) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const fresh = { startup: [] as number[], job: [] as number[], exit: [] as number[], total: [] as number[] };
for (let i = 0; i < n; i++) {
  const { id } = await create();
  const t0 = Date.now();
  const code = await exited(['run-job', '--store', root, '--job', id]);
  const t1 = Date.now();
  const r = await jobs.get(id);
  if (code !== 0 || r.status !== 'succeeded')
    throw new Error(`run-job ended ${code}, job ${r.status}: ${r.error}`);
  const started = Date.parse(r.startedAt!);
  const finished = Date.parse(r.finishedAt!);
  fresh.startup.push(s(started - t0));
  fresh.job.push(s(finished - started));
  fresh.exit.push(s(t1 - finished));
  fresh.total.push(s(t1 - t0));
}

const run = childTrainer(jobs, {
  entry: cli,
  args: ['run-jobs', '--store', root],
  heapMb: 2048,
  wasmMb: 2048,
  env,
});
const warm: number[] = [];
for (let i = 0; i <= n; i++) {
  const { id } = await create();
  const t0 = Date.now();
  const r = await run(id, { retry: false });
  if (r.status !== 'succeeded') throw new Error(`job ${r.status}: ${r.error}`);
  warm.push(s(Date.now() - t0));
}
await run.close?.();
await rm(dir, { recursive: true, force: true });

const figures = {
  jobs: n,
  events_per_file: events,
  train_workers: Number(env.MLAAS4HEP_TRAIN_WORKERS),
  fresh_process_per_job_s: {
    startup: median(fresh.startup),
    job: median(fresh.job),
    exit: median(fresh.exit),
    total: median(fresh.total),
  },
  warm_process_s: { first_job: warm[0], job: median(warm.slice(1)) },
  ratio_fresh_to_warm: Math.round((median(fresh.total) / median(warm.slice(1))) * 100) / 100,
};
const f = figures.fresh_process_per_job_s;
console.error(
  `a fresh run-job per job (median of ${n}): start-up ${f.startup} s, job ${f.job} s, exit ${f.exit} s, in all ${f.total} s`,
);
console.error(
  `one warm run-jobs: first job ${figures.warm_process_s.first_job} s (with the start-up), then ${figures.warm_process_s.job} s a job (median of ${n})`,
);
console.error(`seconds per job, fresh / warm: ${figures.ratio_fresh_to_warm}`);
console.log(JSON.stringify(figures));
