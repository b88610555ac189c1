import { verifierFromEnv } from '../../lib/auth/verifier.js';
import { createSqsClient, SqsJobQueue } from '../../lib/aws/sqs-queue.js';
import { bufferedStdoutLog } from '../../lib/http/request-logger.js';
import { startStack } from '../../lib/service/stack.js';
import { initBackend } from '../../lib/training/backend.js';
import { endpointFromEnv, int, parse } from './args.js';
import { storeAt } from './stores.js';
import { datasetDeps } from './workflow.js';

const USAGE =
  'mlaas4hep serve [--store <dir | s3://bucket/prefix>] [--queue <sqs queue url>] [--port 8080] [--host 127.0.0.1] [--no-worker]';

/**
 * The HTTP functions in one Node process (a VM or a pod), against a local folder or S3, an
 * in-process queue or SQS, with a trainer in-process unless --no-worker. Tokens are verified
 * against MLAAS4HEP_JWT_ISSUER/AUDIENCE/JWKS_URI, or, only with MLAAS4HEP_DEV_ISSUER=1, against
 * a development issuer whose token is printed.
 */
export async function serve(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values } = parse(
    argv,
    {
      store: { type: 'string', default: './mlaas4hep-data' },
      queue: { type: 'string' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      'no-worker': { type: 'boolean' },
    },
    USAGE,
  );
  const dev = process.env.MLAAS4HEP_DEV_ISSUER === '1';
  const verifier = dev ? undefined : verifierFromEnv();
  const endpoint = endpointFromEnv('SQS');
  const queue = values.queue
    ? new SqsJobQueue(createSqsClient(endpoint ? { endpoint } : {}), values.queue)
    : undefined;
  const worker = values['no-worker'] ? undefined : { dataset: datasetDeps(), backend: await initBackend() };
  const stack = await startStack({
    store: storeAt(values.store!),
    queue,
    verifier,
    port: int('port', values.port),
    host: values.host,
    worker,
    log: bufferedStdoutLog(),
  });
  out.write(
    `mlaas4hep serving on ${stack.url} (store ${values.store}, ${queue ? 'SQS' : 'in-process'} queue, ${worker ? `trainer on ${worker.backend}` : 'no trainer'})\n`,
  );
  if (stack.token) {
    out.write(
      `development token (submit, predict, admin; 1 h):\n${stack.token('dev', ['submit', 'predict', 'admin'])}\n`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  out.write('stopping\n');
  await stack.stop();
}
