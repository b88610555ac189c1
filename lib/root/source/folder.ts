import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { InvalidInputError, MisconfiguredError } from '../../errors.js';
import { RootFileNotFoundError } from '../errors.js';

/**
 * Every .root file in a folder spec: `s3://bucket/prefix/` (all objects under the prefix, paged)
 * or a local directory ending in "/". Sorted, so a dataset's file order is stable.
 */
export async function listRootFiles(
  spec: string,
  options: { s3Client?: S3Client; allowLocal?: boolean } = {},
): Promise<string[]> {
  const s3 = /^s3:\/\/([^/]+)\/(.*)$/.exec(spec);
  if (s3) {
    const [, bucket, prefix] = s3;
    const client = options.s3Client;
    if (!client) throw new MisconfiguredError(`no S3 client to list ${spec} with`);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client
        .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
        .catch((err: { name?: string }) => {
          if (err.name === 'NoSuchBucket') throw new RootFileNotFoundError(spec, 'no such bucket');
          throw err;
        });
      for (const o of page.Contents ?? []) if (o.Key?.endsWith('.root')) keys.push(`s3://${bucket}/${o.Key}`);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec))
    throw new InvalidInputError(`folders can only be listed on S3 or local disk: "${spec}"`);
  if (options.allowLocal === false)
    throw new InvalidInputError(`local folders cannot be read here ("${spec}")`);
  const names = await readdir(spec).catch(() => {
    throw new RootFileNotFoundError(spec, 'no such folder');
  });
  return names
    .filter((n) => n.endsWith('.root'))
    .map((n) => join(spec, n))
    .sort();
}
