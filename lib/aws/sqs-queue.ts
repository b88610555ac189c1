import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { UnavailableError } from '../errors.js';
import type { JobMessage, JobQueue, ReceivedMessage } from '../jobs/queue.js';

/** A send, extend or delete that takes longer than this is a queue in trouble (retries included). */
const CALL_MS = 10_000;

async function call<T>(what: string, ms: number, fn: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  try {
    return await fn(AbortSignal.timeout(ms));
  } catch (err) {
    throw new UnavailableError(`the job queue is unavailable (${what})`, { cause: err });
  }
}

export interface SqsJobQueueOptions {
  /**
   * The dead-letter queue's URL, for moving poisoned messages aside at once (needs
   * sqs:SendMessage on it). Without it they are deleted; failed jobs reach the dead-letter queue
   * through the queue's redrive policy either way.
   */
  deadLetterQueueUrl?: string;
}

/** The job queue on SQS; the dead-letter redrive after repeated failures is the queue's own policy. */
export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly options: SqsJobQueueOptions = {},
  ) {}

  async send(message: JobMessage): Promise<void> {
    await call('send', CALL_MS, (abortSignal) =>
      this.client.send(
        new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message) }),
        { abortSignal },
      ),
    );
  }

  async receive(waitSeconds: number, visibilitySeconds: number): Promise<ReceivedMessage | undefined> {
    const r = await call('receive', waitSeconds * 1000 + CALL_MS, (abortSignal) =>
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
        { abortSignal },
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
    await call('extend', CALL_MS, (abortSignal) =>
      this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: message.receipt,
          VisibilityTimeout: visibilitySeconds,
        }),
        { abortSignal },
      ),
    );
  }

  async delete(message: ReceivedMessage): Promise<void> {
    await call('delete', CALL_MS, (abortSignal) =>
      this.client.send(
        new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: message.receipt }),
        {
          abortSignal,
        },
      ),
    );
  }

  async release(message: ReceivedMessage): Promise<void> {
    await this.extend(message, 0);
  }

  /** Sends the body to the dead-letter queue (with the reason as an attribute), then deletes it here. */
  async deadLetter(message: ReceivedMessage, reason: string): Promise<boolean> {
    const dlq = this.options.deadLetterQueueUrl;
    if (!dlq) return false;
    await call('dead-letter', CALL_MS, (abortSignal) =>
      this.client.send(
        new SendMessageCommand({
          QueueUrl: dlq,
          MessageBody: message.body || '(empty)',
          MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 256) } },
        }),
        { abortSignal },
      ),
    );
    await this.delete(message);
    return true;
  }
}
