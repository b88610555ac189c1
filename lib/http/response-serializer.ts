import type { HttpMiddleware } from './request-state.js';
import type { HttpEventResult, HttpResult, RawResult } from './types.js';

function lowerCased(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = String(v);
  return out;
}

/**
 * A handler's result as the payload 2.0 response: JSON serialised with its content type, or a raw
 * body (text as is, bytes base64-encoded). A result that is not one of these is a bug: it throws,
 * and the error mapper answers 500.
 */
export function serializeResult(result: HttpResult): HttpEventResult {
  if (!result || typeof result !== 'object') {
    throw new TypeError(`handler returned ${result === null ? 'null' : typeof result}, not { status, body }`);
  }
  const status = result.status ?? 200;
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new TypeError(`handler returned status ${String(status)}`);
  }
  const headers: Record<string, string> = {
    'x-content-type-options': 'nosniff',
    ...lowerCased(result.headers),
  };
  if ('raw' in result) {
    const { raw, contentType } = result as RawResult;
    headers['content-type'] = contentType;
    if (typeof raw === 'string') return { statusCode: status, headers, body: raw, isBase64Encoded: false };
    return {
      statusCode: status,
      headers,
      body: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64'),
      isBase64Encoded: true,
    };
  }
  if (result.body === undefined) return { statusCode: status, headers };
  headers['content-type'] ??= 'application/json';
  return { statusCode: status, headers, body: JSON.stringify(result.body), isBase64Encoded: false };
}

/** The handler's result serialised (`after`): the handler returns data, not a Lambda response. */
export function responseSerializer(): HttpMiddleware {
  return {
    after: (request) => {
      request.response = serializeResult(request.response as HttpResult);
    },
  };
}
