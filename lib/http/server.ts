import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { attachRawBody } from './body-limit.js';

type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

const MAX_BYTES = 128 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of req) {
    n += (chunk as Buffer).length;
    // the API's own limit answers with 413; this only stops a client from exhausting memory
    if (n > MAX_BYTES) break;
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

/**
 * The request as API Gateway (HTTP API, payload 2.0) or a Lambda function URL would deliver it,
 * but for the body: its bytes are attached as they are (attachRawBody), not base64-encoded.
 */
export function toEvent(req: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  // split, not parsed: API Gateway's rawPath and rawQueryString are the raw request target too
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const url = {
    pathname: q < 0 ? target : target.slice(0, q),
    search: q < 0 ? '' : target.slice(q),
  };
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
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
  return body.length ? attachRawBody(event, body) : event;
}

/**
 * Serves a Lambda HTTP handler from one plain Node process (`mlaas4hep serve`: a VM or a pod, as the
 * original ran on INFN Cloud). Binds where it is told, 127.0.0.1 by default.
 */
export function startHttpServer(
  handler: Handler,
  options: { port?: number; host?: string } = {},
): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    try {
      const result = await handler(toEvent(req, await readBody(req)), {} as Context);
      const body = result.body
        ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8')
        : undefined;
      // a length instead of chunked encoding: one write per response, cheaper for both ends
      res.writeHead(result.statusCode ?? 200, {
        ...(result.headers as Record<string, string>),
        'content-length': String(body?.length ?? 0),
      });
      res.end(body);
    } catch {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"InternalError","message":"internal error"}');
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
