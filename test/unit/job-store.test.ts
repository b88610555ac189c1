import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidTransitionError, NotFoundError } from '../../lib/errors.js';
import { JobStore } from '../../lib/jobs/job-store.js';
import { LocalObjectStore } from '../../lib/storage/local.js';

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
