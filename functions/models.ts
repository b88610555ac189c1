import { modelsHandlers } from '../lib/service/model-routes.js';
import { ModelService } from '../lib/service/model-service.js';
import { configFor, httpApi, objectStore, sourcePolicy } from './compose.js';

const config = configFor('bucket');
const service = new ModelService({ store: objectStore(config), checkSources: sourcePolicy(config) });

/** The `models` rows of the route table: the TFaaS registry, uploads, deletes and upload triggers. */
export const handler = httpApi(modelsHandlers(service), config);
