import { verifierFromEnv } from '../lib/auth/verifier.js';
import { createS3Client } from '../lib/aws/s3-client.js';
import { s3DataAccess } from '../lib/aws/s3-data-access.js';
import { S3ObjectStore } from '../lib/aws/s3-object-store.js';
import { createSqsClient } from '../lib/aws/sqs-client.js';
import { SqsJobQueue } from '../lib/aws/sqs-queue.js';
import { ConsoleSite, consoleConfigFromEnv } from '../lib/console/site.js';
import { MisconfiguredError } from '../lib/errors.js';
import { createApi } from '../lib/http/api.js';
import { stdoutLog } from '../lib/http/request-logger.js';
import { sourceAllowList } from '../lib/jobs/submit.js';
import type { FunctionName } from '../lib/service/route-table.js';
import { routes } from '../lib/service/routes.js';
import { Service, serviceConfigFromEnv } from '../lib/service/service.js';

/** Configuration read once per cold start; a missing variable is named in the error. */
function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new MisconfiguredError(`environment variable ${name} is not set`);
  return v;
}

// endpoint overrides for the local stack's emulators (empty in a deployment)
const s3Endpoint = process.env.MLAAS4HEP_S3_ENDPOINT || undefined;
const sqsEndpoint = process.env.MLAAS4HEP_SQS_ENDPOINT || undefined;
const bucket = need('MLAAS4HEP_BUCKET');
// the policy `serve` reads too; a deployment without MLAAS4HEP_ALLOWED_SOURCES reads its own bucket
const config = serviceConfigFromEnv(process.env, { allowedSources: [`s3://${bucket}/`] });

/** A deployment reads only the sources its operators allowed (403 naming the source otherwise). */
export const checkSources = sourceAllowList(config.allowedSources!);

const s3 = createS3Client(s3Endpoint ? { endpoint: s3Endpoint } : {});

export const service = new Service({
  store: new S3ObjectStore(s3, bucket),
  data: s3DataAccess(s3, bucket),
  maxDataUploadBytes: config.maxDataUploadBytes,
  // the built files exist only in the console function's package; the others never serve them
  console: new ConsoleSite(consoleConfigFromEnv()),
  queue: new SqsJobQueue(
    createSqsClient(sqsEndpoint ? { endpoint: sqsEndpoint } : {}),
    need('MLAAS4HEP_QUEUE_URL'),
  ),
  checkSources,
  log: stdoutLog,
});

// development keys (MLAAS4HEP_DEV_JWKS) are refused unless MLAAS4HEP_DEV_ISSUER=1, which only the
// local stage sets
const verifier = verifierFromEnv();

/** The API restricted to the route table's rows of one function. */
export function apiFor(fn: FunctionName) {
  return createApi(routes(service, config.rateLimits, fn), { verifier });
}
