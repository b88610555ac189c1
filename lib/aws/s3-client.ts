import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface S3ClientOptions {
  /** Override, e.g. a local emulator; implies path-style addressing unless forcePathStyle says otherwise. */
  endpoint?: string;
  /** Defaults to the SDK's own resolution (AWS_REGION, profile), or us-east-1 with an endpoint override. */
  region?: string;
  forcePathStyle?: boolean;
  credentials?: S3ClientConfig['credentials'];
  /** Per-request timeout in ms, also used as the socket idle timeout (default 30 s). */
  timeoutMs?: number;
  /** Attempts including the SDK's own retries of throttling, 5xx and network errors (default 3). */
  maxAttempts?: number;
}

/**
 * The one S3 client factory (AWS client factories live in lib/aws): built once per process, at cold
 * start or by a test pointing at an emulator, and injected into the byte sources and object stores.
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const timeout = options.timeoutMs ?? 30_000;
  const config: S3ClientConfig = {
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: Math.min(timeout, 5_000),
      requestTimeout: timeout,
      // Without it the handler only logs a warning when requestTimeout passes.
      throwOnRequestTimeout: true,
      socketTimeout: timeout,
    },
    // S3-compatible stores (Ceph at CERN, emulators) often reject the newer default checksum headers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  const region = options.region ?? (options.endpoint !== undefined ? 'us-east-1' : undefined);
  if (region !== undefined) config.region = region;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  return new S3Client(config);
}
