import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { MemoryQueue } from '../../lib/jobs/queue.js';
import { type Caller, Service } from '../../lib/service/service.js';
import { LocalObjectStore } from '../../lib/storage/local.js';

export const alice: Caller = { sub: 'alice', scopes: new Set(['submit']) };
export const bob: Caller = { sub: 'bob', scopes: new Set(['submit']) };

/** A workflow the service accepts (its files are never read: nothing consumes the queue). */
export const twoFileWorkflow = {
  files: ['s3://hep/a.root', 's3://hep/b.root'],
  labels: [1, 0],
  params: { branch: 'Events' },
};

/**
 * A Service on a local store in a temporary folder with an in-memory queue, made before the file's
 * tests and removed after them; read its parts inside the tests (they exist from beforeAll on).
 */
export function useLocalService(prefix: string): { service: Service; queue: MemoryQueue; dir: string } {
  const parts = {} as { service: Service; queue: MemoryQueue; dir: string };
  beforeAll(async () => {
    parts.dir = await mkdtemp(join(tmpdir(), `mlaas4hep-${prefix}-`));
    parts.queue = new MemoryQueue();
    parts.service = new Service({ store: new LocalObjectStore(parts.dir), queue: parts.queue });
  });
  afterAll(async () => {
    await rm(parts.dir, { recursive: true, force: true });
  });
  return parts;
}
