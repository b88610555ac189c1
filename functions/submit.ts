import { submitHandlers } from '../lib/service/job-routes.js';
import { SubmitService } from '../lib/service/job-service.js';
import { configFor, httpApi, jobQueue, objectStore, sourcePolicy } from './compose.js';

const config = configFor('bucket', 'queueUrl');
const service = new SubmitService({
  store: objectStore(config),
  queue: jobQueue(config),
  checkSources: sourcePolicy(config),
  limits: config.limits,
});

/** The `submit` row of the route table: POST /submit. */
export const handler = httpApi(submitHandlers(service), config);
