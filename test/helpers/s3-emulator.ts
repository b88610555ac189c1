import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startS3Guard } from '../../bin/s3-guard.js';
import { createS3Client } from '../../lib/aws/s3-client.js';

// SDK 3.x warns once per process that Node 20 support is ending; the warning is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The part of s3rver's (untyped, CommonJS) API used here. */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: Array<{ name: string; configs?: string[] }>;
}) => S3rverInstance;

export interface S3Emulator {
  endpoint: string;
  /** A client for the emulator (path-style, S3RVER/S3RVER credentials, us-east-1). */
  client: S3Client;
  put(bucket: string, key: string, content: Uint8Array | string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts s3rver in-process on 127.0.0.1 (ephemeral port, temporary directory) behind the guard that
 * gives it S3's conditional writes (bin/s3-guard.ts). A string `content` is a file path.
 */
export async function startS3Emulator(
  options: { buckets?: string[] /** a bucket CORS configuration (XML), for browsers */; cors?: string } = {},
): Promise<S3Emulator> {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: (options.buckets ?? []).map((name) => ({
      name,
      ...(options.cors ? { configs: [options.cors] } : {}),
    })),
  });
  const { port } = await server.run();
  const guard = await startS3Guard({ upstream: `http://127.0.0.1:${port}` });
  const endpoint = guard.endpoint;
  const client = createS3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return {
    endpoint,
    client,
    async put(bucket, key, content) {
      const body = typeof content === 'string' ? await readFile(content) : content;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async close() {
      client.destroy();
      await guard.close();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
