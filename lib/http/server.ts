import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { InvalidInputError } from '../errors.js';
import { defaultLog, errorFields, type LogFn } from '../log.js';
import { attachBodyReader, type BodyReader, tooLarge } from './body-limit.js';

type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** After answering a request whose body was left unread: how long, and how much, to drain before closing. */
const LINGER_MS = 2000;
const LINGER_BYTES = 8 * 1024 * 1024;

/**
 * The body of `req`, read only when the API asks for it (after authentication) and only up to the
 * route's limit: a Content-Length over it is refused before a byte is read, a body without one
 * (chunked) is refused as soon as it passes the limit, and nothing over the limit is buffered.
 */
export function bodyReader(req: IncomingMessage): BodyReader {
  return (limit) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit)
      return Promise.reject(tooLarge(Number(declared), limit));
    if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
    // a small body has usually arrived whole while the caller was authenticated: it waits in the
    // stream's buffer (bounded by its high-water mark, past which the socket is paused), taken at
    // once without listeners, a promise of its own and further ticks
    if (req.complete) {
      if (req.readableLength > limit) return Promise.reject(tooLarge(req.readableLength, limit));
      return Promise.resolve((req.read() as Buffer | null) ?? Buffer.alloc(0));
    }
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      let n = 0;
      const done = () => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onClose);
      };
      const onData = (chunk: Buffer) => {
        n += chunk.length;
        if (n > limit) {
          done();
          req.pause();
          reject(tooLarge(undefined, limit));
          return;
        }
        parts.push(chunk);
      };
      const onEnd = () => {
        done();
        // a small body comes in one chunk: concat would copy it, and allocate a new pool every 8 KiB
        resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts, n));
      };
      const onError = (err: Error) => {
        done();
        reject(new InvalidInputError(`the request body could not be read: ${err.message}`));
      };
      const onClose = () => {
        if (req.readableEnded) return;
        done();
        reject(new InvalidInputError('the request body ended before its declared length'));
      };
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', onError);
      req.on('close', onClose);
    });
  };
}

/**
 * Once a response is sent for a request whose body was not read to its end (refused before or
 * while reading), the connection is closed: first drained for a moment (so the client, still
 * sending, reads the answer instead of a reset), then destroyed.
 */
function closeUnread(req: IncomingMessage): void {
  let drained = 0;
  req.on('data', (c: Buffer) => {
    drained += c.length;
    if (drained > LINGER_BYTES) req.socket.destroy();
  });
  req.resume();
  setTimeout(() => req.socket.destroy(), LINGER_MS).unref();
}

/**
 * The request as API Gateway (HTTP API, payload 2.0) or a Lambda function URL would deliver it,
 * but for the body: it stays on the socket until the API reads it (attachBodyReader).
 */
export function toEvent(req: IncomingMessage): APIGatewayProxyEventV2 {
  // split, not parsed: API Gateway's rawPath and rawQueryString are the raw request target too
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const url = {
    pathname: q < 0 ? target : target.slice(0, q),
    search: q < 0 ? '' : target.slice(q),
  };
  const headers: Record<string, string> = {};
  const from = req.headers;
  for (const k in from) {
    const v = from[k];
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  }
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: req.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
  };
  return attachBodyReader(event, bodyReader(req));
}

/**
 * Serves a Lambda HTTP handler from one plain Node process (`mlaas4hep serve`: a VM or a pod, as the
 * original ran on INFN Cloud). Binds where it is told, 127.0.0.1 by default.
 */
export function startHttpServer(
  handler: Handler,
  options: { port?: number; host?: string; log?: LogFn } = {},
): Promise<{ server: Server; url: string }> {
  const log = options.log ?? defaultLog;
  const server = createServer(async (req, res) => {
    try {
      const result = await handler(toEvent(req), {} as Context);
      // text stays a string, which Node joins to the header block (as the no-op ceiling's body):
      // no Buffer made here, one chunk fewer in the socket's writev
      const body = !result.body
        ? undefined
        : result.isBase64Encoded
          ? Buffer.from(result.body, 'base64')
          : result.body;
      // complete: the body (if any) has arrived whole; else the client is still sending one we refused
      const unread = !req.complete;
      // a length instead of chunked encoding: one write per response, cheaper for both ends
      res.writeHead(result.statusCode ?? 200, {
        ...(result.headers as Record<string, string>),
        'content-length': String(
          body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length,
        ),
        ...(unread ? { connection: 'close' } : {}),
      });
      res.end(body);
      if (unread) closeUnread(req);
    } catch (err) {
      // the API answers every error itself; this is a bug of ours, logged (never silent)
      log({
        level: 'error',
        message: 'unhandled error in the HTTP server',
        method: req.method,
        path: req.url?.slice(0, 200),
        ...errorFields(err),
      });
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json', connection: 'close' });
        res.end('{"error":"InternalError","message":"internal error"}');
      }
      if (!req.complete) closeUnread(req);
    }
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => {
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      const a = server.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      resolve({ server, url: `http://${options.host ?? '127.0.0.1'}:${port}` });
    });
  });
}
