import { randomUUID } from 'node:crypto';
import {
  InvalidTransitionError,
  MlaasError,
  NotFoundError,
  PreconditionFailedError,
  truncateName,
  UnavailableError,
} from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { JobEpoch, JobProgress } from '../wire-types.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

/** Which state may follow which; anything else is refused (409). */
const NEXT: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['succeeded', 'failed', 'cancelled', 'interrupted'],
  interrupted: ['queued', 'running', 'cancelled', 'failed'],
  failed: ['queued'],
  succeeded: [],
  cancelled: [],
};

export type { JobEpoch, JobProgress } from '../wire-types.js';

export interface JobRecord {
  id: string;
  owner: string;
  status: JobStatus;
  workflow: unknown;
  createdAt: string;
  updatedAt: string;
  /** when the job was put on the queue (a retried idempotent submit re-sends it if missing) */
  enqueuedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  attempts: number;
  progress?: JobProgress;
  /** the epochs trained so far, written with the progress (the last 1,000) */
  history?: JobEpoch[];
  error?: string;
  /** the last failure was ours (not the workflow's), so another attempt may succeed */
  transient?: boolean;
  model?: { name: string; version: string };
  /**
   * The version an attempt is publishing, recorded before its first byte is written: an attempt
   * that died between publishing and recording success is adopted, never published twice.
   */
  publishing?: { name: string; version: string };
  metrics?: Record<string, unknown>;
  /** set by a cancel request while the job runs; the trainer stops at the next batch */
  cancelRequested?: boolean;
}

const key = (id: string): string => `jobs/${id}.json`;
const ID = /^[A-Za-z0-9-]{8,64}$/;

/**
 * Job records as JSON objects in the object store. Every update is a read-modify-write guarded by
 * the record's ETag, retried on conflict, so concurrent updates never lose each other's writes.
 */
export class JobStore {
  constructor(private readonly store: ObjectStore) {}

  async create(owner: string, workflow: unknown, id: string = randomUUID()): Promise<JobRecord> {
    const now = new Date().toISOString();
    const rec: JobRecord = {
      id,
      owner,
      status: 'queued',
      workflow,
      createdAt: now,
      updatedAt: now,
      attempts: 0,
    };
    await this.store.put(key(id), JSON.stringify(rec), { contentType: 'application/json', ifNoneMatch: '*' });
    return rec;
  }

  async get(id: string): Promise<JobRecord> {
    if (!ID.test(id)) throw new NotFoundError(`no job "${truncateName(id)}"`, 'JobNotFound');
    return (await this.read(id)).rec;
  }

  /**
   * Reads a record with its ETag. A store that is not atomic (an emulator) can hand out a record
   * half written; such a read is retried, not taken for a corrupt record.
   */
  private async read(id: string): Promise<{ rec: JobRecord; etag: string }> {
    for (let attempt = 0; ; attempt++) {
      const obj = await this.store.get(key(id));
      if (!obj) throw new NotFoundError(`no job "${id}"`, 'JobNotFound');
      try {
        return { rec: JSON.parse(new TextDecoder().decode(obj.body)) as JobRecord, etag: obj.etag };
      } catch (err) {
        if (attempt >= 10)
          throw new UnavailableError(`the record of job ${id} cannot be read`, { cause: err });
        await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
      }
    }
  }

  /** Applies `change` to the current record, retrying when another writer got there first. */
  async update(id: string, change: (rec: JobRecord) => JobRecord): Promise<JobRecord> {
    for (let attempt = 0; ; attempt++) {
      // read() also rides out a record caught half written by a non-atomic store
      const { rec: cur, etag } = await this.read(id);
      const next = { ...change(cur), updatedAt: new Date().toISOString() };
      try {
        await this.store.put(key(id), JSON.stringify(next), {
          contentType: 'application/json',
          ifMatch: etag,
        });
        return next;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError) || attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * (attempt + 1)));
      }
    }
  }

  /** Moves a job to another state (refusing invalid transitions), with extra fields. */
  transition(id: string, to: JobStatus, patch: Partial<JobRecord> = {}): Promise<JobRecord> {
    return this.update(id, (cur) => {
      if (!NEXT[cur.status].includes(to)) throw new InvalidTransitionError(id, cur.status, to);
      const now = new Date().toISOString();
      return {
        ...cur,
        ...patch,
        status: to,
        ...(to === 'running' ? { startedAt: now, attempts: cur.attempts + 1, cancelRequested: false } : {}),
        ...(['succeeded', 'failed', 'cancelled'].includes(to) ? { finishedAt: now } : {}),
      };
    });
  }

  /**
   * Every record (of one owner). A record deleted between the listing and its read is left out;
   * any other failure fails the whole list (503), never a partial list that looks complete.
   */
  async list(owner?: string): Promise<JobRecord[]> {
    const keys = (await this.store.list('jobs/')).filter((k) => /^jobs\/[^/]+\.json$/.test(k.key));
    const recs = await Promise.all(
      keys.map(async (k) =>
        this.get(k.key.slice(5, -5)).catch((err: unknown) => {
          if (err instanceof NotFoundError) return undefined;
          if (err instanceof MlaasError) throw err;
          throw new UnavailableError('the job records cannot be read', { cause: err });
        }),
      ),
    );
    return recs.filter((r): r is JobRecord => r !== undefined && (!owner || r.owner === owner));
  }

  /** Appends one line to the job's log (jobs/<id>/log.txt). */
  async log(id: string, line: string): Promise<void> {
    const k = `jobs/${id}/log.txt`;
    for (let attempt = 0; ; attempt++) {
      const cur = await this.store.get(k);
      const text = `${cur ? new TextDecoder().decode(cur.body) : ''}${new Date().toISOString()} ${line}\n`;
      try {
        await this.store.put(k, text, cur ? { ifMatch: cur.etag } : { ifNoneMatch: '*' });
        return;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError) || attempt >= 20) throw err;
      }
    }
  }

  async logs(id: string): Promise<string> {
    await this.get(id);
    const cur = await this.store.get(`jobs/${id}/log.txt`);
    return cur ? new TextDecoder().decode(cur.body) : '';
  }
}
