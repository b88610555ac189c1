import { submitHandlers } from '../lib/service/job-routes.js';
import { configFor, httpApi, submitService } from './compose.js';

const config = configFor('bucket', 'queueUrl');
const service = submitService(config);

/** The `submit` row of the route table: POST /submit. */
export const handler = httpApi(submitHandlers(service), config);
