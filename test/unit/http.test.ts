import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDevIssuer } from '../../lib/auth/dev-issuer.js';
import { createVerifier } from '../../lib/auth/verifier.js';
import {
  InvalidInputError,
  MlaasError,
  NotFoundError,
  TooManyRequestsError,
  UnavailableError,
} from '../../lib/errors.js';
import { createApi, type Route } from '../../lib/http/api.js';
import { errorResponse } from '../../lib/http/error-response.js';
import { httpHandler } from '../../lib/http/http-handler.js';
import { parseJson } from '../../lib/http/json-body.js';
import type { HttpHandlerOptions } from '../../lib/http/options.js';
import { RateLimiter } from '../../lib/http/rate-limit.js';
import { bodyReader } from '../../lib/http/server.js';
import type { HttpEvent, HttpFunction, HttpRequest } from '../../lib/http/types.js';

interface EventSpec {
  method?: string;
  path?: string;
  body?: string | Buffer;
  base64?: boolean;
  headers?: Record<string, string>;
  query?: string;
  requestId?: string | null;
  sourceIp?: string;
  cookies?: string[];
  routeKey?: string;
}

/** An API Gateway HTTP API (payload 2.0) event; `routeKey: '$default'` as a function URL sends it. */
function event(s: EventSpec = {}): HttpEvent {
  const method = s.method ?? 'POST';
  const path = s.path ?? '/things';
  const body =
    s.body === undefined
      ? undefined
      : Buffer.isBuffer(s.body) || s.base64
        ? Buffer.from(s.body).toString('base64')
        : s.body;
  return {
    version: '2.0',
    routeKey: s.routeKey ?? '$default',
    rawPath: path,
    rawQueryString: s.query ?? '',
    headers: s.headers ?? {},
    cookies: s.cookies,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc',
      domainName: 'abc.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abc',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: s.sourceIp ?? '192.0.2.1', userAgent: 'test' },
      requestId: s.requestId === null ? (undefined as unknown as string) : (s.requestId ?? 'req-1'),
      routeKey: '$default',
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    body,
    isBase64Encoded: body !== undefined && (Buffer.isBuffer(s.body) || Boolean(s.base64)),
  };
}

const context = {} as Context;
let logs: Record<string, unknown>[] = [];
const log = (e: Record<string, unknown>) => logs.push(e);
afterEach(() => {
  logs = [];
});

/** A public handler (no auth) that logs into `logs`. */
function handler(fn: HttpFunction, options: HttpHandlerOptions = {}) {
  return httpHandler(fn, { auth: false, log, ...options });
}

async function call(fn: HttpFunction, e: HttpEvent, options: HttpHandlerOptions = {}) {
  const res = await handler(fn, options)(e, context);
  const json =
    res.headers?.['content-type'] === 'application/json' && res.body ? JSON.parse(res.body) : undefined;
  return { ...res, json };
}

const echo: HttpFunction = (req) => ({ status: 200, body: { body: req.body } });

describe('error mapping', () => {
  it('a thrown plain Error gives 500 with a generic message: no stack, no raw message', async () => {
    const res = await call(() => {
      throw new Error('connection to db-internal.cern.ch:5432 refused');
    }, event());
    expect(res.statusCode).toBe(500);
    expect(res.json).toEqual({ error: 'InternalError', message: 'internal error (request req-1)' });
    expect(res.body).not.toMatch(/db-internal|refused|at /);
    // the log keeps the details for the operator
    expect(logs[0]).toMatchObject({ level: 'error', status: 500, reason: expect.stringMatching(/refused/) });
    expect(logs[0].stack).toMatch(/Error: connection/);
  });

  it('an MlaasError below 500 shows its code and message', async () => {
    const res = await call(() => {
      throw new NotFoundError('no job "j-42"; did you mean "j-24"?', 'JobNotFound');
    }, event());
    expect(res.statusCode).toBe(404);
    expect(res.json).toEqual({ error: 'JobNotFound', message: 'no job "j-42"; did you mean "j-24"?' });
  });

  it('an MlaasError of 500 or more never shows its message', async () => {
    const res = await call(() => {
      throw new MlaasError('secret bucket name s3://private', 500, 'Misconfigured');
    }, event());
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toMatch(/secret|Misconfigured/);
  });

  it('503 and 429 set Retry-After; 503 keeps its message to itself', () => {
    const unavailable = errorResponse(new UnavailableError('S3 at 10.0.0.7 timed out'), 'r1');
    expect(unavailable.statusCode).toBe(503);
    expect(unavailable.headers['retry-after']).toBe('5');
    expect(unavailable.body).not.toMatch(/10\.0\.0\.7/);
    const limited = errorResponse(new TooManyRequestsError(7), 'r2');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('7');
    expect(JSON.parse(limited.body).error).toBe('TooManyRequests');
  });

  it('every response carries x-request-id, errors and thrown non-errors included', async () => {
    expect(errorResponse('a string', 'r3').headers['x-request-id']).toBe('r3');
    const thrown = await call(
      () => {
        throw 'not an error';
      },
      event({ requestId: 'abc' }),
    );
    expect(thrown.statusCode).toBe(500);
    expect(thrown.headers?.['x-request-id']).toBe('abc');
    const ok = await call(() => ({ status: 204 }), event({ requestId: 'def' }));
    expect(ok.statusCode).toBe(204);
    expect(ok.headers?.['x-request-id']).toBe('def');
  });

  it('without a gateway request id, one is made up', async () => {
    const res = await call(() => ({ body: {} }), event({ requestId: null }));
    expect(res.headers?.['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a handler returning something that is not a result is a 500', async () => {
    const res = await call(() => undefined as never, event());
    expect(res.statusCode).toBe(500);
  });
});

describe('bodies', () => {
  it('a body over the limit → 413, before any parsing', async () => {
    const res = await call(echo, event({ body: `{"x": "${'a'.repeat(200)}"` }), { maxBodyBytes: 100 });
    expect(res.statusCode).toBe(413);
    expect(res.json.message).toMatch(/over this route's limit of 100 bytes/);
  });

  it('a base64 body over the limit → 413 without decoding it', async () => {
    const res = await call(echo, event({ body: Buffer.alloc(101) }), { maxBodyBytes: 100, json: false });
    expect(res.statusCode).toBe(413);
    const fits = await call(
      (req) => ({ body: (req.body as Buffer).length }),
      event({ body: Buffer.alloc(100) }),
      {
        maxBodyBytes: 100,
        json: false,
      },
    );
    expect(fits.json).toBe(100);
  });

  it('authenticates before the body limit: no token and an oversized body → 401, a token → 413', async () => {
    const dev = createDevIssuer('https://issuer.test', 'mlaas4hep');
    const verifier = createVerifier(dev.config, { jwks: dev.jwks });
    const res = await call(echo, event({ body: 'x'.repeat(200) }), {
      auth: { scopes: ['submit'] },
      verifier,
      maxBodyBytes: 100,
    });
    expect(res.statusCode).toBe(401);
    const token = dev.mintToken({ sub: 'alice', scopes: ['submit'] });
    const allowed = await call(
      echo,
      event({ body: 'x'.repeat(200), headers: { authorization: `Bearer ${token}` } }),
      {
        auth: { scopes: ['submit'] },
        verifier,
        maxBodyBytes: 100,
      },
    );
    expect(allowed.statusCode).toBe(413);
  });

  it('a body that arrived whole before it is read is taken as sent, or refused over the limit (413)', async () => {
    // each request's body is read only once the parser has it all, as after a slow authentication
    const server = createServer(async (req, res) => {
      const limit = Number(req.headers['x-limit']);
      await new Promise<void>((r) => setTimeout(r, 20));
      const read = bodyReader(req);
      const got = await read(limit).then(
        (b) => `${req.complete} ${b.toString()}`,
        (e: MlaasError) => `${e.status}`,
      );
      res.end(got);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    // chunked (no Content-Length), so only the bytes that arrived can be held against the limit
    const post = (limit: number, parts: string[]) =>
      new Promise<string>((resolve, reject) => {
        const req = request({ port, method: 'POST', headers: { 'x-limit': String(limit) } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        for (const p of parts) req.write(p);
        req.end();
      });
    try {
      expect(await post(100, ['{"a":', '[1,2]}'])).toBe('true {"a":[1,2]}');
      expect(await post(5, ['{"a":', '[1,2]}'])).toBe('413');
      expect(await post(100, [])).toBe('true ');
    } finally {
      server.close();
    }
  });

  it('the default limit is 1 MiB', async () => {
    const res = await call(echo, event({ body: JSON.stringify('x'.repeat(1024 * 1024)) }));
    expect(res.statusCode).toBe(413);
  });

  it('malformed JSON → 400 with a clear message', async () => {
    const res = await call(echo, event({ body: '{"files": [' }));
    expect(res.statusCode).toBe(400);
    expect(res.json).toMatchObject({
      error: 'InvalidInput',
      message: expect.stringMatching(/not valid JSON/),
    });
  });

  it('NaN and Infinity are not JSON → 400', async () => {
    for (const body of ['{"x": NaN}', '[Infinity]']) {
      expect((await call(echo, event({ body }))).statusCode).toBe(400);
    }
  });

  it('deeply nested JSON → 400 naming the depth', async () => {
    const res = await call(echo, event({ body: `${'['.repeat(1000)}${']'.repeat(1000)}` }));
    expect(res.statusCode).toBe(400);
    expect(res.json.message).toMatch(/nested more than 32 levels/);
    const shallow = await call(echo, event({ body: '[[[1]]]' }), { maxJsonDepth: 2 });
    expect(shallow.statusCode).toBe(400);
  });

  it('brackets inside strings do not count towards the depth', () => {
    expect(parseJson(`{"s": "${'[{'.repeat(100)}\\"]"}`, 2)).toEqual({ s: `${'[{'.repeat(100)}"]` });
  });

  it('bytes that are not UTF-8 → 400', async () => {
    const res = await call(echo, event({ body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }));
    expect(res.statusCode).toBe(400);
    expect(res.json.message).toMatch(/UTF-8/);
  });

  it('a base64-encoded JSON body is decoded, then parsed', async () => {
    const res = await call(echo, event({ body: '{"keys": ["x", "y"]}', base64: true }));
    expect(res.json).toEqual({ body: { keys: ['x', 'y'] } });
  });

  it('json: false hands the handler the raw bytes (uploads)', async () => {
    const bytes = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff]);
    let seen: unknown;
    await call(
      (req) => {
        seen = req.body;
        return { status: 201 };
      },
      event({ body: bytes }),
      { json: false },
    );
    expect(Buffer.isBuffer(seen) && seen.equals(bytes)).toBe(true);
  });

  it('an empty body is undefined for JSON routes', async () => {
    const res = await call(echo, event({ method: 'GET' }));
    expect(res.json).toEqual({});
  });
});

describe('the request a handler sees', () => {
  it('method, path, lower-cased headers, cookies, query and path parameters', async () => {
    let req: HttpRequest | undefined;
    const e = {
      ...event({
        method: 'get',
        path: '/jobs/j-1',
        headers: { 'X-Model-Name': 'higgs', Accept: 'application/json' },
        query: 'name=a%20b&limit=5',
        cookies: ['a=1', 'b=2'],
      }),
      pathParameters: { id: 'j-1' },
    };
    await call((r) => {
      req = r;
      return { body: null };
    }, e);
    expect(req).toMatchObject({
      method: 'GET',
      path: '/jobs/j-1',
      params: { id: 'j-1' },
      query: { name: 'a b', limit: '5' },
      headers: { 'x-model-name': 'higgs', accept: 'application/json', cookie: 'a=1; b=2' },
      requestId: 'req-1',
    });
  });

  it('raw results: text as is, bytes base64-encoded; JSON gets its content type', async () => {
    const text = await call(() => ({ raw: '<svg/>', contentType: 'image/svg+xml' }), event());
    expect(text).toMatchObject({ statusCode: 200, body: '<svg/>', isBase64Encoded: false });
    expect(text.headers?.['content-type']).toBe('image/svg+xml');
    const bytes = await call(
      () => ({ raw: new Uint8Array([1, 2, 3]), contentType: 'application/gzip' }),
      event(),
    );
    expect(bytes).toMatchObject({ body: 'AQID', isBase64Encoded: true });
    const json = await call(
      () => ({ status: 202, body: { id: 'j' }, headers: { Location: '/jobs/j' } }),
      event(),
    );
    expect(json.headers).toMatchObject({ 'content-type': 'application/json', location: '/jobs/j' });
  });

  it('one structured log line per request, with appended keys', async () => {
    await call(
      (req) => {
        req.appendLogKeys({ jobId: 'j-7', model: 'higgs', status: 'forged' });
        return { status: 202, body: {} };
      },
      event({ requestId: 'log-1' }),
      { route: 'POST /submit' },
    );
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      level: 'info',
      service: 'mlaas4hep',
      requestId: 'log-1',
      route: 'POST /submit',
      status: 202,
      jobId: 'j-7',
      model: 'higgs',
    });
    expect(typeof logs[0].cold_start).toBe('boolean');
    expect(typeof logs[0].ms).toBe('number');
    expect(typeof logs[0].message).toBe('string');
  });
});

describe('rate limit', () => {
  it('over the per-user limit → 429 with Retry-After; other callers keep their own budget', async () => {
    const h = handler(() => ({ body: 'ok' }), { rateLimit: { perMinute: 2 } });
    const from = (ip: string) => h(event({ sourceIp: ip, method: 'GET' }), context);
    expect((await from('192.0.2.1')).statusCode).toBe(200);
    expect((await from('192.0.2.1')).statusCode).toBe(200);
    const third = await from('192.0.2.1');
    expect(third.statusCode).toBe(429);
    expect(third.headers?.['retry-after']).toBe('30');
    expect(JSON.parse(third.body!).message).toMatch(/2 per minute/);
    expect((await from('192.0.2.2')).statusCode).toBe(200);
  });

  it('a bucket refills at the per-minute rate and forgets idle keys when full', () => {
    let now = 0;
    const limiter = new RateLimiter(60, { now: () => now, maxKeys: 2 });
    for (let i = 0; i < 60; i++) expect(limiter.take('alice')).toBe(0);
    expect(limiter.take('alice')).toBe(1);
    now += 1000;
    expect(limiter.take('alice')).toBe(0);
    limiter.take('bob');
    limiter.take('carol');
    expect(limiter.size).toBe(2);
  });
});

describe('options', () => {
  it('an unknown option key throws at construction, suggesting the right one', () => {
    const bad = { auth: false, maxBodyByte: 10 } as unknown as HttpHandlerOptions;
    expect(() => httpHandler(echo, bad)).toThrow(
      /unknown option "maxBodyByte" \(did you mean "maxBodyBytes"\?\)/,
    );
  });

  it('nested options are strict too, and values are checked', () => {
    const nested = { auth: { scopes: ['submit'], scope: 'x' } } as unknown as HttpHandlerOptions;
    expect(() => httpHandler(echo, nested)).toThrow(/unknown option "auth.scope"/);
    expect(() => httpHandler(echo, { auth: { scopes: ['sumbit'] } })).toThrow(/unknown scope "sumbit"/);
    expect(() => httpHandler(echo, { auth: false, maxBodyBytes: -1 })).toThrow(/positive integer/);
    expect(() => httpHandler(echo, { auth: false, rateLimit: { perMinute: 0 } })).toThrow(/perMinute/);
  });

  it('auth is on by default: without a verifier the environment must name the issuer', () => {
    vi.stubEnv('MLAAS4HEP_JWT_ISSUER', undefined);
    try {
      expect(() => httpHandler(echo)).toThrow(/MLAAS4HEP_JWT_ISSUER is not set/);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('createApi', () => {
  const dev = createDevIssuer('https://issuer.test', 'mlaas4hep');
  const verifier = createVerifier(dev.config, { jwks: dev.jwks });
  const routes: Route[] = [
    { method: 'GET', path: '/v2/health/live', scope: null, handle: async () => ({ status: 200, body: {} }) },
    {
      method: 'GET',
      path: '/models/{name}',
      scope: 'predict',
      handle: async (req) => ({ status: 200, body: { name: req.params.name, sub: req.user?.sub } }),
    },
    {
      method: 'DELETE',
      path: '/models/{name}',
      scope: 'admin',
      handle: async () => {
        throw new InvalidInputError('never reached');
      },
    },
  ];
  const api = createApi(routes, { verifier, log });
  const token = `Bearer ${dev.mintToken({ sub: 'alice', scopes: ['predict'] })}`;
  const get = (path: string, method = 'GET') =>
    api(event({ method, path, headers: { authorization: token } }), context).then((r) => ({
      ...r,
      json: JSON.parse(r.body!),
    }));

  it('routes by path template and decodes path parameters', async () => {
    expect((await get('/models/higgs%20v2')).json).toEqual({ name: 'higgs v2', sub: 'alice' });
  });

  it('unknown route → 404, another method → 405 with Allow, bad percent-encoding → 400', async () => {
    expect((await get('/nowhere')).statusCode).toBe(404);
    const wrong = await get('/models/higgs', 'POST');
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers?.allow).toBe('GET, DELETE');
    expect((await get('/models/%E0%A4%A')).statusCode).toBe(400);
  });

  it('each route needs its own scope: 403 names it', async () => {
    const res = await get('/models/higgs', 'DELETE');
    expect(res.statusCode).toBe(403);
    expect(res.json.message).toMatch(/"admin" scope/);
    expect(res.headers?.['www-authenticate']).toMatch(/insufficient_scope/);
  });

  it('an unknown option throws', () => {
    expect(() => createApi(routes, { verifier, logs: log } as never)).toThrow(/unknown option "logs"/);
  });

  it("the route's handler gets the Lambda timeout signal, aborted just before the time runs out", async () => {
    let seen: AbortSignal | undefined;
    const slow = createApi(
      [
        {
          method: 'GET',
          path: '/slow',
          scope: null,
          handle: (req) => {
            seen = req.signal;
            return new Promise((_, reject) =>
              req.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
            );
          },
        },
      ],
      { verifier, log },
    );
    const res = await slow(event({ method: 'GET', path: '/slow' }), {
      ...context,
      getRemainingTimeInMillis: () => 30,
    });
    expect(seen?.aborted).toBe(true);
    expect(res.statusCode).toBe(500);
  });
});
