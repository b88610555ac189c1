import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidTransitionError, NotFoundError, UnavailableError } from '../../lib/errors.js';
import { JobStore } from '../../lib/jobs/job-store.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';

let dir: string;
let jobs: JobStore;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-jobs-'));
  jobs = new JobStore(new LocalObjectStore(dir));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('job records', () => {
  it('go queued → running → succeeded, counting attempts and timing', async () => {
    const j = await jobs.create('alice', { files: [] });
    expect(j.status).toBe('queued');
    const r = await jobs.transition(j.id, 'running');
    expect(r.attempts).toBe(1);
    expect(r.startedAt).toBeDefined();
    const s = await jobs.transition(j.id, 'succeeded', { model: { name: 'm', version: 'v' } });
    expect(s.finishedAt).toBeDefined();
    expect((await jobs.get(j.id)).model).toEqual({ name: 'm', version: 'v' });
  });

  it('refuse invalid transitions', async () => {
    const j = await jobs.create('alice', {});
    await expect(jobs.transition(j.id, 'succeeded')).rejects.toBeInstanceOf(InvalidTransitionError);
    await jobs.transition(j.id, 'cancelled');
    await expect(jobs.transition(j.id, 'running')).rejects.toThrow(/is cancelled; it cannot become running/);
  });

  it('lose no write under concurrent updates', async () => {
    const j = await jobs.create('alice', {});
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        jobs.update(j.id, (r) => ({ ...r, metrics: { ...(r.metrics ?? {}), [`k${i}`]: i } })),
      ),
    );
    expect(Object.keys((await jobs.get(j.id)).metrics ?? {})).toHaveLength(25);
  });

  it('list by owner, and say so for unknown ids', async () => {
    await jobs.create('bob', {});
    expect((await jobs.list('bob')).map((r) => r.owner)).toEqual(['bob']);
    await expect(jobs.get('no-such-job-id')).rejects.toBeInstanceOf(NotFoundError);
    await expect(jobs.get('../../etc/passwd')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('listing job records while the store misbehaves', () => {
  /** The store of `dir`, whose reads of one key fail as `fail` says (the listing still works). */
  function flaky(key: string, fail: () => Error): ObjectStore {
    const inner = new LocalObjectStore(dir);
    return {
      name: 'flaky',
      get: (k) => (k === key ? Promise.reject(fail()) : inner.get(k)),
      put: (k, b, o) => inner.put(k, b, o),
      delete: (k) => inner.delete(k),
      list: (p) => inner.list(p),
    };
  }

  it('answers 503 when one record cannot be read, instead of a list missing that job', async () => {
    const j = await jobs.create('carol', {});
    const broken = new JobStore(flaky(`jobs/${j.id}.json`, () => new Error('EIO: i/o error')));
    const err = await broken.list('carol').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err).toMatchObject({ status: 503, message: 'the job records cannot be read' });
    const s3Down = new JobStore(
      flaky(`jobs/${j.id}.json`, () => new UnavailableError('the object store is unavailable (get)')),
    );
    await expect(s3Down.list('carol')).rejects.toThrow('the object store is unavailable (get)');
  });

  it('leaves out a record deleted between the listing and its read', async () => {
    const j = await jobs.create('dave', {});
    const kept = await jobs.create('dave', {});
    const store = new LocalObjectStore(dir);
    const racing: ObjectStore = {
      ...flaky('none', () => new Error('unused')),
      get: async (k) => (k === `jobs/${j.id}.json` ? undefined : store.get(k)),
    };
    expect((await new JobStore(racing).list('dave')).map((r) => r.id)).toEqual([kept.id]);
  });
});
