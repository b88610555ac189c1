import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { UnavailableError } from '../errors.js';
import type { JobMessage, JobQueue, ReceivedMessage } from '../jobs/queue.js';

/** An SQS client, with an endpoint override for local emulators. */
export function createSqsClient(options: { endpoint?: string; region?: string } = {}): SQSClient {
  return new SQSClient({
    region: options.region ?? (options.endpoint ? 'us-east-1' : undefined),
    ...(options.endpoint
      ? { endpoint: options.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new UnavailableError(`the job queue is unavailable (${what})`, { cause: err });
  }
}

/** The job queue on SQS; the dead-letter redrive after repeated failures is the queue's own policy. */
export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: JobMessage): Promise<void> {
    await call('send', () =>
      this.client.send(
        new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message) }),
      ),
    );
  }

  async receive(waitSeconds: number, visibilitySeconds: number): Promise<ReceivedMessage | undefined> {
    const r = await call('receive', () =>
      this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: 1,
          WaitTimeSeconds: waitSeconds,
          VisibilityTimeout: visibilitySeconds,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          // the older name, still what some SQS-compatible servers read
          ...({ AttributeNames: ['ApproximateReceiveCount'] } as object),
        }),
      ),
    );
    const m = r.Messages?.[0];
    if (!m?.ReceiptHandle) return undefined;
    return {
      body: m.Body ?? '',
      receipt: m.ReceiptHandle,
      receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
    };
  }

  async extend(message: ReceivedMessage, visibilitySeconds: number): Promise<void> {
    await call('extend', () =>
      this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: message.receipt,
          VisibilityTimeout: visibilitySeconds,
        }),
      ),
    );
  }

  async delete(message: ReceivedMessage): Promise<void> {
    await call('delete', () =>
      this.client.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: message.receipt })),
    );
  }

  async release(message: ReceivedMessage): Promise<void> {
    await this.extend(message, 0);
  }
}
