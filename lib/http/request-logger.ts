import { MlaasError } from '../errors.js';
import { defaultLog, type LogFn, SERVICE } from '../log.js';
import { beginRequest, findState, type HttpMiddleware, type HttpMiddyRequest } from './request-state.js';
import type { HttpEventResult } from './types.js';

const RESERVED = new Set([
  'level',
  'message',
  'service',
  'requestId',
  'cold_start',
  'route',
  'method',
  'path',
  'status',
  'ms',
  'user',
  'error',
]);

// the first request this Lambda instance serves, through any stack, is the cold one
let coldStart = true;

function errorFields(err: unknown, status: number): Record<string, unknown> {
  if (status < 500) return err instanceof MlaasError ? { error: err.code, reason: err.message } : {};
  // internals go to the log, never to the caller
  if (err instanceof Error) return { error: err.name, reason: err.message, stack: err.stack };
  return { error: String(err) };
}

function finish(request: HttpMiddyRequest, log: LogFn): void {
  const state = findState(request.event);
  if (!state) return;
  const res = request.response as HttpEventResult | undefined;
  if (res && typeof res === 'object') res.headers = { ...res.headers, 'x-request-id': state.requestId };
  const status = res?.statusCode ?? 500;
  const extra: Record<string, unknown> = {};
  for (const k in state.logKeys) if (!RESERVED.has(k)) extra[k] = state.logKeys[k];
  const entry: Record<string, unknown> = {
    level: status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info',
    message: `${state.route} ${status}`,
    service: SERVICE,
    requestId: state.requestId,
    cold_start: coldStart,
    route: state.route,
    method: state.method,
    path: state.path,
    status,
    ms: Math.round((performance.now() - state.startedAt) * 10) / 10,
    ...(state.user ? { user: state.user.sub } : {}),
    ...(state.error !== undefined ? errorFields(state.error, status) : {}),
    ...extra,
  };
  coldStart = false;
  try {
    log(entry);
  } catch {
    // a broken log sink must not turn an answered request into a failure
  }
}

/**
 * First in every stack: gives the request its id and state, and afterwards writes one structured
 * log line (`level, message, service, requestId, cold_start, route, status, ms` plus keys the
 * handler appended, such as jobId or model) and puts `x-request-id` on the response.
 */
export function requestLogger(options: { log?: LogFn; route?: string } = {}): HttpMiddleware {
  const log = options.log ?? defaultLog;
  return {
    before: (request) => {
      beginRequest(request, options.route);
    },
    after: (request) => finish(request, log),
    onError: (request) => finish(request, log),
  };
}
