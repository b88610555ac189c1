import { ConsoleSite, consoleConfigFromEnv } from '../lib/console/site.js';
import { consoleHandlers } from '../lib/service/data-routes.js';
import { configFor, httpApi } from './compose.js';

// the built files travel in this function's package (serverless.yml: package.patterns)
const site = new ConsoleSite(consoleConfigFromEnv());

/** The `console` rows of the route table: the web console's files and its sign-in settings. */
export const handler = httpApi(consoleHandlers(site), configFor());
