import { createHash, createPrivateKey, createPublicKey, createSign, generateKeyPairSync } from 'node:crypto';
import type { AuthConfig } from './verifier.js';

/**
 * A token issuer for local use only (enabled by explicit configuration, never in a deployment):
 * an RSA key made at start, its public JWKS, and RS256 tokens signed with node:crypto.
 */
export interface DevIssuer {
  config: AuthConfig;
  jwks: { keys: Array<Record<string, unknown>> };
  privateKeyPem: string;
  mint(claims: {
    sub: string;
    scopes?: string[];
    groups?: string[];
    expiresIn?: number;
    audience?: string;
    issuer?: string;
  }): string;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export function createDevIssuer(
  issuer = 'http://127.0.0.1/mlaas4hep-dev',
  audience = 'mlaas4hep',
  keyPem?: string,
): DevIssuer {
  // a key kept in the local stack's folder lets `mlaas4hep token` mint tokens the stack accepts
  const privateKey = keyPem
    ? createPrivateKey(keyPem)
    : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const publicKey = createPublicKey(privateKey);
  const kid = createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex')
    .slice(0, 16);
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  return {
    config: { issuer, audience, jwksUri: `${issuer}/.well-known/jwks.json` },
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    jwks: { keys: [jwk] },
    mint(c) {
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
      const payload = b64url(
        JSON.stringify({
          iss: c.issuer ?? issuer,
          aud: c.audience ?? audience,
          sub: c.sub,
          iat: now,
          exp: now + (c.expiresIn ?? 3600),
          scope: (c.scopes ?? []).join(' '),
          ...(c.groups ? { groups: c.groups } : {}),
        }),
      );
      const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKey);
      return `${header}.${payload}.${b64url(signature)}`;
    },
  };
}
