import { apiFor } from './deps.js';

/** POST /json (TFaaS) and the Open Inference Protocol v2 routes, health included */
export const handler = apiFor((p) => p === '/json' || p.startsWith('/v2/'));
