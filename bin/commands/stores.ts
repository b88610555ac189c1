import { resolve } from 'node:path';
import { s3DataAccess } from '../../lib/aws/s3-data-access.js';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import type { DataAccess } from '../../lib/data/files.js';
import { InvalidInputError } from '../../lib/errors.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { localDataAccess } from '../../lib/storage/local-data-access.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { cliS3Client } from './args.js';

/** A model store from a CLI location: a local directory or s3://bucket/prefix. */
export function storeAt(location: string, env: NodeJS.ProcessEnv = process.env): ObjectStore {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (s3) {
    const prefix = s3[2] && !s3[2].endsWith('/') ? `${s3[2]}/` : s3[2];
    return new S3ObjectStore(cliS3Client(env), s3[1], prefix);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location))
    throw new InvalidInputError(`a model store is a local folder or s3://bucket/prefix, not "${location}"`);
  return new LocalObjectStore(location);
}

/** The training data beside a store: its data/ and incoming/ folders (or prefixes). */
export function dataAccessAt(location: string, env: NodeJS.ProcessEnv = process.env): DataAccess {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (s3) {
    const prefix = s3[2] && !s3[2].endsWith('/') ? `${s3[2]}/` : s3[2];
    return s3DataAccess(cliS3Client(env), s3[1], prefix);
  }
  return localDataAccess(resolve(location));
}
