import { createSqsClient } from '../../lib/aws/sqs-client.js';
import { SqsJobQueue } from '../../lib/aws/sqs-queue.js';
import { readConfig } from '../../lib/config.js';
import { JobStore } from '../../lib/jobs/job-store.js';
import { createLog } from '../../lib/log.js';
import { consumeQueue } from '../../lib/trainer/worker.js';
import { initBackend } from '../../lib/training/backend.js';
import { int, parse, required } from './args.js';
import { storeAt } from './stores.js';
import { datasetDeps } from './workflow.js';

const USAGE =
  'mlaas4hep worker --store <dir | s3://bucket/prefix> --queue <sqs queue url> [--max-messages N] [--visibility SECONDS] [--dead-letter-queue <sqs queue url>]';

/**
 * The trainer as a queue consumer (the ECS service's entry): long-polls SQS, trains, and on
 * SIGTERM stops at the next batch, records the job as interrupted and returns its message.
 */
export async function worker(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values } = parse(
    argv,
    {
      store: { type: 'string' },
      queue: { type: 'string' },
      'max-messages': { type: 'string' },
      // how long a message stays hidden while its job runs (extended every third): also how soon
      // a job comes back when its trainer dies without a word
      visibility: { type: 'string', default: '300' },
      // where poisoned messages go at once (else they are deleted, with a log line)
      'dead-letter-queue': { type: 'string' },
    },
    USAGE,
  );
  // read and checked before anything starts: a bad value stops the worker, named
  const config = readConfig();
  const store = storeAt(required(values.store, '--store', USAGE));
  const queue = new SqsJobQueue(
    createSqsClient({ endpoint: config.endpoints.sqs }),
    required(values.queue, '--queue', USAGE),
    { deadLetterQueueUrl: values['dead-letter-queue'] },
  );
  const backend = await initBackend();
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // the one logger of the trainer: JSON lines with the job id, failures with their stack
  const { log } = createLog({ sink: (line) => out.write(`${line}\n`), keys: { component: 'trainer' } });
  log({ message: 'trainer started', backend, cold_start: true });
  const handled = await consumeQueue(
    queue,
    new JobStore(store),
    { models: store, dataset: datasetDeps(), backend },
    {
      signal: stop.signal,
      maxMessages: int('max-messages', values['max-messages']),
      visibilitySeconds: int('visibility', values.visibility),
      log,
    },
  );
  log({ message: 'trainer stopped', handled });
}
