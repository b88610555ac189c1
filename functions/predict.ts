import { apiFor } from './deps.js';

/** The `predict` rows of the route table: TFaaS /json and the Open Inference Protocol v2. */
export const handler = apiFor('predict');
