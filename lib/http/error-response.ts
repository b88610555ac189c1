import { ForbiddenError, MethodNotAllowedError, MlaasError } from '../errors.js';

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded?: boolean;
}

/** Seconds a 503 asks the caller to wait when the error does not say. */
const DEFAULT_RETRY_AFTER_SECONDS = 5;

function retryAfter(err: MlaasError): number {
  const s = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  return typeof s === 'number' && Number.isFinite(s) && s > 0 ? Math.ceil(s) : DEFAULT_RETRY_AFTER_SECONDS;
}

/**
 * The one place errors become HTTP responses. An MlaasError below 500 shows its code and message;
 * anything else (plain errors, and MlaasErrors of 500 and above) gets a generic message and never
 * the stack or the raw message. 503 and 429 say when to retry; 401 and 403 carry the Bearer
 * challenge (RFC 6750); 405 lists the allowed methods. Every response carries `x-request-id`.
 */
export function errorResponse(err: unknown, requestId: string): HttpResponse {
  const known = err instanceof MlaasError ? err : undefined;
  const status = known && known.status >= 400 && known.status <= 599 ? known.status : 500;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-content-type-options': 'nosniff',
    'x-request-id': requestId,
  };
  if (known && (status === 503 || status === 429)) headers['retry-after'] = String(retryAfter(known));
  if (status === 401) headers['www-authenticate'] = 'Bearer';
  if (err instanceof ForbiddenError && err.scope) {
    headers['www-authenticate'] = `Bearer error="insufficient_scope", scope="${err.scope}"`;
  }
  if (err instanceof MethodNotAllowedError) headers.allow = err.allow.join(', ');
  let body: { error: string; message: string };
  if (known?.expose && status < 500) body = { error: known.code, message: known.message };
  else if (status === 503) {
    body = {
      error: 'Unavailable',
      message: `a service this request needs is briefly unavailable; retry shortly (request ${requestId})`,
    };
  } else body = { error: 'InternalError', message: `internal error (request ${requestId})` };
  return { statusCode: status, headers, body: JSON.stringify(body) };
}
