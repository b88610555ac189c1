import type { Route } from '../http/api.js';
import type { RateLimits } from '../http/rate-limit.js';
import type { HttpRequest, HttpResult } from '../http/types.js';
import type { Caller } from './job-service.js';
import { type FunctionName, ROUTES, type RouteKey, routeKey } from './route-table.js';

export type Handle = (req: HttpRequest) => Promise<HttpResult>;

/** The route keys one function serves ("GET /jobs/{id}", ...), from the route table. */
export type RouteKeyOf<F extends FunctionName> = Extract<
  RouteKey,
  KeyOf<Extract<(typeof ROUTES)[number], { fn: F }>>
>;
type KeyOf<R> = R extends { method: infer M extends string; path: infer P extends string }
  ? `${M} ${P}`
  : never;

/** What each route of one function does: every row of the table for that function, nothing else. */
export type Handlers<F extends FunctionName> = Record<RouteKeyOf<F>, Handle>;

export const caller = (req: HttpRequest): Caller => req.user!;
export const ok = (body: unknown, status = 200): HttpResult => ({ status, body });

/**
 * The route table's rows bound to their handlers (those of the functions given), with the body
 * kinds, limits and per-user rate limits the table names.
 */
export function bindRoutes(handlers: Partial<Record<RouteKey, Handle>>, limits: RateLimits = {}): Route[] {
  return ROUTES.filter((r) => handlers[routeKey(r) as RouteKey] !== undefined).map((r) => ({
    method: r.method,
    path: r.path,
    scope: r.scope,
    body: 'body' in r ? r.body : undefined,
    maxBodyBytes: 'maxBodyBytes' in r ? r.maxBodyBytes : undefined,
    rateLimit: 'limit' in r ? limits[r.limit] : undefined,
    handle: handlers[routeKey(r) as RouteKey]!,
  }));
}
