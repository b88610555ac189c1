import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MlaasError, UnavailableError } from '../../errors.js';
import { RootFileNotFoundError, SourceChangedError } from '../errors.js';
import { checkRanges, coalesceRanges, type MergedRange, splitMerged } from './coalesce.js';
import { forEachConcurrent } from './concurrency.js';
import type { ByteRange, ByteSource, CoalesceOptions } from './types.js';

export interface S3SourceOptions extends CoalesceOptions {
  /** Ranged GETs in flight at once (default 8). */
  concurrency?: number;
  /** Abort a request after this many ms (default 30 s). */
  timeoutMs?: number;
}

interface Meta {
  size: number;
  etag?: string;
  lastModified?: Date;
}

/** Reads an S3 object with ranged GETs, one per coalesced range, pinned to the ETag seen first. */
export class S3Source implements ByteSource {
  readonly name: string;
  private meta: Promise<Meta> | undefined;

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    readonly key: string,
    private readonly options: S3SourceOptions = {},
  ) {
    this.name = `s3://${bucket}/${key}`;
  }

  async size(): Promise<number> {
    return (await this.info()).size;
  }

  async fingerprint(): Promise<string> {
    const m = await this.info();
    if (m.etag) return m.etag;
    return `size=${m.size};mtime=${m.lastModified?.getTime() ?? 0}`;
  }

  async read(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const meta = await this.info();
    checkRanges(this.name, ranges, meta.size);
    const merged = coalesceRanges(ranges, this.options.gap, this.options.maxRequestBytes);
    const bodies: Uint8Array[] = merged.map(() => new Uint8Array(0));
    const todo = merged.flatMap((m, i) => (m.length > 0 ? [i] : []));
    await forEachConcurrent(todo, this.options.concurrency ?? 8, async (i) => {
      bodies[i] = await this.get(meta, merged[i]);
    });
    return splitMerged(merged, bodies, ranges.length);
  }

  async close(): Promise<void> {
    // the client is the caller's, shared by every source it opens
    this.meta = undefined;
  }

  private info(): Promise<Meta> {
    // A failed HEAD is not cached: a throttled or unreachable store may answer next time.
    this.meta ??= this.head().catch((err: unknown) => {
      this.meta = undefined;
      throw err;
    });
    return this.meta;
  }

  private async head(): Promise<Meta> {
    const head = new HeadObjectCommand({ Bucket: this.bucket, Key: this.key });
    const res = await this.call((abortSignal) => this.client.send(head, { abortSignal }));
    if (res.ContentLength === undefined) throw new UnavailableError(`${this.name}: HeadObject gave no size`);
    return { size: res.ContentLength, etag: res.ETag, lastModified: res.LastModified };
  }

  private async get(meta: Meta, { offset, length }: MergedRange): Promise<Uint8Array> {
    // Never a suffix range (bytes=-N): some S3-compatible servers get those wrong.
    const range = `bytes=${offset}-${offset + length - 1}`;
    const get = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.key,
      Range: range,
      IfMatch: meta.etag,
    });
    const res = await this.call((abortSignal) => this.client.send(get, { abortSignal }));
    // Some S3-compatible servers ignore If-Match; the ETag they return still tells us.
    if (meta.etag && res.ETag && res.ETag !== meta.etag) {
      await res.Body?.transformToByteArray().catch(() => undefined);
      throw new SourceChangedError(this.name, `ETag was ${meta.etag}, now ${res.ETag}`);
    }
    const cr = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.ContentRange ?? '');
    if (cr && Number(cr[3]) !== meta.size) {
      throw new SourceChangedError(this.name, `size was ${meta.size} bytes, now ${cr[3]}`);
    }
    if (!res.Body || (cr && Number(cr[1]) !== offset)) {
      throw new UnavailableError(
        `${this.name} answered ${range} with ${res.ContentRange ?? 'no Content-Range'}`,
      );
    }
    const body = await res.Body.transformToByteArray().catch((err: unknown) => this.fail(err));
    if (body.length !== length) {
      throw new UnavailableError(`${this.name} sent ${body.length} bytes for ${range} (expected ${length})`);
    }
    return body;
  }

  private async call<T>(send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await send(AbortSignal.timeout(this.options.timeoutMs ?? 30_000));
    } catch (err) {
      return this.fail(err);
    }
  }

  /** Translates SDK errors into the project's typed errors. */
  private fail(err: unknown): never {
    if (err instanceof MlaasError) throw err;
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const code = e.name ?? 'Error';
    const status = e.$metadata?.httpStatusCode;
    const opts = { cause: err };
    if (code === 'NoSuchBucket')
      throw new RootFileNotFoundError(this.name, `no bucket "${this.bucket}"`, opts);
    if (code === 'NoSuchKey') throw new RootFileNotFoundError(this.name, 'no such key', opts);
    // HeadObject answers 404 without a body, so a missing key and a missing bucket look alike.
    if (code === 'NotFound' || status === 404)
      throw new RootFileNotFoundError(this.name, 'no such key or bucket', opts);
    if (code === 'AccessDenied' || status === 401 || status === 403) {
      throw new RootFileNotFoundError(this.name, `access denied (${code})`, opts);
    }
    if (code === 'PermanentRedirect' || status === 301) {
      throw new RootFileNotFoundError(this.name, 'the bucket is in another region than the client', opts);
    }
    if (code === 'PreconditionFailed' || status === 412) {
      throw new SourceChangedError(this.name, 'the object has a new ETag');
    }
    if (code === 'InvalidRange' || status === 416) {
      throw new SourceChangedError(this.name, 'the object is now shorter');
    }
    const why =
      code === 'AbortError' || code === 'TimeoutError' ? 'no answer in time' : `${code}: ${e.message}`;
    throw new UnavailableError(`${this.name} could not be read: ${why}`, opts);
  }
}
