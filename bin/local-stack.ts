import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { devIssuerEnv } from '../lib/auth/dev-issuer.js';
import { startDevLogin } from '../lib/auth/dev-login.js';
import { createS3Client } from '../lib/aws/s3-client.js';
import { S3ObjectStore } from '../lib/aws/s3-object-store.js';
import { createSqsClient } from '../lib/aws/sqs-client.js';
import { SqsJobQueue } from '../lib/aws/sqs-queue.js';
import { JobStore } from '../lib/jobs/job-store.js';
import { openRoot } from '../lib/root/index.js';
import { consumeQueue } from '../lib/trainer/worker.js';
import { initBackend } from '../lib/training/backend.js';
import { keptDevIssuer } from './commands/dev-issuer-key.js';
import { startS3Guard } from './s3-guard.js';

const require = createRequire(import.meta.url);
export const BUCKET = 'mlaas4hep-local';

/** the console uploads from its own origin straight to the bucket with presigned PUTs */
export const UPLOAD_CORS = `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>`;

export interface LocalStack {
  apiUrl: string;
  /** the web console, served by the console function beside the API */
  consoleUrl: string;
  /** the development issuer's login page (the console's sign-in) */
  loginUrl: string;
  bucket: string;
  queueUrl: string;
  s3Endpoint: string;
  token(sub: string, scopes: string[]): string;
  put(key: string, body: Uint8Array): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

interface S3rverLike {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  on(
    event: 'event',
    fn: (e: { Records: Array<{ s3: { bucket: { name: string }; object: { key: string } } }> }) => void,
  ): void;
}

/**
 * The whole service on this machine, on 127.0.0.1 only: an S3 emulator (s3rver, behind the guard
 * that gives it S3's conditional writes) that fires upload events, an SQS emulator, a development
 * token issuer, the Lambda functions under serverless-offline, and a trainer consuming the queue
 * in this process.
 */
export async function startLocalStack(o: {
  dataDir: string;
  log?(line: string): void;
  worker?: boolean;
}): Promise<LocalStack> {
  const log = o.log ?? (() => {});
  const [s3Port, sqsPort, httpPort, lambdaPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  await mkdir(join(o.dataDir, 's3'), { recursive: true });
  const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => S3rverLike;
  const s3 = new S3rver({
    port: 0,
    address: '127.0.0.1',
    directory: join(o.dataDir, 's3'),
    silent: true,
    configureBuckets: [{ name: BUCKET, configs: [UPLOAD_CORS] }],
  });
  const { port: s3rverPort } = await s3.run();
  // s3rver ignores If-None-Match / If-Match on PUT; the guard answers them as S3 does (412)
  const guard = await startS3Guard({ upstream: `http://127.0.0.1:${s3rverPort}`, port: s3Port });
  const s3Endpoint = guard.endpoint;
  const { createSqsServer } = await import('local-aws-sqs');
  const sqs = await createSqsServer({ port: sqsPort, hostname: '127.0.0.1' });
  const sqsClient = createSqsClient({ endpoint: `http://127.0.0.1:${sqsPort}` });
  const { QueueUrl } = await sqsClient.send(new CreateQueueCommand({ QueueName: 'mlaas4hep-jobs' }));
  const queueUrl = QueueUrl!;
  const dev = await keptDevIssuer(o.dataDir);
  const login = await startDevLogin(dev);
  const env = {
    ...process.env,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    MLAAS4HEP_BUCKET: BUCKET,
    MLAAS4HEP_QUEUE_URL: queueUrl,
    // serverless offline hands every AWS_* variable to the functions, as the SDKs name the overrides
    AWS_ENDPOINT_URL_S3: s3Endpoint,
    AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${sqsPort}`,
    ...devIssuerEnv(dev),
    MLAAS4HEP_OIDC_AUTHORIZATION_URL: login.oidc.authorizationEndpoint,
    MLAAS4HEP_OIDC_TOKEN_URL: login.oidc.tokenEndpoint,
    MLAAS4HEP_OIDC_CLIENT_ID: login.oidc.clientId,
    MLAAS4HEP_OIDC_SCOPE: login.oidc.scope,
    MLAAS4HEP_CONSOLE_CONNECT: s3Endpoint,
  };
  const cli = require.resolve('serverless/bin/serverless.js');
  const offline: ChildProcess = spawn(
    process.execPath,
    [cli, 'offline', '--stage', 'local', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort)],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('serverless offline did not start within 300 s')),
      // it bundles every function first: minutes on a loaded two-core machine
      300_000,
    );
    const watch = (chunk: Buffer) => {
      const text = chunk.toString();
      for (const line of text.split('\n')) if (line.trim()) log(`[offline] ${line}`);
      if (text.includes('Server ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    offline.stdout?.on('data', watch);
    offline.stderr?.on('data', watch);
    offline.once('exit', (code) => reject(new Error(`serverless offline exited (${code})`)));
  });
  // s3rver fires S3 notifications; deliver incoming/**.root ones to the onUpload function, as S3 would
  s3.on('event', (e) => {
    const records = e.Records.filter(
      (r) => r.s3.object.key.startsWith('incoming/') && r.s3.object.key.endsWith('.root'),
    );
    if (!records.length) return;
    fetch(`http://127.0.0.1:${lambdaPort}/2015-03-31/functions/mlaas4hep-local-onUpload/invocations`, {
      method: 'POST',
      body: JSON.stringify({ ...e, Records: records }),
    })
      .then((r) => r.text())
      .then((t) => log(`[on-upload] ${t}`))
      .catch((err: Error) => log(`[on-upload] ${err.message}`));
  });
  const s3Client = createS3Client({
    endpoint: s3Endpoint,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const store = new S3ObjectStore(s3Client, BUCKET);
  const stop = new AbortController();
  const worker =
    o.worker === false
      ? undefined
      : consumeQueue(
          new SqsJobQueue(sqsClient, queueUrl),
          new JobStore(store),
          {
            models: store,
            dataset: { openFile: (spec) => openRoot(spec, { s3Client }) },
            backend: await initBackend(),
            pollMs: 500,
          },
          {
            signal: stop.signal,
            waitSeconds: 1,
            visibilitySeconds: 120,
            log: (e) => log(`[trainer] ${JSON.stringify(e)}`),
          },
        );
  return {
    apiUrl: `http://127.0.0.1:${httpPort}`,
    consoleUrl: `http://127.0.0.1:${httpPort}/console`,
    loginUrl: login.url,
    bucket: BUCKET,
    queueUrl,
    s3Endpoint,
    token: (sub, scopes) => dev.mint({ sub, scopes }),
    put: async (key, body) => {
      await store.put(key, body);
    },
    async stop() {
      stop.abort();
      await worker?.catch(() => undefined);
      offline.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      if (offline.exitCode === null) offline.kill('SIGKILL');
      await guard.close();
      await s3.close();
      await login.stop();
      await new Promise<void>((r) => sqs.close(() => r()));
      sqsClient.destroy();
      s3Client.destroy();
    },
  };
}
