import middy, { type MiddyfiedHandler } from '@middy/core';
import type { Context } from 'aws-lambda';
import { verifierFromEnv } from '../auth/verifier.js';
import { bearerAuth } from './bearer-auth.js';
import { bodyLimit, DEFAULT_MAX_BODY_BYTES } from './body-limit.js';
import { errorHandler } from './error-handler.js';
import { jsonBody } from './json-body.js';
import { type HttpHandlerOptions, validateHttpHandlerOptions } from './options.js';
import { rateLimit } from './rate-limit.js';
import { requestLogger } from './request-logger.js';
import { type RequestState, stateOf } from './request-state.js';
import { responseSerializer } from './response-serializer.js';
import type { HttpEvent, HttpEventResult, HttpFunction, HttpRequest } from './types.js';

export type HttpLambdaHandler = MiddyfiedHandler<HttpEvent, HttpEventResult>;

function queryOf(event: HttpEvent): Record<string, string> {
  // most requests (every prediction) have none: URLSearchParams was 4% of a single-row prediction
  if (event.rawQueryString === '') return {};
  if (event.rawQueryString !== undefined) {
    return Object.fromEntries(new URLSearchParams(event.rawQueryString));
  }
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) query[k] = v;
  return query;
}

function requestOf(event: HttpEvent, state: RequestState, signal: AbortSignal | undefined): HttpRequest {
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.pathParameters ?? {})) if (v !== undefined) params[k] = v;
  return {
    method: state.method,
    path: state.path,
    route: state.route,
    params,
    query: queryOf(event),
    headers: state.headers,
    body: 'body' in state ? state.body : state.rawBody,
    rawBody: state.rawBody ?? Buffer.alloc(0),
    user: state.user,
    requestId: state.requestId,
    appendLogKeys: (keys) => Object.assign(state.logKeys, keys),
    signal,
  };
}

/**
 * The one middy stack every HTTP function uses, for API Gateway HTTP API and Lambda function URL
 * events (payload 2.0, base64 bodies included). In order: request id and structured log line,
 * error mapping (`errorResponse`), response serialisation, bearer auth with scopes (401/403),
 * per-user rate limit (429), body size limit (413), JSON parsing with a depth limit (400); then
 * `fn`. Who may call comes first: in `serve`, a body is read from its socket only for an allowed
 * caller, and only up to the route's limit.
 *
 * Options are checked here (unknown keys throw). With auth on and no `verifier`, the verifier is
 * read from the environment now, so a missing variable fails the cold start and names itself.
 */
export function httpHandler(fn: HttpFunction, options?: HttpHandlerOptions): HttpLambdaHandler {
  const o = validateHttpHandlerOptions(options);
  const auth = o.auth ?? { scopes: [] };
  const verifier = auth ? (o.verifier ?? verifierFromEnv()) : undefined;

  const base = async (event: HttpEvent, context: Context, opts?: { signal: AbortSignal }) =>
    fn(requestOf(event, stateOf(event), opts?.signal), context);

  const handler = middy(base)
    .use(requestLogger({ log: o.log, route: o.route }))
    .use(errorHandler())
    .use(responseSerializer());
  if (auth && verifier) handler.use(bearerAuth({ verifier, scopes: auth.scopes }));
  if (o.rateLimit) handler.use(rateLimit({ perMinute: o.rateLimit.perMinute }));
  handler.use(bodyLimit({ maxBodyBytes: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES }));
  if (o.json !== false) handler.use(jsonBody({ maxDepth: o.maxJsonDepth }));
  return handler as unknown as HttpLambdaHandler;
}
