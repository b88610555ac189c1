import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, UnprocessableError } from '../../lib/errors.js';
import { MemoryQueue } from '../../lib/jobs/queue.js';
import { type Caller, Service } from '../../lib/service/service.js';
import { LocalObjectStore } from '../../lib/storage/local.js';

const alice: Caller = { sub: 'alice', scopes: new Set(['submit']) };
const bob: Caller = { sub: 'bob', scopes: new Set(['submit']) };
const workflow = {
  files: ['s3://hep/a.root', 's3://hep/b.root'],
  labels: [1, 0],
  params: { branch: 'Events' },
};

let dir: string;
let service: Service;
let queue: MemoryQueue;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-service-'));
  queue = new MemoryQueue();
  service = new Service({ store: new LocalObjectStore(dir), queue });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('service operations', () => {
  it('submit returns a queued job that only its owner can see', async () => {
    const { job_id, status } = await service.submit(alice, workflow);
    expect(status).toBe('queued');
    expect((await service.getJob(alice, job_id)).status).toBe('queued');
    expect((await service.listJobs(alice)).map((j) => j.job_id)).toContain(job_id);
    expect(await service.listJobs(bob)).toEqual([]);
    await expect(service.getJob(bob, job_id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.cancelJob(bob, job_id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('cancelling a queued job means it never starts; cancelling twice is a conflict', async () => {
    const { job_id } = await service.submit(alice, workflow);
    expect((await service.cancelJob(alice, job_id)).status).toBe('cancelled');
    await expect(service.cancelJob(alice, job_id)).rejects.toThrow(
      /is cancelled; it cannot become cancelled/,
    );
  });

  it('refuses a bad model section at submit with 422 naming the field, before recording anything', async () => {
    const before = queue.size;
    const jobs = (await service.listJobs(alice)).length;
    const bad = [
      [{ layers: [{ type: 'dense', units: 0 }] }, /model\.layers\[0\]\.units/],
      [{ layers: [{ type: 'dense', units: 8 }], optimiser: 'adam' }, /model: .*"optimiser"/],
      [
        { keras: { class_name: 'Sequential', config: { layers: [{ config: {} }] } } },
        /model\.keras\.config\.layers\[0\]\.class_name/,
      ],
      [{ keras: '{not json' }, /model\.keras is not valid JSON/],
    ] as const;
    for (const [model, message] of bad) {
      const err = await service.submit(alice, { ...workflow, model }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnprocessableError);
      expect((err as UnprocessableError).status).toBe(422);
      expect((err as Error).message).toMatch(message);
    }
    expect(queue.size).toBe(before);
    expect((await service.listJobs(alice)).length).toBe(jobs);
  });

  it('refuses sources outside the allow-list before recording anything', async () => {
    const strict = new Service({
      store: new LocalObjectStore(dir),
      queue,
      checkSources: (files) => {
        for (const f of files) if (!f.startsWith('s3://hep/')) throw new NotFoundError(`not allowed: ${f}`);
      },
    });
    const before = queue.size;
    await expect(
      strict.submit(alice, { ...workflow, files: ['/etc/passwd', 's3://hep/b.root'] }),
    ).rejects.toThrow(/not allowed/);
    expect(queue.size).toBe(before);
  });
});
