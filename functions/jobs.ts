import { apiFor } from './deps.js';

/** GET /jobs, GET /jobs/{id}, GET /jobs/{id}/logs, DELETE /jobs/{id} */
export const handler = apiFor((p) => p.startsWith('/jobs'));
