/**
 * The HTTP API in one table: every route, the Lambda function that serves it, the scope a token
 * needs and the limits it runs under. `serverless.yml`'s httpApi events are checked against it
 * (test/integration/template.test.ts), each function serves exactly its rows (functions/*), and
 * `mlaas4hep serve` serves them all. Nothing here imports an implementation.
 */

export const FUNCTIONS = ['submit', 'jobs', 'models', 'predict', 'data', 'console'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

const MB = 1024 * 1024;

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** e.g. /jobs/{id} */
  path: string;
  /** the Lambda function that serves it */
  fn: FunctionName;
  /** the scope a token needs; null for public routes (health) */
  scope: 'submit' | 'predict' | 'admin' | null;
  /** parsed as JSON, or handed over as bytes; no body otherwise */
  body?: 'json' | 'binary';
  /** this route's body limit, when it differs from the API's 1 MiB */
  maxBodyBytes?: number;
  /** which per-user rate limit applies (MLAAS4HEP_RATE_LIMIT_PREDICT / _SUBMIT) */
  limit?: 'predict' | 'submit';
}

export const ROUTES = [
  // jobs
  { method: 'POST', path: '/submit', fn: 'submit', scope: 'submit', body: 'json', limit: 'submit' },
  { method: 'GET', path: '/jobs', fn: 'jobs', scope: 'submit' },
  { method: 'GET', path: '/jobs/{id}', fn: 'jobs', scope: 'submit' },
  { method: 'GET', path: '/jobs/{id}/logs', fn: 'jobs', scope: 'submit' },
  { method: 'DELETE', path: '/jobs/{id}', fn: 'jobs', scope: 'submit' },
  // the model registry, as TFaaS
  { method: 'GET', path: '/models', fn: 'models', scope: 'predict' },
  { method: 'GET', path: '/models/{name}', fn: 'models', scope: 'predict' },
  { method: 'GET', path: '/models/{name}/{version}/plots/{file}', fn: 'models', scope: 'predict' },
  // a version to take away: the bundle as a tar.gz (what /upload takes), or ?file=model.onnx
  { method: 'GET', path: '/models/{name}/{version}/download', fn: 'models', scope: 'predict' },
  { method: 'POST', path: '/upload', fn: 'models', scope: 'admin', body: 'binary', maxBodyBytes: 64 * MB },
  // TFaaS's client deletes with a form field model=<name> (or ?model=<name>)
  { method: 'DELETE', path: '/delete', fn: 'models', scope: 'admin', body: 'binary' },
  { method: 'DELETE', path: '/delete/{name}', fn: 'models', scope: 'admin' },
  { method: 'DELETE', path: '/delete/{name}/{version}', fn: 'models', scope: 'admin' },
  // upload triggers
  { method: 'PUT', path: '/triggers/{name}', fn: 'models', scope: 'admin', body: 'json' },
  { method: 'GET', path: '/triggers', fn: 'models', scope: 'admin' },
  { method: 'GET', path: '/triggers/{name}', fn: 'models', scope: 'admin' },
  { method: 'DELETE', path: '/triggers/{name}', fn: 'models', scope: 'admin' },
  // predictions: TFaaS and the Open Inference Protocol v2
  {
    method: 'POST',
    path: '/json',
    fn: 'predict',
    scope: 'predict',
    body: 'json',
    maxBodyBytes: 32 * MB,
    limit: 'predict',
  },
  {
    method: 'POST',
    path: '/v2/models/{name}/infer',
    fn: 'predict',
    scope: 'predict',
    body: 'json',
    maxBodyBytes: 32 * MB,
    limit: 'predict',
  },
  {
    method: 'POST',
    path: '/v2/models/{name}/versions/{version}/infer',
    fn: 'predict',
    scope: 'predict',
    body: 'json',
    maxBodyBytes: 32 * MB,
    limit: 'predict',
  },
  { method: 'GET', path: '/v2/models/{name}', fn: 'predict', scope: 'predict' },
  { method: 'GET', path: '/v2/models/{name}/versions/{version}', fn: 'predict', scope: 'predict' },
  { method: 'GET', path: '/v2/models/{name}/ready', fn: 'predict', scope: 'predict' },
  { method: 'GET', path: '/v2/models/{name}/versions/{version}/ready', fn: 'predict', scope: 'predict' },
  { method: 'GET', path: '/v2/health/live', fn: 'predict', scope: null },
  { method: 'GET', path: '/v2/health/ready', fn: 'predict', scope: null },
  // training data and workflow help for the console (and curl): files the deployment may read, their
  // branches, upload URLs, the workflow's JSON Schema and the expression parser
  { method: 'GET', path: '/data/files', fn: 'data', scope: 'submit' },
  { method: 'GET', path: '/data/branches', fn: 'data', scope: 'submit' },
  { method: 'POST', path: '/data/uploads', fn: 'data', scope: 'submit', body: 'json' },
  { method: 'GET', path: '/workflow/schema', fn: 'data', scope: null },
  { method: 'POST', path: '/workflow/expression', fn: 'data', scope: 'submit', body: 'json' },
  // the web console: its built files and its sign-in settings, public (the API calls it makes are not)
  { method: 'GET', path: '/console', fn: 'console', scope: null },
  { method: 'GET', path: '/console/config.json', fn: 'console', scope: null },
  { method: 'GET', path: '/console/{file}', fn: 'console', scope: null },
] as const satisfies readonly RouteSpec[];

type KeyOf<R> = R extends { method: infer M extends string; path: infer P extends string }
  ? `${M} ${P}`
  : never;

/** "POST /submit": how a route is named in logs, rate-limit keys, API Gateway and the handler maps. */
export type RouteKey = KeyOf<(typeof ROUTES)[number]>;

export const routeKey = (r: Pick<RouteSpec, 'method' | 'path'>): string => `${r.method} ${r.path}`;

/** The rows one function serves. */
export function routesOf(fn: FunctionName): RouteSpec[] {
  return ROUTES.filter((r) => r.fn === fn);
}
