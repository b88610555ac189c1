import { verifierFromEnv } from '../lib/auth/verifier.js';
import { createS3Client } from '../lib/aws/s3-client.js';
import { S3ObjectStore } from '../lib/aws/s3-object-store.js';
import { createSqsClient } from '../lib/aws/sqs-client.js';
import { SqsJobQueue } from '../lib/aws/sqs-queue.js';
import { readConfig } from '../lib/config.js';
import { createApi } from '../lib/http/api.js';
import { sourceAllowList } from '../lib/jobs/submit.js';
import { defaultLog } from '../lib/log.js';
import type { FunctionName } from '../lib/service/route-table.js';
import { routes } from '../lib/service/routes.js';
import { Service } from '../lib/service/service.js';

// read once per cold start: a missing variable or a bad value fails it, named
export const config = readConfig(process.env, { require: ['bucket', 'queueUrl'] });

/**
 * A deployment reads only the sources its operators allowed (403 naming the source otherwise);
 * without MLAAS4HEP_ALLOWED_SOURCES, its own bucket.
 */
export const checkSources = sourceAllowList(config.allowedSources ?? [`s3://${config.bucket}/`]);

export const service = new Service({
  store: new S3ObjectStore(createS3Client({ endpoint: config.endpoints.s3 }), config.bucket),
  queue: new SqsJobQueue(createSqsClient({ endpoint: config.endpoints.sqs }), config.queueUrl),
  checkSources,
  limits: config.limits,
  log: defaultLog,
});

// development keys (MLAAS4HEP_DEV_JWKS) are refused unless MLAAS4HEP_DEV_ISSUER=1, which only the
// local stage sets
const verifier = verifierFromEnv();

/** The API restricted to the route table's rows of one function. */
export function apiFor(fn: FunctionName) {
  return createApi(routes(service, config.rateLimits, fn), { verifier });
}
