import { apiFor } from './deps.js';

/** The `data` rows of the route table: data files, their branches, upload URLs, schema, expressions. */
export const handler = apiFor('data');
