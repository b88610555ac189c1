import { JwtVerifier } from 'aws-jwt-verify';
import {
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  JwtParseError,
  KidNotFoundInJwksError,
} from 'aws-jwt-verify/error';
import { type JwksCache, SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { MlaasError } from '../errors.js';
import { UnauthorizedError } from '../http/errors.js';

export interface AuthConfig {
  issuer: string;
  audience: string;
  jwksUri: string;
}

/** Who the token says the caller is, and what it may do. */
export interface Principal {
  sub: string;
  scopes: Set<string>;
  groups: string[];
}

/** Reads the issuer, audience and JWKS URI once at cold start; a missing one is named. */
export function authConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AuthConfig {
  const need = (k: string): string => {
    const v = env[k];
    if (!v) throw new MlaasError(`environment variable ${k} is not set`, 500, 'Misconfigured');
    return v;
  };
  return {
    issuer: need('MLAAS4HEP_JWT_ISSUER'),
    audience: need('MLAAS4HEP_JWT_AUDIENCE'),
    jwksUri: need('MLAAS4HEP_JWT_JWKS_URI'),
  };
}

export interface TokenVerifier {
  verify(authorization: string | undefined): Promise<Principal>;
}

function reason(err: unknown): string {
  if (err instanceof JwtExpiredError) return 'expired';
  if (err instanceof JwtNotBeforeError) return 'not valid yet';
  if (err instanceof JwtInvalidIssuerError) return 'wrong issuer';
  if (err instanceof JwtInvalidAudienceError) return 'wrong audience';
  if (err instanceof JwtInvalidSignatureError || err instanceof KidNotFoundInJwksError)
    return 'bad signature';
  if (err instanceof JwtParseError) return 'malformed';
  return 'cannot be verified';
}

/**
 * Bearer tokens verified with aws-jwt-verify against an issuer, audience and JWKS (Amazon Cognito
 * or any OIDC provider). Scopes come from `scope`/`scp`, groups from `cognito:groups`/`groups`; the
 * `admin` group grants every scope. `jwks` preloads keys (the local development issuer).
 */
export function createVerifier(
  config: AuthConfig,
  options: { jwks?: { keys: unknown[] }; jwksCache?: JwksCache } = {},
): TokenVerifier {
  // with preloaded keys (the development issuer) nothing is ever fetched: an unknown key fails
  const preloaded = options.jwks;
  const jwksCache =
    options.jwksCache ??
    (preloaded
      ? new SimpleJwksCache({
          fetcher: {
            fetch: async () => new TextEncoder().encode(JSON.stringify(preloaded)).buffer as ArrayBuffer,
          },
        })
      : undefined);
  const verifier = JwtVerifier.create(
    { issuer: config.issuer, audience: config.audience, jwksUri: config.jwksUri },
    jwksCache ? { jwksCache } : undefined,
  );
  // a verified token is remembered until it expires (bounded): RS256 verification is the largest
  // cost of a small prediction request
  const seen = new Map<string, { principal: Principal; exp: number }>();
  return {
    async verify(authorization) {
      const hit = authorization ? seen.get(authorization) : undefined;
      if (hit && hit.exp > Date.now() / 1000) return hit.principal;
      if (!authorization)
        throw new UnauthorizedError('missing Authorization header: send "Authorization: Bearer <token>"');
      const m = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization.trim());
      if (!m) throw new UnauthorizedError('invalid token: malformed Authorization header');
      let payload: Record<string, unknown>;
      try {
        payload = (await verifier.verify(m[1])) as Record<string, unknown>;
      } catch (err) {
        throw new UnauthorizedError(`invalid token: ${reason(err)}`);
      }
      const scopeClaim = payload.scope ?? payload.scp;
      const scopes = new Set(
        Array.isArray(scopeClaim)
          ? scopeClaim.map(String)
          : typeof scopeClaim === 'string'
            ? scopeClaim.split(/\s+/).filter(Boolean)
            : [],
      );
      const groupClaim = payload['cognito:groups'] ?? payload.groups;
      const groups = Array.isArray(groupClaim) ? groupClaim.map(String) : [];
      if (groups.includes('admin')) for (const s of ['submit', 'predict', 'admin']) scopes.add(s);
      if (typeof payload.sub !== 'string' || !payload.sub)
        throw new UnauthorizedError('invalid token: no subject');
      return { sub: payload.sub, scopes, groups };
    },
  };
}
