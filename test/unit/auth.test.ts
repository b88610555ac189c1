import { createHmac, createPrivateKey, createSecretKey, generateKeyPairSync } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv } from '../../lib/auth/config.js';
import {
  createDevIssuer,
  type RunningDevIssuer,
  signJwt,
  startDevIssuer,
} from '../../lib/auth/dev-issuer.js';
import { loopbackJwksCache } from '../../lib/auth/jwks-cache.js';
import { createVerifier, type TokenVerifier, verifierFromEnv } from '../../lib/auth/verifier.js';
import { ForbiddenError, UnauthorizedError, UnavailableError } from '../../lib/errors.js';
import { httpHandler } from '../../lib/http/http-handler.js';
import type { HttpEvent, HttpRequest } from '../../lib/http/types.js';

// a real issuer on 127.0.0.1, its keys fetched over http by the loopback-only fetcher
let issuer: RunningDevIssuer;
let verifier: TokenVerifier;
beforeAll(async () => {
  issuer = await startDevIssuer({ audience: 'mlaas4hep' });
  verifier = createVerifier(issuer.config, { jwksCache: issuer.jwksCache });
});
afterAll(() => issuer.stop());

const bearer = (t: string) => `Bearer ${t}`;
const refusal = (h: string | undefined, v: TokenVerifier = verifier) =>
  v.verify(h).then(
    () => {
      throw new Error('the token was accepted');
    },
    (e: unknown) => e as Error,
  );
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const claims = (over: Record<string, unknown> = {}) => {
  const now = Math.floor(Date.now() / 1000);
  return { iss: issuer.url, aud: 'mlaas4hep', sub: 'alice', iat: now, exp: now + 600, ...over };
};

describe('bearer tokens → 401', () => {
  it.each([
    ['a missing header', () => undefined, /missing Authorization header/],
    ['an empty header', () => '  ', /missing Authorization header/],
    ['a header that is not Bearer', () => 'Basic YWxpY2U6c2VjcmV0', /malformed Authorization header/],
    ['a token that is not a JWT', () => 'Bearer not-a-jwt', /malformed Authorization header/],
    ['a JWT whose parts are not JSON', () => 'Bearer aaaa.bbbb.cccc', /invalid token: malformed/],
    [
      'an expired token',
      () => bearer(issuer.mintToken({ sub: 'a', expiresIn: -60 })),
      /invalid token: expired/,
    ],
    [
      'a token for another audience',
      () => bearer(issuer.mintToken({ sub: 'a', audience: 'someone-else' })),
      /invalid token: wrong audience/,
    ],
    [
      'a token from another issuer',
      () => bearer(issuer.mintToken({ sub: 'a', issuer: 'https://evil.example/' })),
      /invalid token: wrong issuer/,
    ],
    [
      'a token signed by another key',
      () => bearer(createDevIssuer(issuer.url, 'mlaas4hep').mintToken({ sub: 'a' })),
      /invalid token: bad signature/,
    ],
  ])('%s', async (_what, header, message) => {
    const err = await refusal(header());
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as UnauthorizedError).status).toBe(401);
    expect(err.message).toMatch(message);
  });

  it('a token signed by another key under our key id', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const token = signJwt({ alg: 'RS256', typ: 'JWT', kid: issuer.kid }, claims(), other);
    expect((await refusal(bearer(token))).message).toBe('invalid token: bad signature');
  });

  it('a tampered payload (one character flipped, signature kept)', async () => {
    const [h, p, s] = issuer.mintToken({ sub: 'alice', scopes: ['predict'] }).split('.');
    const i = p.length >> 1;
    const flipped = `${p.slice(0, i)}${p[i] === 'A' ? 'B' : 'A'}${p.slice(i + 1)}`;
    const err = await refusal(bearer(`${h}.${flipped}.${s}`));
    expect(err).toBeInstanceOf(UnauthorizedError);
  });

  it('a forged payload granting more scopes (signature kept)', async () => {
    const [h, p, s] = issuer.mintToken({ sub: 'alice', scopes: ['predict'] }).split('.');
    const forged = b64({
      ...JSON.parse(Buffer.from(p, 'base64url').toString()),
      scope: 'admin submit predict',
    });
    expect((await refusal(bearer(`${h}.${forged}.${s}`))).message).toBe('invalid token: bad signature');
  });

  it('an unsigned token (alg none) and one signed with HS256 using the public key', async () => {
    const none = `${b64({ alg: 'none', typ: 'JWT', kid: issuer.kid })}.${b64(claims({ scope: 'admin' }))}.`;
    expect(await refusal(bearer(none))).toBeInstanceOf(UnauthorizedError);
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: issuer.kid })}.${b64(claims({ scope: 'admin' }))}`;
    const secret = createSecretKey(Buffer.from(JSON.stringify(issuer.jwks.keys[0])));
    const hs = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    expect(await refusal(bearer(hs))).toBeInstanceOf(UnauthorizedError);
  });

  it('a token without a subject', async () => {
    const token = signJwt(
      { alg: 'RS256', kid: issuer.kid },
      claims({ sub: undefined }),
      createPrivateKey(issuer.privateKeyPem),
    );
    expect((await refusal(bearer(token))).message).toBe('invalid token: no subject');
  });
});

describe('scopes and groups', () => {
  it('a Cognito access token (client_id instead of aud, scopes named with their resource server) is accepted', async () => {
    const key = createPrivateKey(issuer.privateKeyPem);
    const access = (over: Record<string, unknown>) =>
      bearer(
        signJwt(
          { alg: 'RS256', kid: issuer.kid },
          claims({ aud: undefined, token_use: 'access', ...over }),
          key,
        ),
      );
    const p = await verifier.verify(
      access({ client_id: 'mlaas4hep', scope: 'mlaas4hep/predict https://api.example/submit' }),
    );
    expect(['predict', 'submit'].every((s) => p.scopes.has(s))).toBe(true);
    expect(p.scopes.has('admin')).toBe(false);
    expect((await refusal(access({ client_id: 'another-app', scope: 'x/admin' }))).message).toBe(
      'invalid token: wrong audience',
    );
    expect((await refusal(access({ scope: 'x/admin' }))).message).toBe('invalid token: wrong audience');
  });

  it('a group named like a scope grants that scope only (Cognito ID tokens carry groups, not scopes)', async () => {
    const key = createPrivateKey(issuer.privateKeyPem);
    const token = signJwt(
      { alg: 'RS256', kid: issuer.kid },
      claims({ 'cognito:groups': ['predict', 'cms'] }),
      key,
    );
    const p = await verifier.verify(bearer(token));
    expect([...p.scopes]).toEqual(['predict']);
  });

  it('a valid token gives its subject, scopes and groups', async () => {
    const p = await verifier.verify(
      bearer(issuer.mintToken({ sub: 'alice', scopes: ['submit', 'predict'], groups: ['cms'] })),
    );
    expect(p.sub).toBe('alice');
    expect([...p.scopes].sort()).toEqual(['predict', 'submit']);
    expect(p.groups).toEqual(['cms']);
  });

  it('scopes may come from scp and groups from cognito:groups; the admin group grants every scope', async () => {
    const key = createPrivateKey(issuer.privateKeyPem);
    const token = signJwt(
      { alg: 'RS256', kid: issuer.kid },
      claims({ scp: ['predict'], 'cognito:groups': ['admin'] }),
      key,
    );
    const p = await verifier.verify(`bearer ${token}`);
    expect([...p.scopes].sort()).toEqual(['admin', 'predict', 'submit']);
  });

  it('a verified token is remembered: the same token verifies again without a new check', async () => {
    const token = bearer(issuer.mintToken({ sub: 'bob', scopes: ['predict'] }));
    expect(await verifier.verify(token)).toBe(await verifier.verify(token));
  });
});

describe('through the HTTP stack', () => {
  const event = (authorization?: string): HttpEvent =>
    ({
      version: '2.0',
      routeKey: 'POST /submit',
      rawPath: '/submit',
      rawQueryString: '',
      headers: authorization ? { authorization } : {},
      requestContext: { requestId: 'r', http: { method: 'POST', path: '/submit', sourceIp: '127.0.0.1' } },
      body: '{"files": []}',
      isBase64Encoded: false,
    }) as unknown as HttpEvent;
  let seen: HttpRequest | undefined;
  const submit = () =>
    httpHandler(
      (req) => {
        seen = req;
        return { status: 202, body: { by: req.user?.sub } };
      },
      { auth: { scopes: ['submit'] }, verifier, log: () => {} },
    );

  it('missing or invalid token → 401 with a Bearer challenge; the handler never runs', async () => {
    seen = undefined;
    for (const h of [undefined, 'Bearer x.y.z', bearer(issuer.mintToken({ sub: 'a', expiresIn: -1 }))]) {
      const res = await submit()(event(h), {} as Context);
      expect(res.statusCode).toBe(401);
      expect(res.headers?.['www-authenticate']).toBe('Bearer');
      expect(JSON.parse(res.body!).error).toBe('Unauthorized');
    }
    expect(seen).toBeUndefined();
  });

  it('a valid token lacking the route scope → 403 naming the scope', async () => {
    const res = await submit()(
      event(bearer(issuer.mintToken({ sub: 'carol', scopes: ['predict'] }))),
      {} as Context,
    );
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(res.body!)).toEqual({
      error: 'Forbidden',
      message: 'this token lacks the "submit" scope needed for POST /submit',
    });
  });

  it('a valid token → the handler sees sub, scopes and the parsed body', async () => {
    const res = await submit()(
      event(bearer(issuer.mintToken({ sub: 'alice', scopes: ['submit'] }))),
      {} as Context,
    );
    expect(res.statusCode).toBe(202);
    expect(seen?.user?.sub).toBe('alice');
    expect([...(seen?.user?.scopes ?? [])]).toEqual(['submit']);
    expect(seen?.body).toEqual({ files: [] });
  });
});

describe('configuration', () => {
  const env = {
    MLAAS4HEP_JWT_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x',
    MLAAS4HEP_JWT_AUDIENCE: 'client-id',
    MLAAS4HEP_JWT_JWKS_URI: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x/.well-known/jwks.json',
  };

  it('a missing variable is named', () => {
    for (const k of Object.keys(env)) {
      expect(() => configFromEnv({ ...env, [k]: '' })).toThrow(new RegExp(`${k} is not set`));
    }
    expect(configFromEnv(env).audience).toBe('client-id');
  });

  it('an http JWKS URI is refused unless the development issuer is explicitly on, and then only on 127.0.0.1', () => {
    const local = { ...env, MLAAS4HEP_JWT_JWKS_URI: 'http://127.0.0.1:9/.well-known/jwks.json' };
    expect(() => configFromEnv(local)).toThrow(/must be an https:\/\/ URL/);
    expect(configFromEnv({ ...local, MLAAS4HEP_DEV_ISSUER: '1' }).jwksUri).toMatch(/^http:/);
    const remote = {
      ...env,
      MLAAS4HEP_JWT_JWKS_URI: 'http://idp.example/jwks.json',
      MLAAS4HEP_DEV_ISSUER: '1',
    };
    expect(() => configFromEnv(remote)).toThrow(/https/);
  });

  it('development keys in the environment are refused without MLAAS4HEP_DEV_ISSUER=1', () => {
    const dev = createDevIssuer();
    expect(() => verifierFromEnv({ ...env, MLAAS4HEP_DEV_JWKS: JSON.stringify(dev.jwks) })).toThrow(
      /MLAAS4HEP_DEV_ISSUER is not 1/,
    );
  });

  it('with MLAAS4HEP_DEV_ISSUER=1 the verifier fetches the running development issuer', async () => {
    const v = verifierFromEnv({
      MLAAS4HEP_DEV_ISSUER: '1',
      MLAAS4HEP_JWT_ISSUER: issuer.config.issuer,
      MLAAS4HEP_JWT_AUDIENCE: issuer.config.audience,
      MLAAS4HEP_JWT_JWKS_URI: issuer.config.jwksUri,
    });
    expect((await v.verify(bearer(issuer.mintToken({ sub: 'dev', scopes: ['admin'] })))).sub).toBe('dev');
  });

  it('the development issuer serves its JWKS and an OIDC discovery document, on 127.0.0.1 only', async () => {
    expect(issuer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const doc = await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json();
    expect(doc).toMatchObject({ issuer: issuer.url, jwks_uri: issuer.config.jwksUri });
    const jwks = (await (await fetch(issuer.config.jwksUri)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys[0]).toMatchObject({ kid: issuer.kid, alg: 'RS256', kty: 'RSA' });
    expect(jwks.keys[0].d).toBeUndefined();
    await expect(startDevIssuer({ host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow(/127\.0\.0\.1 only/);
  });

  it('unreachable issuer keys → 503, not 401', async () => {
    const gone = await startDevIssuer();
    await gone.stop();
    const v = createVerifier(gone.config, { jwksCache: loopbackJwksCache() });
    const err = await refusal(bearer(gone.mintToken({ sub: 'a' })), v);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).status).toBe(503);
  });

  it('the loopback fetcher never leaves 127.0.0.1', async () => {
    const v = createVerifier(
      { issuer: 'https://idp.example', audience: 'mlaas4hep', jwksUri: 'https://idp.example/jwks.json' },
      { jwksCache: loopbackJwksCache() },
    );
    const token = createDevIssuer('https://idp.example').mintToken({ sub: 'a' });
    expect(await refusal(bearer(token), v)).toBeInstanceOf(UnavailableError);
  });

  it('ForbiddenError carries the missing scope', () => {
    expect(new ForbiddenError('no', 'submit').scope).toBe('submit');
  });
});
