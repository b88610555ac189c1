import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import Module, { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { startS3Guard } from '../../bin/s3-guard.js';
import { createS3Client } from '../../lib/aws/s3-client.js';
import { createSqsClient } from '../../lib/aws/sqs-client.js';

// SDK 3.x warns once per process that Node 20 support is ending; the warning is noise in test output
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const require = createRequire(import.meta.url);
export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';

type CreateSqsServer = (o: {
  port: number;
  hostname: string;
  region: string;
  accountId: string;
}) => Promise<Server>;
let createSqsServer: CreateSqsServer | undefined;

/**
 * local-aws-sqs 2.0.2, corrected in one place: it counts every ChangeMessageVisibility as a receive
 * (it bumps ApproximateReceiveCount), where SQS counts only receives. Under a redrive policy that
 * would dead-letter any job whose visibility was extended a few times (every running job: the
 * trainer's heartbeat) and cut retries short, so tests would check the emulator, not our code.
 * The bundle is loaded from its own path with that one expression changed; a newer version
 * without it fails here loudly rather than silently.
 */
function loadSqs(): CreateSqsServer {
  if (createSqsServer) return createSqsServer;
  const file = require.resolve('local-aws-sqs');
  const bug = 'ApproximateReceiveCount)+1;t.record.attributes.ApproximateReceiveCount=String(n)';
  const source = readFileSync(file, 'utf8');
  if (!source.includes(bug))
    throw new Error(`${file} changed: check whether ChangeMessageVisibility still counts as a receive`);
  // `i` is set on a visibility change and unset on a receive
  const fixed = source.replace(bug, bug.replace('+1;', '+(i?0:1);'));
  const m = new Module(file) as Module & { _compile(code: string, filename: string): void };
  m.filename = file;
  m.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(
    dirname(file),
  );
  m._compile(fixed, file);
  createSqsServer = (m.exports as { createSqsServer: CreateSqsServer }).createSqsServer;
  return createSqsServer;
}

/** What both emulators offer: stop it as an outage would, start it again on the same port. */
export interface Restartable {
  endpoint: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface SqsEmulator extends Restartable {
  client: SQSClient;
  /**
   * A queue whose messages go to `<name>-dlq` after `maxReceiveCount` receives, like the
   * deployment's (serverless.yml), or without a redrive policy when maxReceiveCount is 0.
   */
  queue(name: string, maxReceiveCount?: number): Promise<{ url: string; dlqUrl?: string }>;
  /** every message now visible on a queue (received and left hidden for a minute) */
  drain(url: string): Promise<Array<{ body: string; attributes: Record<string, string> }>>;
}

/** An SQS emulator on 127.0.0.1. It keeps queues in memory: start() after stop() re-creates them (empty). */
export async function startSqs(): Promise<SqsEmulator> {
  const createServer = loadSqs();
  const open = (port: number) =>
    createServer({ port, hostname: '127.0.0.1', region: REGION, accountId: ACCOUNT });
  let server = await open(0);
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createSqsClient({ endpoint });
  // what start() re-creates after stop(): CreateQueue again gives the same URL
  const made: Array<{ name: string; attributes?: Record<string, string> }> = [];
  const create = async (name: string, attributes?: Record<string, string>) =>
    (await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
  const shut = async () => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    await closed;
  };
  return {
    endpoint,
    client,
    async queue(name, maxReceiveCount = 3) {
      const redrive = maxReceiveCount > 0;
      const attributes = redrive
        ? {
            RedrivePolicy: JSON.stringify({
              maxReceiveCount,
              deadLetterTargetArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}-dlq`,
            }),
          }
        : undefined;
      if (redrive) made.push({ name: `${name}-dlq` });
      made.push({ name, attributes });
      const dlqUrl = redrive ? await create(`${name}-dlq`) : undefined;
      return { url: await create(name, attributes), dlqUrl };
    },
    async drain(url) {
      const out: Array<{ body: string; attributes: Record<string, string> }> = [];
      for (;;) {
        const r = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 60,
            MessageAttributeNames: ['All'],
          }),
        );
        if (!r.Messages?.length) return out;
        for (const m of r.Messages) {
          const attributes: Record<string, string> = {};
          for (const [k, v] of Object.entries(m.MessageAttributes ?? {})) attributes[k] = v.StringValue ?? '';
          out.push({ body: m.Body ?? '', attributes });
        }
      }
    },
    stop: shut,
    async start() {
      server = await open(port);
      for (const q of made) await create(q.name, q.attributes);
    },
    async close() {
      client.destroy();
      if (server.listening) await shut();
    },
  };
}

interface S3rver {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (o: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: Array<{ name: string }>;
}) => S3rver;

export interface S3Emulator extends Restartable {
  /** a client with short timeouts and few retries, as a service that must not hang would have */
  client: S3Client;
}

/**
 * s3rver on 127.0.0.1 with its own directory, which outlives stop() and start() (like S3's data),
 * behind the guard that gives it S3's conditional writes (bin/s3-guard.ts); stop() stops both.
 */
export async function startS3(bucket: string): Promise<S3Emulator> {
  const S3rver = require('s3rver') as S3rverConstructor;
  const directory = await mkdtemp(join(tmpdir(), 'mlaas4hep-s3rver-'));
  const open = async (p: number) => {
    const s = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory,
      configureBuckets: [{ name: bucket }],
    });
    const upstream = `http://127.0.0.1:${(await s.run()).port}`;
    const guard = await startS3Guard({ upstream, port: p });
    return { s, guard, port: guard.port };
  };
  let { s: server, guard, port } = await open(0);
  let running = true;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createS3Client({
    endpoint,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    timeoutMs: 3_000,
    maxAttempts: 2,
  });
  const shut = async () => {
    // an outage drops connections in flight too, not only new ones
    const closed = Promise.all([guard.close(), server.close()]);
    server.httpServer?.closeAllConnections();
    await closed;
    running = false;
  };
  return {
    endpoint,
    client,
    stop: shut,
    async start() {
      ({ s: server, guard, port } = await open(port));
      running = true;
    },
    async close() {
      client.destroy();
      if (running) await shut();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
