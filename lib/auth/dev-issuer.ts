import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSign,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { AuthConfig } from './config.js';
import { type Jwks, loopbackJwksCache } from './jwks-cache.js';
import { SCOPES } from './verifier.js';

/**
 * A token issuer for local use only: an RSA key, its public JWKS, and RS256 tokens signed with
 * node:crypto (no JWT library). A service accepts its tokens only when told to explicitly:
 * MLAAS4HEP_DEV_ISSUER=1 with `verifierFromEnv`, or a verifier built in code with its `jwks`.
 */

export interface MintClaims {
  sub: string;
  scopes?: string[];
  groups?: string[];
  /** seconds from now; negative for an already expired token (tests). Default 3600. */
  expiresIn?: number;
  audience?: string;
  issuer?: string;
}

export interface DevIssuer {
  config: AuthConfig;
  jwks: Jwks;
  privateKeyPem: string;
  /** the key id in every token's header and in the JWKS */
  kid: string;
  mintToken(claims: MintClaims): string;
  /** @deprecated the same as mintToken */
  mint(claims: MintClaims): string;
}

export interface RunningDevIssuer extends DevIssuer {
  /** http://127.0.0.1:PORT, also the issuer (`iss`) */
  url: string;
  /** fetches this issuer's JWKS over plain http from 127.0.0.1 (see loopbackJwksCache) */
  jwksCache: SimpleJwksCache;
  stop(): Promise<void>;
}

/**
 * The environment under which another process (serverless offline's functions, a `serve --workers`
 * process) accepts this issuer's tokens with `verifierFromEnv`: its config and its public keys,
 * preloaded, and the explicit MLAAS4HEP_DEV_ISSUER=1.
 */
export function devIssuerEnv(dev: DevIssuer): Record<string, string> {
  return {
    MLAAS4HEP_JWT_ISSUER: dev.config.issuer,
    MLAAS4HEP_JWT_AUDIENCE: dev.config.audience,
    MLAAS4HEP_JWT_JWKS_URI: dev.config.jwksUri,
    MLAAS4HEP_DEV_JWKS: JSON.stringify(dev.jwks),
    MLAAS4HEP_DEV_ISSUER: '1',
  };
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** RS256 over `header.payload`, as JWS compact serialisation. */
export function signJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject,
): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${b64url(createSign('RSA-SHA256').update(input).sign(key))}`;
}

/**
 * The issuer without a server: its keys (made now, or from `keyPem` so that tokens minted later by
 * `mlaas4hep token` still verify) and a minting function. Its JWKS is handed to the verifier.
 */
export function createDevIssuer(
  issuer = 'http://127.0.0.1/mlaas4hep-dev',
  audience = 'mlaas4hep',
  keyPem?: string,
): DevIssuer {
  const privateKey = keyPem
    ? createPrivateKey(keyPem)
    : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const publicKey = createPublicKey(privateKey);
  const kid = createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex')
    .slice(0, 16);
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const mintToken = (c: MintClaims): string => {
    const now = Math.floor(Date.now() / 1000);
    return signJwt(
      { alg: 'RS256', typ: 'JWT', kid },
      {
        iss: c.issuer ?? issuer,
        aud: c.audience ?? audience,
        sub: c.sub,
        iat: now,
        exp: now + (c.expiresIn ?? 3600),
        scope: (c.scopes ?? []).join(' '),
        ...(c.groups ? { groups: c.groups } : {}),
      },
      privateKey,
    );
  };
  return {
    config: { issuer, audience, jwksUri: `${issuer}/.well-known/jwks.json` },
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    jwks: { keys: [jwk] },
    kid,
    mintToken,
    mint: mintToken,
  };
}

/**
 * Serves a development issuer on 127.0.0.1 (never another address): `/.well-known/jwks.json` and an
 * OIDC discovery document at `/.well-known/openid-configuration`, over plain http. aws-jwt-verify
 * fetches https only, and node:crypto cannot make the self-signed X.509 certificate https would
 * need, so a verifier reaches these keys through `jwksCache` (a fetcher restricted to 127.0.0.1),
 * or takes `jwks` preloaded. Port 0 (the default) picks a free port.
 */
export async function startDevIssuer(
  options: { port?: number; host?: '127.0.0.1'; audience?: string; keyPem?: string } = {},
): Promise<RunningDevIssuer> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new TypeError(`the development issuer binds 127.0.0.1 only, not "${host}"`);
  let documents: Record<string, unknown> = {};
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const doc = req.method === 'GET' ? documents[path] : undefined;
    res.writeHead(doc ? 200 : 404, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(doc ?? { error: 'NotFound' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://${host}:${port}`;
  const issuer = createDevIssuer(url, options.audience, options.keyPem);
  documents = {
    '/.well-known/jwks.json': issuer.jwks,
    '/.well-known/openid-configuration': {
      issuer: url,
      jwks_uri: issuer.config.jwksUri,
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      scopes_supported: [...SCOPES],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'scope', 'groups'],
    },
  };
  return {
    ...issuer,
    url,
    jwksCache: loopbackJwksCache(),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
