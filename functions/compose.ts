import { verifierFromEnv } from '../lib/auth/verifier.js';
import { createS3Client } from '../lib/aws/s3-client.js';
import { S3ObjectStore } from '../lib/aws/s3-object-store.js';
import { createSqsClient } from '../lib/aws/sqs-client.js';
import { SqsJobQueue } from '../lib/aws/sqs-queue.js';
import { type Config, type RequiredSetting, readConfig } from '../lib/config.js';
import { type ApiHandler, createApi } from '../lib/http/api.js';
import { sourceAllowList } from '../lib/jobs/source-policy.js';
import { bindRoutes, type Handle } from '../lib/service/bind-routes.js';
import { SubmitService } from '../lib/service/job-service.js';
import type { RouteKey } from '../lib/service/route-table.js';

// The pieces each function's composition root picks from. A function calls only what its routes
// use, so its bundle holds only that (esbuild drops the rest: the SQS client from jobs, models and
// predict; TensorFlow.js from all but predict).

/** This function's settings, read once at cold start: a missing or bad one fails it, named. */
export function configFor<R extends RequiredSetting>(...require: R[]) {
  return readConfig(process.env, { require });
}

/** The bucket of job records, models and triggers. */
export function objectStore(config: Config & { bucket: string }): S3ObjectStore {
  return new S3ObjectStore(createS3Client({ endpoint: config.endpoints.s3 }), config.bucket);
}

/** The job queue the trainer consumes. */
export function jobQueue(config: Config & { queueUrl: string }): SqsJobQueue {
  return new SqsJobQueue(createSqsClient({ endpoint: config.endpoints.sqs }), config.queueUrl);
}

/**
 * A deployment reads only the sources its operators allowed (403 naming the source otherwise);
 * without MLAAS4HEP_ALLOWED_SOURCES, its own bucket.
 */
export function sourcePolicy(config: Config & { bucket: string }): (files: string[]) => void {
  return sourceAllowList(config.allowedSources ?? [`s3://${config.bucket}/`]);
}

/** What submit and the upload trigger share: jobs recorded in the bucket and queued, sources checked. */
export function submitService(config: Config & { bucket: string; queueUrl: string }): SubmitService {
  return new SubmitService({
    store: objectStore(config),
    queue: jobQueue(config),
    checkSources: sourcePolicy(config),
    limits: config.limits,
  });
}

/**
 * One function's rows of the route table behind the API's middlewares. Development keys
 * (MLAAS4HEP_DEV_JWKS) are refused unless MLAAS4HEP_DEV_ISSUER=1, which only the local stage sets.
 */
export function httpApi(handlers: Partial<Record<RouteKey, Handle>>, config: Config): ApiHandler {
  return createApi(bindRoutes(handlers, config.rateLimits), { verifier: verifierFromEnv() });
}
