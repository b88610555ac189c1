import { apiFor } from './deps.js';

/** POST /submit */
export const handler = apiFor((p) => p === '/submit');
