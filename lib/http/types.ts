import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Principal } from '../auth/verifier.js';

/**
 * An API Gateway HTTP API event or a Lambda function URL event: both use payload format 2.0
 * (`LambdaFunctionURLEvent` is the same type).
 */
export type HttpEvent = APIGatewayProxyEventV2;
export type HttpEventResult = APIGatewayProxyStructuredResultV2;

/** What a handler sees: the request already sized, authenticated and (for JSON routes) parsed. */
export interface HttpRequest {
  method: string;
  path: string;
  /** the route in log lines and rate-limit keys, e.g. "GET /jobs/{id}" */
  route: string;
  /** path parameters, percent-decoded: {id} of /jobs/{id} */
  params: Record<string, string>;
  query: Record<string, string>;
  /** names lower-cased; cookies folded into `cookie` */
  headers: Record<string, string>;
  /** parsed JSON (`json: true`; undefined for an empty body), else the raw bytes */
  body: unknown;
  rawBody: Buffer;
  /** the caller, on authenticated routes */
  user?: Principal;
  requestId: string;
  /** adds keys (jobId, model) to this request's log line */
  appendLogKeys(keys: Record<string, unknown>): void;
  /** aborted just before the Lambda times out */
  signal?: AbortSignal;
}

/** A JSON response: `body` is serialised (none when undefined). Status defaults to 200. */
export interface JsonResult {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A non-JSON response (SVG plots, logs, bundles): sent as is. Status defaults to 200. */
export interface RawResult {
  status?: number;
  raw: string | Uint8Array;
  contentType: string;
  headers?: Record<string, string>;
}

export type HttpResult = JsonResult | RawResult;

export type HttpFunction = (req: HttpRequest, context: Context) => Promise<HttpResult> | HttpResult;
