import { MisconfiguredError } from '../errors.js';

/** Where tokens come from and whom they are for: Amazon Cognito or any OIDC provider (CMS IAM). */
export interface AuthConfig {
  /** the `iss` every token must carry, e.g. https://cognito-idp.eu-west-1.amazonaws.com/<pool> */
  issuer: string;
  /** the `aud` every token must carry (the app client id, or the API's audience) */
  audience: string;
  /** the issuer's public keys: https only, except a development issuer on the loopback address */
  jwksUri: string;
}

export const ENV_ISSUER = 'MLAAS4HEP_JWT_ISSUER';
export const ENV_AUDIENCE = 'MLAAS4HEP_JWT_AUDIENCE';
export const ENV_JWKS_URI = 'MLAAS4HEP_JWT_JWKS_URI';
/** `1` only on a developer's machine: accept the local development issuer (never in a deployment) */
export const ENV_DEV_ISSUER = 'MLAAS4HEP_DEV_ISSUER';
/** the development issuer's public keys as JSON, honoured only together with MLAAS4HEP_DEV_ISSUER=1 */
export const ENV_DEV_JWKS = 'MLAAS4HEP_DEV_JWKS';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** True for http(s) URLs on the loopback address: the only place a development issuer may live. */
export function isLoopbackUrl(uri: string): boolean {
  try {
    const u = new URL(uri);
    return (u.protocol === 'http:' || u.protocol === 'https:') && LOOPBACK.has(u.hostname);
  } catch {
    return false;
  }
}

/** The development issuer is on only when explicitly asked for (`MLAAS4HEP_DEV_ISSUER=1`). */
export function devIssuerEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[ENV_DEV_ISSUER] === '1';
}

/**
 * Checks a configuration once, at cold start: every field set, the JWKS URI a URL, and https unless
 * `allowLoopbackHttp` (the development issuer) and the URI is on 127.0.0.1. `names` says which
 * variable each field came from, so the error names what to set.
 */
export function validateAuthConfig(
  config: Partial<AuthConfig>,
  options: { allowLoopbackHttp?: boolean; names?: Partial<Record<keyof AuthConfig, string>> } = {},
): AuthConfig {
  const name = (k: keyof AuthConfig) => options.names?.[k] ?? `auth config "${k}"`;
  for (const k of ['issuer', 'audience', 'jwksUri'] as const) {
    const v = config[k];
    if (typeof v !== 'string' || !v.trim()) throw new MisconfiguredError(`${name(k)} is not set`);
  }
  const jwksUri = config.jwksUri!;
  let url: URL;
  try {
    url = new URL(jwksUri);
  } catch {
    throw new MisconfiguredError(`${name('jwksUri')} is not a URL: "${jwksUri}"`);
  }
  const loopbackDev = options.allowLoopbackHttp && isLoopbackUrl(jwksUri);
  if (url.protocol !== 'https:' && !loopbackDev) {
    throw new MisconfiguredError(
      `${name('jwksUri')} must be an https:// URL (got "${jwksUri}"); plain http is accepted only for the local development issuer on 127.0.0.1 with ${ENV_DEV_ISSUER}=1`,
    );
  }
  return { issuer: config.issuer!, audience: config.audience!, jwksUri };
}

/**
 * Reads MLAAS4HEP_JWT_ISSUER, MLAAS4HEP_JWT_AUDIENCE and MLAAS4HEP_JWT_JWKS_URI once at cold start;
 * a missing or unusable one is named in the error.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): AuthConfig {
  return validateAuthConfig(
    { issuer: env[ENV_ISSUER], audience: env[ENV_AUDIENCE], jwksUri: env[ENV_JWKS_URI] },
    {
      allowLoopbackHttp: devIssuerEnabled(env),
      names: {
        issuer: `environment variable ${ENV_ISSUER}`,
        audience: `environment variable ${ENV_AUDIENCE}`,
        jwksUri: `environment variable ${ENV_JWKS_URI}`,
      },
    },
  );
}
