import type { JobStatus } from '../jobs/job-store.js';

/** What `serve` sends its trainer process (`run-jobs`) over the IPC channel. */
export type ToTrainer =
  /** train this job now (the child runs one at a time; the parent never sends a second before `done`) */
  | { type: 'run'; id: string; retry: boolean }
  /** end after the current job, if any (recycling, idle, shutdown of serve) */
  | { type: 'stop' };

/** What the trainer process answers. */
export type FromTrainer =
  /** imports and the TensorFlow.js backend are up: jobs start at once from here on */
  | { type: 'ready'; backend: string }
  /** the job ended (its record says how); `rssMb` is the process's resident memory after it */
  | { type: 'done'; id: string; status: JobStatus; rssMb: number };

export function isToTrainer(m: unknown): m is ToTrainer {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  if (t === 'stop') return true;
  const r = m as { id?: unknown; retry?: unknown };
  return t === 'run' && typeof r.id === 'string' && typeof r.retry === 'boolean';
}

export function isFromTrainer(m: unknown): m is FromTrainer {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as { type?: unknown; backend?: unknown; id?: unknown; status?: unknown; rssMb?: unknown };
  if (r.type === 'ready') return typeof r.backend === 'string';
  return (
    r.type === 'done' &&
    typeof r.id === 'string' &&
    typeof r.status === 'string' &&
    typeof r.rssMb === 'number'
  );
}
