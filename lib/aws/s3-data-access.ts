import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { DataAccess, PresignedPut } from '../data/files.js';
import { openRoot } from '../root/index.js';

/** How long an upload URL stays valid: long enough for a few GB on a slow link, short enough to leak little. */
const EXPIRES_SECONDS = 3600;

/**
 * Training data in an S3 bucket: workflows name it s3://bucket/key, the trainer reads it with the
 * same client, and the browser uploads to it with a presigned PUT. The URL signs Content-Length,
 * so S3 refuses a body of any other size than the one the API allowed.
 */
export function s3DataAccess(client: S3Client, bucket: string, prefix = ''): DataAccess {
  return {
    sourceOf: (key) => `s3://${bucket}/${prefix}${key}`,
    async presignPut(key, bytes): Promise<PresignedPut> {
      const command = new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${key}`, ContentLength: bytes });
      const url = await getSignedUrl(client, command, {
        expiresIn: EXPIRES_SECONDS,
        signableHeaders: new Set(['content-length']),
      });
      return { url, headers: { 'content-length': String(bytes) }, expiresIn: EXPIRES_SECONDS };
    },
    openFile: (source) => openRoot(source, { s3Client: client }),
  };
}
