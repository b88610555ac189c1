import type { Route } from '../http/api.js';
import type { RateLimits } from '../http/rate-limit.js';
import { bindRoutes } from './bind-routes.js';
import { consoleHandlers, dataHandlers } from './data-routes.js';
import { jobsHandlers, submitHandlers } from './job-routes.js';
import { modelsHandlers } from './model-routes.js';
import { predictHandlers } from './predict-routes.js';
import type { FunctionName } from './route-table.js';
import type { Service } from './service.js';

/**
 * The HTTP API of mlaas4hep (TFaaS-compatible routes, jobs, triggers, Open Inference Protocol v2):
 * the route table's rows, every one or only those of one Lambda function, bound to the service.
 * `limits` caps each user's submissions and predictions (429 with Retry-After beyond them). The
 * Lambda functions bind only their own handlers (functions/*), so they do not import this file.
 */
export function routes(service: Service, limits: RateLimits = {}, fn?: FunctionName): Route[] {
  const all = {
    submit: () => submitHandlers(service.parts.submit),
    jobs: () => jobsHandlers(service.parts.jobs),
    models: () => modelsHandlers(service.parts.models),
    predict: () => predictHandlers(service.parts.predict),
    data: () => dataHandlers(service.parts.data),
    console: () => (service.parts.console ? consoleHandlers(service.parts.console) : {}),
  };
  const chosen = fn ? [all[fn]()] : Object.values(all).map((make) => make());
  return bindRoutes(Object.assign({}, ...chosen), limits);
}
