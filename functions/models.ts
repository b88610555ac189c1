import { apiFor } from './deps.js';

/** The `models` rows of the route table: the TFaaS registry, uploads, deletes and upload triggers. */
export const handler = apiFor('models');
