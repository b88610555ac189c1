import { jobsHandlers } from '../lib/service/job-routes.js';
import { JobService } from '../lib/service/job-service.js';
import { configFor, httpApi, objectStore } from './compose.js';

const config = configFor('bucket');

/** The `jobs` rows of the route table (lib/service/route-table.ts): list, state, logs, cancel. */
export const handler = httpApi(jobsHandlers(new JobService(objectStore(config))), config);
