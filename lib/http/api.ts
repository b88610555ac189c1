import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Principal, TokenVerifier } from '../auth/verifier.js';
import { InvalidInputError, MlaasError, NotFoundError } from '../errors.js';
import { PayloadTooLargeError } from '../serving/errors.js';
import { errorResponse, ForbiddenError } from './errors.js';

export interface ApiRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** parsed JSON for json routes, raw bytes for binary ones */
  body: unknown;
  raw: Uint8Array;
  caller?: Principal;
  requestId: string;
}

export interface ApiResult {
  status: number;
  body?: unknown;
  /** a non-JSON body (SVG plots, logs) */
  text?: { content: string | Uint8Array; type: string };
  headers?: Record<string, string>;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** e.g. /jobs/{id} */
  path: string;
  /** the scope a token needs; null for public routes (health) */
  scope: 'submit' | 'predict' | 'admin' | null;
  body?: 'json' | 'binary';
  /** this route's body limit, when it differs from the API's (batch predictions, bundle uploads) */
  maxBodyBytes?: number;
  handle(req: ApiRequest): Promise<ApiResult>;
}

export interface ApiOptions {
  verifier: TokenVerifier;
  maxBodyBytes?: number;
  maxJsonDepth?: number;
  log?(entry: Record<string, unknown>): void;
}

const KNOWN_OPTIONS = new Set(['verifier', 'maxBodyBytes', 'maxJsonDepth', 'log']);

function compile(path: string): { re: RegExp; names: string[] } {
  const names: string[] = [];
  const re = path.replace(/\{(\w+)\}/g, (_m, n: string) => {
    names.push(n);
    return '([^/]+)';
  });
  return { re: new RegExp(`^${re}$`), names };
}

/** JSON.parse, refusing documents nested deeper than `max` (a cheap guard against hostile bodies). */
export function parseJson(text: string, max: number): unknown {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) throw new InvalidInputError(`request body nested more than ${max} levels deep`);
    } else if (c === 125 || c === 93) depth--;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The HTTP API as one middy handler for API Gateway HTTP API and Lambda function URL events
 * (payload 2.0): routing, body limits, JSON parsing, bearer-token auth with scopes, one error
 * mapping, and a structured log line per request.
 */
export function createApi(routes: Route[], options: ApiOptions) {
  for (const k of Object.keys(options))
    if (!KNOWN_OPTIONS.has(k)) throw new Error(`unknown API option "${k}"`);
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const maxDepth = options.maxJsonDepth ?? 32;
  const log = options.log ?? ((e) => process.stdout.write(`${JSON.stringify(e)}\n`));
  const table = routes.map((r) => ({ r, ...compile(r.path) }));
  let coldStart = true;

  async function handle(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const requestId = event.requestContext?.requestId ?? randomUUID();
    const method = event.requestContext?.http?.method ?? 'GET';
    const path = event.rawPath ?? '/';
    const t0 = performance.now();
    let status = 500;
    const extra: Record<string, unknown> = {};
    try {
      const hit = table.map((t) => ({ ...t, m: t.re.exec(path) })).filter((t) => t.m);
      if (!hit.length) throw new NotFoundError(`no route ${path}`, 'RouteNotFound');
      const found = hit.find((t) => t.r.method === method);
      if (!found) throw new MlaasError(`${method} is not allowed on ${path}`, 405, 'MethodNotAllowed');
      const route = found.r;
      const params = Object.fromEntries(found.names.map((n, i) => [n, decodeURIComponent(found.m![i + 1])]));
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(event.headers ?? {}))
        if (v !== undefined) headers[k.toLowerCase()] = v;
      const raw = event.body
        ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8')
        : new Uint8Array(0);
      const limit = route.maxBodyBytes ?? maxBody;
      if (raw.length > limit) {
        throw new PayloadTooLargeError(`request body of ${raw.length} bytes is over the limit of ${limit}`);
      }
      const caller = route.scope ? await options.verifier.verify(headers.authorization) : undefined;
      if (route.scope && !caller?.scopes.has(route.scope)) {
        throw new ForbiddenError(
          `this token lacks the "${route.scope}" scope needed for ${method} ${route.path}`,
        );
      }
      if (caller) extra.user = caller.sub;
      const body =
        route.body === 'json'
          ? raw.length
            ? parseJson(Buffer.from(raw).toString('utf8'), maxDepth)
            : undefined
          : raw;
      const query: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(event.rawQueryString ?? '')) query[k] = v;
      const res = await route.handle({ method, path, params, query, headers, body, raw, caller, requestId });
      status = res.status;
      const out: APIGatewayProxyStructuredResultV2 = {
        statusCode: res.status,
        headers: { 'x-request-id': requestId, ...res.headers },
      };
      if (res.text) {
        const bytes =
          typeof res.text.content === 'string'
            ? Buffer.from(res.text.content)
            : Buffer.from(res.text.content);
        out.headers = { ...out.headers, 'content-type': res.text.type };
        out.body = bytes.toString('base64');
        out.isBase64Encoded = true;
      } else if (res.body !== undefined) {
        out.headers = { ...out.headers, 'content-type': 'application/json' };
        out.body = JSON.stringify(res.body);
      }
      return out;
    } catch (err) {
      const r = errorResponse(err, requestId);
      status = r.statusCode;
      if (status >= 500) extra.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      return r;
    } finally {
      log({
        level: status >= 500 ? 'error' : 'info',
        service: 'mlaas4hep',
        requestId,
        cold_start: coldStart,
        method,
        path,
        status,
        ms: Math.round(performance.now() - t0),
        ...extra,
      });
      coldStart = false;
    }
  }

  return middy(handle);
}
