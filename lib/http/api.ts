import type { Context } from 'aws-lambda';
import type { TokenVerifier } from '../auth/verifier.js';
import { InvalidInputError, MethodNotAllowedError, NotFoundError, truncateName } from '../errors.js';
import type { LogFn } from '../log.js';
import { httpHandler } from './http-handler.js';
import type { HttpEvent, HttpEventResult, HttpRequest, HttpResult } from './types.js';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** e.g. /jobs/{id} */
  path: string;
  /** the scope a token needs; null for public routes (health) */
  scope: 'submit' | 'predict' | 'admin' | null;
  body?: 'json' | 'binary';
  /** this route's body limit, when it differs from the API's (batch predictions, bundle uploads) */
  maxBodyBytes?: number;
  /** this route's rate limit, when it differs from the API's */
  rateLimit?: { perMinute: number };
  handle(req: HttpRequest): Promise<HttpResult>;
}

export interface ApiOptions {
  verifier: TokenVerifier;
  maxBodyBytes?: number;
  maxJsonDepth?: number;
  /** requests per minute per (user, route), per instance */
  rateLimit?: { perMinute: number };
  log?: LogFn;
}

export type ApiHandler = (event: HttpEvent, context?: Context) => Promise<HttpEventResult>;

const KNOWN_OPTIONS = new Set(['verifier', 'maxBodyBytes', 'maxJsonDepth', 'rateLimit', 'log']);

interface Compiled {
  route: Route;
  re: RegExp;
  names: string[];
  handler: ReturnType<typeof httpHandler>;
}

function compile(path: string): { re: RegExp; names: string[] } {
  const names: string[] = [];
  const escaped = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  const re = escaped.replace(/\{(\w+)\}/g, (_m, n: string) => {
    names.push(n);
    return '([^/]+)';
  });
  return { re: new RegExp(`^${re}$`), names };
}

/**
 * The HTTP API as one Lambda handler for API Gateway HTTP API and function URL events (payload
 * 2.0): a router in front of one `httpHandler` stack per route (its scope, body kind and limits),
 * so every request, an unknown route's included, goes through the same middlewares and the one
 * error mapping. Unknown route → 404, known path with another method → 405 with Allow.
 */
export function createApi(routes: Route[], options: ApiOptions): ApiHandler {
  for (const k of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(k)) throw new TypeError(`createApi: unknown option "${k}"`);
  }
  const table: Compiled[] = routes.map((route) => {
    const name = `${route.method} ${route.path}`;
    const handler = httpHandler((req) => route.handle(req), {
      auth: route.scope ? { scopes: [route.scope] } : false,
      verifier: options.verifier,
      maxBodyBytes: route.maxBodyBytes ?? options.maxBodyBytes,
      maxJsonDepth: options.maxJsonDepth,
      json: route.body === 'json',
      rateLimit: route.rateLimit ?? options.rateLimit,
      log: options.log,
      route: name,
    });
    return { route, ...compile(route.path), handler };
  });

  type Match = { hit: Compiled; params: Record<string, string> } | { error: Error };
  function match(method: string, path: string): Match {
    // the first route of this method on the path, found without building the list of every route
    // on it (that list, made per request, is only needed for a 404 or a 405)
    let found: { t: Compiled; m: RegExpExecArray } | undefined;
    for (const t of table) {
      if (t.route.method !== method) continue;
      const m = t.re.exec(path);
      if (m) {
        found = { t, m };
        break;
      }
    }
    if (!found) {
      const onPath = table.filter((t) => t.re.test(path));
      if (!onPath.length)
        return { error: new NotFoundError(`no route ${truncateName(path)}`, 'RouteNotFound') };
      const allow = [...new Set(onPath.map((t) => t.route.method))];
      return {
        error: new MethodNotAllowedError(
          `${truncateName(method)} is not allowed on ${truncateName(path)}`,
          allow,
        ),
      };
    }
    const params: Record<string, string> = {};
    for (const [i, n] of found.t.names.entries()) {
      try {
        params[n] = decodeURIComponent(found.m![i + 1]);
      } catch {
        return {
          error: new InvalidInputError(
            `path segment "${truncateName(found.m![i + 1])}" is not valid percent-encoding`,
          ),
        };
      }
    }
    return { hit: found.t, params };
  }

  // unknown routes still get a request id, a log line and the mapped error
  const fallback = httpHandler(
    async (req) => {
      const m = match(req.method, req.path);
      throw 'error' in m ? m.error : new NotFoundError(`no route ${truncateName(req.path)}`, 'RouteNotFound');
    },
    { auth: false, json: false, log: options.log, route: 'unmatched' },
  );

  return async (event, context) => {
    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    const m = match(method, event.rawPath ?? '/');
    if ('error' in m) return fallback(event, context ?? ({} as Context));
    return m.hit.handler({ ...event, pathParameters: m.params }, context ?? ({} as Context));
  };
}
