import { SQSClient } from '@aws-sdk/client-sqs';

export interface SqsClientOptions {
  /** e.g. a local emulator */
  endpoint?: string;
  region?: string;
  /** attempts, the SDK's own retries of throttling, 5xx and network errors included (default 3) */
  maxAttempts?: number;
}

/**
 * An SQS client, with an endpoint override for local emulators. Timeouts are short and retries
 * few, so that an unreachable queue is a prompt 503 rather than a request that hangs.
 */
export function createSqsClient(options: SqsClientOptions = {}): SQSClient {
  return new SQSClient({
    region: options.region ?? (options.endpoint ? 'us-east-1' : undefined),
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: 3_000,
      // a receive long-polls up to 20 s; every other call is bounded tighter by `call` below
      requestTimeout: 30_000,
      // without it the handler only logs a warning when requestTimeout passes
      throwOnRequestTimeout: true,
    },
    ...(options.endpoint
      ? { endpoint: options.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
}
