import { type ChildProcess, fork } from 'node:child_process';
import { setPriority } from 'node:os';
import type { JobRecord, JobStore } from '../jobs/job-store.js';
import { type FromTrainer, isFromTrainer, type ToTrainer } from './child-protocol.js';

/**
 * Runs one job to its end (or back to the queue) and returns its record; `close`, when there is
 * one, ends what the runner keeps between jobs (its queue consumer calls it once done).
 */
export type JobRunner = ((id: string, o: { retry: boolean; signal?: AbortSignal }) => Promise<JobRecord>) & {
  close?(): Promise<void>;
};

export interface ChildTrainerOptions {
  /** the script that runs the jobs sent over IPC (the CLI's entry) and the arguments that make it do so */
  entry: string;
  args: readonly string[];
  /** Node options of the child before its limits (e.g. the parent's own, so `--import tsx` carries over) */
  execArgv?: readonly string[];
  /** the child's JavaScript heap limit (MiB) */
  heapMb: number;
  /** the child's WebAssembly memory limit (MiB), where TensorFlow.js keeps its tensors */
  wasmMb: number;
  env?: NodeJS.ProcessEnv;
  /** how often the job's record is read for a cancel request (ms, default 2000) */
  pollMs?: number;
  /** how long a child may take to stop after SIGTERM or a cancel request before it is killed (ms, default 5000) */
  graceMs?: number;
  /** jobs one child trains before it is replaced (default 50; 1: a fresh process per job) */
  jobsPerChild?: number;
  /** a child whose resident memory exceeds this after a job is replaced (MiB, default 1024) */
  recycleRssMb?: number;
  /** a child not ready this long after its fork is killed (ms, default 120000; start-up took 2-9 s under load) */
  readyMs?: number;
  /** a child left without a job this long ends (ms, default 300000) */
  idleMs?: number;
  /** hears the child's output, a line at a time */
  log?(entry: Record<string, unknown>): void;
}

// V8 prints these as the heap runs out (and then aborts)
const HEAP_OOM = /JavaScript heap out of memory|Reached heap limit|FATAL ERROR: .*Allocation failed/;

type Exit = { code: number | null; sig: NodeJS.Signals | null };
type Done = Extract<FromTrainer, { type: 'done' }>;

/** One trainer process and what the parent knows of it. */
interface Trainer {
  proc: ChildProcess;
  /** true once it said ready; false when it exited first */
  ready: Promise<boolean>;
  exited: Promise<Exit>;
  /** the job it trains now, and who waits for its `done` */
  jobId?: string;
  onDone?(m: Done): void;
  /** its last output, for the reason of a death (reset per job) */
  tail: string;
  jobs: number;
}

/**
 * Trains jobs in a child process (`run-jobs`, forked with a heap and a WebAssembly memory limit and
 * a lower CPU priority), so a job that blows up fails alone and the API's event loop keeps
 * answering. The child records the job's steps itself; a child that dies without a word (out of
 * memory, killed) leaves the record "running", and that is turned into "failed" here with a reason
 * the job's owner can act on.
 *
 * One child trains job after job, because a fresh process per job cost more than the job: for
 * bench:load's job (2 x 2,000 events, 1 epoch) on the shared 2-core machine at load 6-8, a forked
 * `run-job` spent 2.2-3.4 s starting (imports ~3 s, of which TensorFlow.js, ONNX Runtime and the
 * reader; backend 0.2-0.6 s), 4-7 s in the job, and 5 s more before it exited (the reader's idle
 * inflate threads), 11-15 s a job: serve fell behind a submission a second. The child is replaced
 * (the next one started at once, so the next job does not wait for its start-up) after a job that
 * did not end well (failed, interrupted, back to the queue: its memory or WebAssembly state may be
 * spoiled), after `jobsPerChild` jobs, when its RSS after a job exceeds `recycleRssMb` (WebAssembly
 * memory never shrinks), or when it dies; it ends after `idleMs` without a job. Jobs run one at a
 * time per runner: calls while one runs wait their turn.
 */
export function childTrainer(jobs: JobStore, o: ChildTrainerOptions): JobRunner {
  const log = o.log ?? (() => {});
  const grace = o.graceMs ?? 5000;
  const live = new Set<Trainer>();
  let current: Trainer | undefined;
  let idle: NodeJS.Timeout | undefined;
  let turn: Promise<unknown> = Promise.resolve();
  let closed = false;

  function spawn(): Trainer {
    const proc = fork(o.entry, [...o.args], {
      execArgv: [
        ...(o.execArgv ?? []),
        `--max-old-space-size=${o.heapMb}`,
        // 64 KiB pages: tensors beyond this fail inside the child with a RangeError it reports
        `--wasm-max-mem-pages=${Math.floor((o.wasmMb * 2 ** 20) / 65536)}`,
      ],
      env: o.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    try {
      // training yields the CPU to the API's requests (best effort: not every system lets us)
      if (proc.pid) setPriority(proc.pid, 10);
    } catch {}
    const exited = new Promise<Exit>((resolve) => {
      proc.once('exit', (code, sig) => resolve({ code, sig }));
      proc.on('error', (err) => {
        t.tail += `\n${err.message}`;
        // a fork that never started has no exit to wait for
        if (proc.pid === undefined) resolve({ code: -1, sig: null });
      });
    });
    const t: Trainer = { proc, exited, ready: Promise.resolve(false), tail: '', jobs: 0 };
    // a child stuck in its start-up would hold the queue's consumer for good
    const stuck = setTimeout(() => proc.kill('SIGKILL'), o.readyMs ?? 120_000);
    t.ready = new Promise<boolean>((resolve) => {
      proc.on('message', (m) => {
        if (!isFromTrainer(m)) return;
        if (m.type === 'ready') resolve(true);
        else t.onDone?.(m);
      });
      void exited.then(() => resolve(false));
    }).finally(() => clearTimeout(stuck));
    const hear = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = chunk.toString();
      t.tail = (t.tail + text).slice(-4096);
      for (const line of text.split('\n'))
        if (line.trim())
          log({ level: stream === 'stderr' ? 'warn' : 'info', jobId: t.jobId, trainer: line.slice(0, 2000) });
    };
    proc.stdout?.on('data', hear('stdout'));
    proc.stderr?.on('data', hear('stderr'));
    live.add(t);
    void exited.then(() => {
      live.delete(t);
      if (current === t) current = undefined;
    });
    return t;
  }

  /** Asks an idle child to end (killed if it has not within the grace period); resolves on its exit. */
  function retire(t: Trainer): Promise<Exit> {
    if (current === t) current = undefined;
    const msg: ToTrainer = { type: 'stop' };
    if (t.proc.connected) t.proc.send(msg, (err) => err && t.proc.kill('SIGTERM'));
    else t.proc.kill('SIGTERM');
    const killer = setTimeout(() => t.proc.kill('SIGKILL'), grace);
    return t.exited.finally(() => clearTimeout(killer));
  }

  /** A replacement starts now, its start-up paid while the consumer fetches the next job. */
  function replace(t: Trainer, reason: string, signal?: AbortSignal): void {
    log({ level: 'info', message: 'trainer process replaced', reason, jobs: t.jobs });
    void retire(t);
    if (!closed && !signal?.aborted) current = spawn();
  }

  async function runOne(id: string, retry: boolean, signal?: AbortSignal): Promise<JobRecord> {
    if (closed) throw new Error('the trainer runner is closed');
    clearTimeout(idle);
    current ??= spawn();
    const t = current;
    // shutdown: the child records the job as interrupted at its next batch; one that does not
    // end within the grace period (still reading its files, say) is killed, never left behind
    let killer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      t.proc.kill('SIGTERM');
      killer = setTimeout(() => t.proc.kill('SIGKILL'), grace);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort);
    // a cancel the child does not act on in time (it looks at batch boundaries only) ends it here
    let cancelling: NodeJS.Timeout | undefined;
    // a record read before the job ended can answer after it: that answer must not arm a kill that
    // would land on the same process's next job
    let ended = false;
    const watch = setInterval(() => {
      if (t.jobId !== id) return;
      jobs
        .get(id)
        .then((r) => {
          if (!ended && r.cancelRequested && r.status === 'running' && !cancelling)
            cancelling = setTimeout(() => t.proc.kill('SIGKILL'), grace);
        })
        .catch(() => undefined);
    }, o.pollMs ?? 2000);
    try {
      let exit: Exit | undefined;
      const up = await t.ready;
      if (up && !signal?.aborted) {
        t.tail = '';
        t.jobId = id;
        const done = new Promise<Done>((resolve) => {
          t.onDone = (m) => m.id === id && resolve(m);
        });
        const msg: ToTrainer = { type: 'run', id, retry };
        // a channel closed meanwhile: the child's exit follows and says the rest
        t.proc.send(msg, () => undefined);
        const end = await Promise.race([done, t.exited.then((e) => ({ exit: e }))]);
        t.jobId = undefined;
        t.onDone = undefined;
        if ('type' in end) {
          t.jobs++;
          const rec = await jobs.get(id);
          const reason =
            end.status !== 'succeeded' && end.status !== 'cancelled'
              ? `its last job ended ${end.status}`
              : t.jobs >= (o.jobsPerChild ?? 50)
                ? `${t.jobs} jobs trained`
                : end.rssMb > (o.recycleRssMb ?? 1024)
                  ? `${end.rssMb} MiB resident after a job`
                  : undefined;
          if (reason) replace(t, reason, signal);
          return rec;
        }
        exit = end.exit;
      } else {
        exit = await t.exited;
        if (!up)
          log({
            level: 'error',
            message: 'trainer process ended before it was ready',
            jobId: id,
            code: exit.code,
            signal: exit.sig,
            output: t.tail.slice(-1000),
          });
      }
      if (!closed && !signal?.aborted) current ??= spawn();
      return await afterDeath(id, t, exit, signal);
    } finally {
      ended = true;
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(killer);
      clearTimeout(cancelling);
      clearInterval(watch);
      clearTimeout(idle);
      idle = setTimeout(() => {
        if (current) void retire(current);
      }, o.idleMs ?? 300_000);
      idle.unref();
    }
  }

  /** The record of a job whose child died under it (or before it could start it). */
  async function afterDeath(id: string, t: Trainer, exit: Exit, signal?: AbortSignal): Promise<JobRecord> {
    const rec = await jobs.get(id);
    if (rec.status !== 'running') return rec;
    if (rec.cancelRequested) {
      await jobs.log(id, 'cancelled (its trainer was stopped before a batch boundary)');
      return jobs.transition(id, 'cancelled');
    }
    if (signal?.aborted && !exit.code) {
      // stopped by our shutdown before it could say so: resumed by the next run, as after SIGTERM
      await jobs.log(id, 'interrupted (shutdown); it will resume on the next run');
      return jobs.transition(id, 'interrupted');
    }
    const memory = HEAP_OOM.test(t.tail) || exit.sig === 'SIGABRT' || exit.code === 134;
    const error = memory
      ? `the training ran out of memory (the trainer has ${o.heapMb} MiB of heap and ${o.wasmMb} MiB for tensors): use fewer or smaller layers, a smaller batch_size or chunk_size`
      : `the training process stopped unexpectedly (${exit.sig ?? `exit code ${exit.code}`})`;
    log({
      level: 'error',
      message: 'trainer process died',
      jobId: id,
      code: exit.code,
      signal: exit.sig,
      memory,
    });
    await jobs.log(id, `failed: ${error}`);
    // a job that exhausts memory would do so again: no retry
    return jobs.transition(id, 'failed', { error, transient: !memory });
  }

  const run: JobRunner = (id, { retry, signal }) => {
    const mine = turn.then(() => runOne(id, retry, signal));
    turn = mine.catch(() => undefined);
    return mine;
  };
  run.close = async () => {
    closed = true;
    await turn;
    clearTimeout(idle);
    await Promise.all([...live].map(retire));
  };
  return run;
}
