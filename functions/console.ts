import { apiFor } from './deps.js';

/** The `console` rows of the route table: the web console's files and its sign-in settings. */
export const handler = apiFor('console');
