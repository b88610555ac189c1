import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createDevIssuer } from '../../lib/auth/dev-issuer.js';
import { createVerifier } from '../../lib/auth/verifier.js';
import { readConfig } from '../../lib/config.js';
import { createApi, type Route } from '../../lib/http/api.js';
import { RateLimiter } from '../../lib/http/rate-limit.js';
import type { HttpEvent } from '../../lib/http/types.js';
import { DEFAULT_LIMITS } from '../../lib/limits.js';

const dev = createDevIssuer();
const verifier = createVerifier(dev.config, { jwks: dev.jwks });
const token = (sub: string) => dev.mint({ sub, scopes: ['submit', 'predict'] });

function event(method: string, path: string, bearer: string, sourceIp = '192.0.2.1'): HttpEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { authorization: `Bearer ${bearer}` },
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'local',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp, userAgent: 'test' },
      requestId: 'r',
      routeKey: '$default',
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    isBase64Encoded: false,
  };
}

const ok = async () => ({ status: 200, body: 'ok' });
const routes: Route[] = [
  { method: 'POST', path: '/json', scope: 'predict', rateLimit: { perMinute: 2 }, handle: ok },
  { method: 'POST', path: '/submit', scope: 'submit', rateLimit: { perMinute: 1 }, handle: ok },
  { method: 'GET', path: '/jobs/{id}', scope: 'submit', handle: ok },
];

describe('per-user rate limits through the API', () => {
  it("keys on the token's subject: one user over the limit from two addresses, another served from the same", async () => {
    const api = createApi(routes, { verifier, log: () => {} });
    const call = (path: string, who: string, ip?: string) =>
      api(event('POST', path, token(who), ip), {} as Context);
    expect((await call('/json', 'alice', '192.0.2.1')).statusCode).toBe(200);
    expect((await call('/json', 'alice', '198.51.100.7')).statusCode).toBe(200);
    const over = await call('/json', 'alice', '192.0.2.1');
    expect(over.statusCode).toBe(429);
    expect(over.headers?.['retry-after']).toBe('30');
    expect(JSON.parse(over.body!)).toMatchObject({ error: 'TooManyRequests' });
    expect((await call('/json', 'bob', '192.0.2.1')).statusCode).toBe(200);
    // each limited route has its own budget; a route without a limit has none
    expect((await call('/submit', 'alice')).statusCode).toBe(200);
    expect((await call('/submit', 'alice')).statusCode).toBe(429);
    for (let i = 0; i < 5; i++) {
      const res = await api(event('GET', `/jobs/j${i}`, token('alice')), {} as Context);
      expect(res.statusCode).toBe(200);
    }
  });

  it('an unauthenticated caller is refused with 401 before it could spend anyone’s budget', async () => {
    const api = createApi(routes, { verifier, log: () => {} });
    for (let i = 0; i < 3; i++)
      expect((await api(event('POST', '/json', 'junk'), {} as Context)).statusCode).toBe(401);
    expect((await api(event('POST', '/json', token('carol')), {} as Context)).statusCode).toBe(200);
  });
});

describe('RateLimiter', () => {
  it('allows a burst of perMinute, then one request every 60/perMinute s; Retry-After rounds up', () => {
    let now = 0;
    const limiter = new RateLimiter(4, { now: () => now });
    for (let i = 0; i < 4; i++) expect(limiter.take('k')).toBe(0);
    expect(limiter.take('k')).toBe(15);
    now += 14_000;
    expect(limiter.take('k')).toBe(1);
    now += 1_000;
    expect(limiter.take('k')).toBe(0);
    expect(limiter.take('k')).toBe(15);
    // a long pause refills to the burst, not beyond it
    now += 3_600_000;
    for (let i = 0; i < 4; i++) expect(limiter.take('k')).toBe(0);
    expect(limiter.take('k')).toBeGreaterThan(0);
  });

  it('when full, drops refilled buckets first, then the longest idle; the busy key keeps its debt', () => {
    let now = 0;
    const limiter = new RateLimiter(2, { now: () => now, maxKeys: 3 });
    limiter.take('busy');
    limiter.take('busy');
    limiter.take('idle-1');
    limiter.take('idle-2');
    now += 1_000;
    limiter.take('busy');
    limiter.take('new');
    expect(limiter.size).toBeLessThanOrEqual(3);
    // the busy key was not forgotten: still over its limit
    expect(limiter.take('busy')).toBeGreaterThan(0);
  });

  it('stays bounded in keys while 5,000 users churn through it', () => {
    const limiter = new RateLimiter(6000, { maxKeys: 1000 });
    const keys = Array.from({ length: 5000 }, (_, i) => `user:${i}\u0000POST /json`);
    for (let i = 0; i < 200_000; i++) limiter.take(keys[i % keys.length]);
    expect(limiter.size).toBeLessThanOrEqual(1000);
  });
});

describe('readConfig: the one place serve and the Lambda functions read their policy', () => {
  const policy = (env: NodeJS.ProcessEnv, allowedSources?: string[]) => {
    const c = readConfig(env, { allowedSources });
    return { rateLimits: c.rateLimits, allowedSources: c.allowedSources, limits: c.limits };
  };
  it('defaults, 0 turning a limit off, the allow-list, and bad values named', () => {
    expect(policy({})).toEqual({
      rateLimits: { predict: { perMinute: 6000 }, submit: { perMinute: 60 } },
      allowedSources: undefined,
      limits: DEFAULT_LIMITS,
    });
    const c = policy(
      {
        MLAAS4HEP_RATE_LIMIT_PREDICT: '0',
        MLAAS4HEP_RATE_LIMIT_SUBMIT: '10',
        MLAAS4HEP_ALLOWED_SOURCES: ' s3://hep/data/ , /srv/data ',
      },
      ['s3://fallback/'],
    );
    expect(c).toEqual({
      rateLimits: { predict: undefined, submit: { perMinute: 10 } },
      allowedSources: ['s3://hep/data/', '/srv/data'],
      limits: DEFAULT_LIMITS,
    });
    expect(policy({}, ['s3://b/']).allowedSources).toEqual(['s3://b/']);
    expect(() => policy({ MLAAS4HEP_RATE_LIMIT_PREDICT: '1.5' })).toThrow(
      /MLAAS4HEP_RATE_LIMIT_PREDICT must be a whole number/,
    );
    expect(() => policy({ MLAAS4HEP_ALLOWED_SOURCES: 'data/' })).toThrow(
      /MLAAS4HEP_ALLOWED_SOURCES: allowed source "data\/" is neither a URL prefix/,
    );
    expect(() => policy({ MLAAS4HEP_RATE_LIMIT_SUBMIT: '-1' })).toThrow(
      expect.objectContaining({ code: 'Misconfigured', status: 500 }),
    );
  });
});
