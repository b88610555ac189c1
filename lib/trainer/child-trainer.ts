import { fork } from 'node:child_process';
import { setPriority } from 'node:os';
import type { JobRecord, JobStore } from '../jobs/job-store.js';

/** Runs one job to its end (or back to the queue) and returns its record. */
export type JobRunner = (id: string, o: { retry: boolean; signal?: AbortSignal }) => Promise<JobRecord>;

export interface ChildTrainerOptions {
  /** the script that runs one job (the CLI's entry) and the arguments that make it do so */
  entry: string;
  args(jobId: string, retry: boolean): string[];
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
  /** hears the child's output, a line at a time */
  log?(entry: Record<string, unknown>): void;
}

/** Memory limits from MLAAS4HEP_TRAINER_HEAP_MB and MLAAS4HEP_TRAINER_WASM_MB (defaults 2048 each). */
export function trainerLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): {
  heapMb: number;
  wasmMb: number;
} {
  const read = (name: string, fallback: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 64 || n > 65536)
      throw new TypeError(`${name} must be a whole number of MiB from 64 to 65536, got "${v}"`);
    return n;
  };
  return { heapMb: read('MLAAS4HEP_TRAINER_HEAP_MB', 2048), wasmMb: read('MLAAS4HEP_TRAINER_WASM_MB', 2048) };
}

// V8 prints these as the heap runs out (and then aborts)
const HEAP_OOM = /JavaScript heap out of memory|Reached heap limit|FATAL ERROR: .*Allocation failed/;

/**
 * Trains each job in a child process of its own (child_process.fork of the trainer entry), with a
 * heap and a WebAssembly memory limit and a lower CPU priority, so a job that blows up fails alone
 * and the API's event loop keeps answering. The child records the job's steps itself; a child that
 * dies without a word (out of memory, killed) leaves the record "running", and that is turned into
 * "failed" here with a reason the job's owner can act on.
 */
export function childTrainer(jobs: JobStore, o: ChildTrainerOptions): JobRunner {
  const log = o.log ?? (() => {});
  return async (id, { retry, signal }) => {
    const child = fork(o.entry, o.args(id, retry), {
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
      if (child.pid) setPriority(child.pid, 10);
    } catch {}
    let tail = '';
    const hear = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4096);
      for (const line of text.split('\n'))
        if (line.trim())
          log({ level: stream === 'stderr' ? 'warn' : 'info', jobId: id, trainer: line.slice(0, 2000) });
    };
    child.stdout?.on('data', hear('stdout'));
    child.stderr?.on('data', hear('stderr'));
    // shutdown: the child records the job as interrupted at its next batch; one that does not
    // end within the grace period (still reading its files, say) is killed, never left behind
    let killer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), o.graceMs ?? 5000);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort);
    // a cancel the child does not act on in time (it looks at batch boundaries only) ends it here
    let cancelling: NodeJS.Timeout | undefined;
    const watch = setInterval(() => {
      jobs
        .get(id)
        .then((r) => {
          if (r.cancelRequested && !cancelling)
            cancelling = setTimeout(() => child.kill('SIGKILL'), o.graceMs ?? 5000);
        })
        .catch(() => undefined);
    }, o.pollMs ?? 2000);
    const exit = await new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, sig) => resolve({ code, sig }));
      child.once('error', (err) => {
        tail += `\n${err.message}`;
        resolve({ code: -1, sig: null });
      });
    });
    signal?.removeEventListener('abort', onAbort);
    clearTimeout(killer);
    clearTimeout(cancelling);
    clearInterval(watch);
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
    const memory = HEAP_OOM.test(tail) || exit.sig === 'SIGABRT' || exit.code === 134;
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
  };
}
