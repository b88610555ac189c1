import { JwtVerifier } from 'aws-jwt-verify';
import {
  FetchError,
  JwkInvalidKtyError,
  JwkInvalidUseError,
  JwksNotAvailableInCacheError,
  JwksValidationError,
  JwkValidationError,
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidClaimError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  JwtParseError,
  JwtWithoutValidKidError,
  KidNotFoundInJwksError,
  WaitPeriodNotYetEndedJwkError,
} from 'aws-jwt-verify/error';
import type { JwksCache } from 'aws-jwt-verify/jwk';
import { ForbiddenError, MisconfiguredError, UnauthorizedError, UnavailableError } from '../errors.js';
import {
  type AuthConfig,
  configFromEnv,
  devIssuerEnabled,
  ENV_DEV_ISSUER,
  ENV_DEV_JWKS,
  validateAuthConfig,
} from './config.js';
import { type Jwks, loopbackJwksCache, preloadedJwksCache } from './jwks-cache.js';

export { type AuthConfig, configFromEnv } from './config.js';

/** The scopes the service uses: submit jobs, get predictions, manage models. */
export const SCOPES = ['submit', 'predict', 'admin'] as const;
/** Members of this group hold every scope. */
export const ADMIN_GROUP = 'admin';

/** Who the token says the caller is, and what it may do. */
export interface Principal {
  sub: string;
  scopes: ReadonlySet<string>;
  groups: readonly string[];
}

export interface TokenVerifier {
  /** The caller behind an `Authorization` header value; UnauthorizedError (401) when there is none. */
  verify(authorization: string | undefined): Promise<Principal>;
}

export interface VerifierOptions {
  /** keys known in advance (the development issuer's): nothing is fetched, other keys fail */
  jwks?: { keys: unknown[] };
  /** where keys come from (tests, the development issuer's loopback fetcher) */
  jwksCache?: JwksCache;
  /** how many verified tokens to remember until they expire (0 turns it off); default 1000 */
  rememberTokens?: number;
}

/** Tokens longer than this are refused before any parsing. */
const MAX_TOKEN_CHARS = 16 * 1024;
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;

/** Why aws-jwt-verify refused a token, in a few words a caller can act on. */
function reason(err: unknown): string {
  if (err instanceof JwtExpiredError) return 'expired';
  if (err instanceof JwtNotBeforeError) return 'not valid yet';
  if (err instanceof JwtInvalidIssuerError) return 'wrong issuer';
  if (err instanceof JwtInvalidAudienceError) return 'wrong audience';
  if (err instanceof JwtInvalidSignatureAlgorithmError) return 'unsupported signature algorithm';
  if (
    err instanceof JwtInvalidSignatureError ||
    err instanceof KidNotFoundInJwksError ||
    err instanceof WaitPeriodNotYetEndedJwkError ||
    err instanceof JwkInvalidKtyError ||
    err instanceof JwkInvalidUseError
  )
    return 'bad signature';
  if (err instanceof JwtParseError || err instanceof JwtWithoutValidKidError) return 'malformed';
  if (err instanceof JwtInvalidClaimError) return 'invalid claim';
  return 'cannot be verified';
}

/** The issuer's keys could not be had: not the caller's fault, so 503 rather than 401. */
function keysUnavailable(err: unknown): boolean {
  return (
    err instanceof FetchError ||
    err instanceof JwksValidationError ||
    err instanceof JwkValidationError ||
    err instanceof JwksNotAvailableInCacheError
  );
}

function strings(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((s): s is string => typeof s === 'string');
  if (typeof claim === 'string') return claim.split(/\s+/).filter(Boolean);
  return [];
}

const KNOWN = new Set<string>(SCOPES);

/**
 * Scopes from `scope` (space-separated) or `scp`, groups from `cognito:groups` or `groups`. A scope
 * named with its resource server (`mlaas4hep/predict`, `https://api.example/predict`, as Cognito
 * access tokens carry them) counts as its last segment. A group named like a scope grants it (a
 * Cognito ID token has groups but no scopes); the admin group grants every scope.
 */
export function principalFromClaims(payload: Record<string, unknown>): Principal {
  if (typeof payload.sub !== 'string' || !payload.sub)
    throw new UnauthorizedError('invalid token: no subject');
  const scopes = new Set<string>();
  for (const s of strings(payload.scope ?? payload.scp)) {
    scopes.add(s);
    const last = s.slice(s.lastIndexOf('/') + 1);
    if (KNOWN.has(last)) scopes.add(last);
  }
  const groups = strings(payload['cognito:groups'] ?? payload.groups);
  for (const g of groups) if (KNOWN.has(g)) scopes.add(g);
  if (groups.includes(ADMIN_GROUP)) for (const s of SCOPES) scopes.add(s);
  return { sub: payload.sub, scopes, groups };
}

/**
 * The audience check, done here rather than by aws-jwt-verify: OIDC tokens name the service in
 * `aud`; Cognito access tokens have no `aud` and name the app client in `client_id` instead.
 */
function checkAudience(payload: Record<string, unknown>, audience: string): void {
  const aud = payload.aud;
  const ok =
    aud === undefined
      ? payload.client_id === audience
      : (Array.isArray(aud) ? aud : [aud]).some((a) => a === audience);
  if (!ok) throw new UnauthorizedError('invalid token: wrong audience');
}

/** Throws ForbiddenError (403) naming the first of `scopes` the caller lacks. */
export function requireScopes(principal: Principal, scopes: readonly string[], what = 'this request'): void {
  const missing = scopes.find((s) => !principal.scopes.has(s));
  if (missing !== undefined) {
    throw new ForbiddenError(`this token lacks the "${missing}" scope needed for ${what}`, missing);
  }
}

/**
 * Bearer tokens verified with aws-jwt-verify's `JwtVerifier` against one issuer, audience and JWKS
 * (Amazon Cognito or any OIDC provider such as CMS IAM). The config is checked here, at cold start.
 * Refusals are UnauthorizedError (401, "invalid token: expired"); an unreachable JWKS is
 * UnavailableError (503). A verified token is remembered (bounded) until it expires: the RS256
 * check is the largest cost of a small prediction request.
 */
export function createVerifier(config: AuthConfig, options: VerifierOptions = {}): TokenVerifier {
  const devKeys = Boolean(options.jwks || options.jwksCache);
  const checked = validateAuthConfig(config, { allowLoopbackHttp: devKeys });
  const jwksCache = options.jwksCache ?? (options.jwks ? preloadedJwksCache(options.jwks) : undefined);
  const verifier = JwtVerifier.create(
    { issuer: checked.issuer, audience: null, jwksUri: checked.jwksUri },
    jwksCache ? { jwksCache } : undefined,
  );
  const capacity = options.rememberTokens ?? 1000;
  const remembered = new Map<string, { principal: Principal; expMs: number }>();

  function remember(token: string, principal: Principal, exp: unknown): void {
    if (capacity <= 0 || typeof exp !== 'number') return;
    if (remembered.size >= capacity) {
      const now = Date.now();
      for (const [k, v] of remembered) if (v.expMs <= now) remembered.delete(k);
      // still full: forget the oldest
      if (remembered.size >= capacity) remembered.delete(remembered.keys().next().value!);
    }
    remembered.set(token, { principal, expMs: exp * 1000 });
  }

  return {
    async verify(authorization) {
      if (!authorization?.trim()) {
        throw new UnauthorizedError('missing Authorization header: send "Authorization: Bearer <token>"');
      }
      const m = authorization.length <= MAX_TOKEN_CHARS ? BEARER.exec(authorization.trim()) : null;
      if (!m) {
        throw new UnauthorizedError(
          'invalid token: malformed Authorization header (expected "Bearer <JWT>")',
        );
      }
      const token = m[1];
      const hit = remembered.get(token);
      if (hit && hit.expMs > Date.now()) return hit.principal;
      if (hit) remembered.delete(token);
      let payload: Record<string, unknown>;
      try {
        payload = (await verifier.verify(token)) as Record<string, unknown>;
      } catch (err) {
        if (keysUnavailable(err)) {
          throw new UnavailableError("the token issuer's keys cannot be fetched", { cause: err });
        }
        throw new UnauthorizedError(`invalid token: ${reason(err)}`, { cause: err });
      }
      checkAudience(payload, checked.audience);
      const principal = principalFromClaims(payload);
      remember(token, principal, payload.exp);
      return principal;
    },
  };
}

/**
 * The verifier a deployment uses, from MLAAS4HEP_JWT_ISSUER/AUDIENCE/JWKS_URI. Only with
 * MLAAS4HEP_DEV_ISSUER=1 (a developer's machine) are development keys accepted: from
 * MLAAS4HEP_DEV_JWKS when set, else fetched over http from the loopback JWKS URI.
 */
export function verifierFromEnv(env: NodeJS.ProcessEnv = process.env): TokenVerifier {
  const config = configFromEnv(env);
  const devJwks = env[ENV_DEV_JWKS];
  if (!devIssuerEnabled(env)) {
    if (devJwks) {
      throw new MisconfiguredError(
        `${ENV_DEV_JWKS} is set but ${ENV_DEV_ISSUER} is not 1: development keys are accepted only on a developer's machine, by explicit configuration`,
      );
    }
    return createVerifier(config);
  }
  if (devJwks) {
    let jwks: Jwks;
    try {
      jwks = JSON.parse(devJwks) as Jwks;
    } catch {
      throw new MisconfiguredError(`${ENV_DEV_JWKS} is not valid JSON`);
    }
    if (!Array.isArray(jwks?.keys)) throw new MisconfiguredError(`${ENV_DEV_JWKS} has no "keys" array`);
    return createVerifier(config, { jwks });
  }
  return createVerifier(config, { jwksCache: loopbackJwksCache() });
}
