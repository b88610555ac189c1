import { MlaasError } from '../errors.js';

export class UnauthorizedError extends MlaasError {
  constructor(message: string) {
    super(message, 401, 'Unauthorized');
  }
}

export class ForbiddenError extends MlaasError {
  constructor(message: string) {
    super(message, 403, 'Forbidden');
  }
}

export class TooManyRequestsError extends MlaasError {
  constructor(readonly retryAfterSeconds: number) {
    super(`too many requests; retry in ${retryAfterSeconds} s`, 429, 'TooManyRequests');
  }
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded?: boolean;
}

/**
 * The one place errors become HTTP responses. Client errors (< 500) show their message; anything
 * else gets a generic message, so a 5xx never leaks internals. 503 and 429 say when to retry.
 */
export function errorResponse(err: unknown, requestId: string): HttpResponse {
  const known = err instanceof MlaasError;
  const status = known ? err.status : 500;
  const expose = known && err.expose;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': requestId };
  if (status === 503) headers['retry-after'] = '5';
  if (err instanceof TooManyRequestsError) headers['retry-after'] = String(err.retryAfterSeconds);
  if (status === 401) headers['www-authenticate'] = 'Bearer';
  const body = expose
    ? { error: (err as MlaasError).code, message: (err as MlaasError).message }
    : {
        error: status === 503 ? 'Unavailable' : 'InternalError',
        message:
          status === 503
            ? 'a service this request needs is briefly unavailable; retry shortly'
            : `internal error (request ${requestId})`,
      };
  return { statusCode: status, headers, body: JSON.stringify(body) };
}
