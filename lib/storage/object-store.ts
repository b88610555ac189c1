import { InvalidInputError, truncateName } from '../errors.js';

export interface StoredObject {
  body: Uint8Array;
  etag: string;
}

export interface PutOptions {
  contentType?: string;
  /** write only if the current object has this ETag (optimistic concurrency) */
  ifMatch?: string;
  /** write only if no object exists under the key */
  ifNoneMatch?: '*';
}

/**
 * Where bundles, job records and specs live: S3 in a deployment, a directory locally. Keys are
 * "/"-separated relative paths; implementations refuse keys that would escape their root.
 */
export interface ObjectStore {
  readonly name: string;
  get(key: string): Promise<StoredObject | undefined>;
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }>;
  delete(key: string): Promise<void>;
  /** keys under a prefix, sorted */
  list(prefix: string): Promise<Array<{ key: string; size: number; etag: string }>>;
  /**
   * A token that changes whenever the object is rewritten, without reading its body (undefined
   * when there is no object): the cheap check behind per-request revalidation. Compare stamps only
   * with stamps of the same store; they need not equal `get`'s ETag.
   */
  stamp?(key: string): Promise<string | undefined>;
}

const SAFE_KEY = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._~@=+,\-/ ]+$/;

export function checkKey(key: string): string {
  if (!SAFE_KEY.test(key) || key.includes('//'))
    throw new InvalidInputError(`invalid object key "${truncateName(key)}"`);
  return key;
}

export function toBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === 'string' ? new TextEncoder().encode(body) : body;
}
