import { apiFor } from './deps.js';

/** The `submit` row of the route table: POST /submit. */
export const handler = apiFor('submit');
