import { apiFor } from './deps.js';

/** The `jobs` rows of the route table (lib/service/route-table.ts). */
export const handler = apiFor('jobs');
