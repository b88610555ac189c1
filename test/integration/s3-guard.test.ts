import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { PreconditionFailedError } from '../../lib/errors.js';
import { JobStore } from '../../lib/jobs/job-store.js';
import { type S3Emulator, startS3Emulator } from '../helpers/s3-emulator.js';

let s3: S3Emulator;
let store: S3ObjectStore;

beforeAll(async () => {
  s3 = await startS3Emulator({ buckets: ['guarded'] });
  store = new S3ObjectStore(s3.client, 'guarded');
});
afterAll(() => s3?.close());

/** The HTTP status of a raw PutObject with S3's conditional headers. */
async function put(key: string, body: string, condition: { IfNoneMatch?: string; IfMatch?: string }) {
  try {
    const r = await s3.client.send(
      new PutObjectCommand({ Bucket: 'guarded', Key: key, Body: body, ...condition }),
    );
    return { status: r.$metadata.httpStatusCode, etag: r.ETag };
  } catch (err) {
    return {
      status: (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
      etag: undefined,
    };
  }
}

describe('the local S3 (s3rver behind bin/s3-guard.ts) keeps S3 conditional writes', () => {
  it('answers 412 to If-None-Match: * on an existing key and leaves the object as it was', async () => {
    expect((await put('a/new.json', 'first', { IfNoneMatch: '*' })).status).toBe(200);
    expect((await put('a/new.json', 'second', { IfNoneMatch: '*' })).status).toBe(412);
    const got = await store.get('a/new.json');
    expect(new TextDecoder().decode(got!.body)).toBe('first');
  });

  it('answers 412 to a stale If-Match, writes with the current ETag, and 404 when there is no object', async () => {
    const v1 = await put('b/rec.json', 'v1', {});
    const v2 = await put('b/rec.json', 'v2', { IfMatch: v1.etag });
    expect(v2.status).toBe(200);
    expect((await put('b/rec.json', 'v3', { IfMatch: v1.etag })).status).toBe(412);
    expect(new TextDecoder().decode((await store.get('b/rec.json'))!.body)).toBe('v2');
    expect((await put('b/none.json', 'x', { IfMatch: v1.etag })).status).toBe(404);
  });

  it('lets exactly one of many simultaneous creates of one key win', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        store.put('c/once.json', `writer ${i}`, { ifNoneMatch: '*' }).then(
          () => 'won',
          (err: unknown) => (err instanceof PreconditionFailedError ? 'refused' : String(err)),
        ),
      ),
    );
    expect(results.filter((r) => r === 'won')).toHaveLength(1);
    expect(results.filter((r) => r === 'refused')).toHaveLength(11);
  });

  it("keeps every one of concurrent updates of a job record (the job store's ETag loop)", async () => {
    const jobs = new JobStore(store);
    const rec = await jobs.create('alice', { name: 'w' });
    await expect(jobs.create('alice', { name: 'again' }, rec.id)).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
    await Promise.all(
      Array.from({ length: 8 }, () => jobs.update(rec.id, (r) => ({ ...r, attempts: r.attempts + 1 }))),
    );
    const after = await jobs.get(rec.id);
    expect(after.attempts).toBe(8);
    expect(after.workflow).toEqual({ name: 'w' });
  });
});
