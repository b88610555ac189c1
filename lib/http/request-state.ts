import { randomUUID } from 'node:crypto';
import type { MiddlewareObj, Request } from '@middy/core';
import type { Principal } from '../auth/verifier.js';
import type { HttpEvent } from './types.js';

/** What the middlewares learn about one request, handed down the stack to the handler. */
export interface RequestState {
  requestId: string;
  method: string;
  path: string;
  /** the route in log lines, e.g. "GET /jobs/{id}" */
  route: string;
  /** the route in rate-limit keys: a template, never a concrete path (ids would dodge the limit) */
  routeKey: string;
  /** names lower-cased, cookies folded into `cookie` */
  headers: Record<string, string>;
  startedAt: number;
  logKeys: Record<string, unknown>;
  rawBody?: Buffer;
  body?: unknown;
  user?: Principal;
  error?: unknown;
}

export type HttpMiddleware = MiddlewareObj<HttpEvent, unknown>;
export type HttpMiddyRequest = Request<HttpEvent, unknown>;

/**
 * Where the state lives: on the event copy made for each invocation, so concurrent or repeated
 * events never share state. A property, not a WeakMap keyed by the event: V8's young-generation
 * collections keep a WeakMap's values alive, so every request's state, headers and parsed body
 * were promoted to the old generation (about 2 KiB a request, each promotion page an mmap and
 * two munmaps) and lived on until a full collection.
 */
const STATE = Symbol('mlaas4hep.requestState');
type WithState = { [STATE]?: RequestState };

function normaliseHeaders(event: HttpEvent): Record<string, string> {
  const headers: Record<string, string> = {};
  const from = event.headers ?? {};
  for (const k in from) {
    const v = from[k];
    if (v !== undefined) headers[k.toLowerCase()] = v;
  }
  // payload 2.0 moves cookies out of the headers
  if (event.cookies?.length && !headers.cookie) headers.cookie = event.cookies.join('; ');
  return headers;
}

/**
 * Starts a request: copies the event (so state is per invocation), names it, and records its id
 * (API Gateway's or the function URL's request id, else the Lambda request id, else a new UUID).
 */
export function beginRequest(request: HttpMiddyRequest, route?: string): RequestState {
  const event: HttpEvent = { ...((request.event ?? {}) as HttpEvent) };
  request.event = event;
  const http = event.requestContext?.http;
  const method = (http?.method ?? 'GET').toUpperCase();
  const path = event.rawPath ?? http?.path ?? '/';
  const templated = event.routeKey && event.routeKey !== '$default' ? event.routeKey : undefined;
  const state: RequestState = {
    requestId: event.requestContext?.requestId || request.context?.awsRequestId || randomUUID(),
    method,
    path,
    route: route ?? templated ?? `${method} ${path}`,
    routeKey: route ?? templated ?? method,
    headers: normaliseHeaders(event),
    startedAt: performance.now(),
    logKeys: {},
  };
  (event as WithState)[STATE] = state;
  return state;
}

/** This request's state, or undefined before `beginRequest` ran. */
export function findState(event: unknown): RequestState | undefined {
  return event && typeof event === 'object' ? (event as WithState)[STATE] : undefined;
}

/** This request's state; the request logger must come first in the stack. */
export function stateOf(event: unknown): RequestState {
  const s = findState(event);
  if (!s) throw new Error('request state missing: requestLogger() must be the first middleware');
  return s;
}
