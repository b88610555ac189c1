import { describe, expect, it } from 'vitest';
import { NotFoundError, UnprocessableError } from '../../lib/errors.js';
import { Service } from '../../lib/service/service.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { alice, bob, twoFileWorkflow, useLocalService } from '../helpers/local-service.js';

const workflow = twoFileWorkflow;
const local = useLocalService('service');

describe('service operations', () => {
  it('submit returns a queued job that only its owner can see', async () => {
    const { job_id, status } = await local.service.submit(alice, workflow);
    expect(status).toBe('queued');
    expect((await local.service.getJob(alice, job_id)).status).toBe('queued');
    expect((await local.service.listJobs(alice)).map((j) => j.job_id)).toContain(job_id);
    expect(await local.service.listJobs(bob)).toEqual([]);
    await expect(local.service.getJob(bob, job_id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(local.service.cancelJob(bob, job_id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('cancelling a queued job means it never starts; cancelling twice is a conflict', async () => {
    const { job_id } = await local.service.submit(alice, workflow);
    expect((await local.service.cancelJob(alice, job_id)).status).toBe('cancelled');
    await expect(local.service.cancelJob(alice, job_id)).rejects.toThrow(
      /is cancelled; it cannot become cancelled/,
    );
  });

  it('refuses a bad model section at submit with 422 naming the field, before recording anything', async () => {
    const before = local.queue.size;
    const jobs = (await local.service.listJobs(alice)).length;
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
      const err = await local.service.submit(alice, { ...workflow, model }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnprocessableError);
      expect((err as UnprocessableError).status).toBe(422);
      expect((err as Error).message).toMatch(message);
    }
    expect(local.queue.size).toBe(before);
    expect((await local.service.listJobs(alice)).length).toBe(jobs);
  });

  it('refuses sources outside the allow-list before recording anything', async () => {
    const strict = new Service({
      store: new LocalObjectStore(local.dir),
      queue: local.queue,
      checkSources: (files) => {
        for (const f of files) if (!f.startsWith('s3://hep/')) throw new NotFoundError(`not allowed: ${f}`);
      },
    });
    const before = local.queue.size;
    await expect(
      strict.submit(alice, { ...workflow, files: ['/etc/passwd', 's3://hep/b.root'] }),
    ).rejects.toThrow(/not allowed/);
    expect(local.queue.size).toBe(before);
  });
});
