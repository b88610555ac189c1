import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { PreconditionFailedError, UnavailableError } from '../errors.js';
import {
  checkKey,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
  toBytes,
} from '../storage/object-store.js';

interface AwsError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

const status = (err: unknown): number | undefined => (err as AwsError).$metadata?.httpStatusCode;

function unavailable(err: unknown, what: string): never {
  const s = status(err);
  if (s === undefined || s >= 500 || s === 429 || (err as AwsError).name === 'TimeoutError') {
    throw new UnavailableError(`the object store is unavailable (${what})`, { cause: err });
  }
  throw err;
}

/** An object store in an S3 bucket (under an optional prefix), with conditional writes. */
export class S3ObjectStore implements ObjectStore {
  readonly name: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix = '',
  ) {
    this.name = `s3://${bucket}/${prefix}`;
  }

  private key(key: string): string {
    return `${this.prefix}${checkKey(key)}`;
  }

  async get(key: string): Promise<StoredObject | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      const body = await r.Body!.transformToByteArray();
      return { body, etag: r.ETag ?? '' };
    } catch (err) {
      if ((err as AwsError).name === 'NoSuchKey' || status(err) === 404) return undefined;
      return unavailable(err, `reading ${key}`);
    }
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    try {
      const r = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key(key),
          Body: toBytes(body),
          ContentType: options.contentType,
          IfMatch: options.ifMatch,
          IfNoneMatch: options.ifNoneMatch,
        }),
      );
      return { etag: r.ETag ?? '' };
    } catch (err) {
      if (status(err) === 412 || (err as AwsError).name === 'PreconditionFailed')
        throw new PreconditionFailedError(key);
      if (status(err) === 409) throw new PreconditionFailedError(key);
      return unavailable(err, `writing ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
    } catch (err) {
      unavailable(err, `deleting ${key}`);
    }
  }

  async list(prefix: string): Promise<Array<{ key: string; size: number; etag: string }>> {
    const out: Array<{ key: string; size: number; etag: string }> = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: `${this.prefix}${prefix}`,
            ContinuationToken: token,
          }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key)
            out.push({ key: o.Key.slice(this.prefix.length), size: o.Size ?? 0, etag: o.ETag ?? '' });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      unavailable(err, `listing ${prefix}`);
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }
}
