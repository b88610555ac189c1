import { SCOPES, type TokenVerifier } from '../auth/verifier.js';
import { nearestNames } from '../errors.js';
import type { LogFn } from '../log.js';

export interface HttpHandlerOptions {
  /** the scopes a token needs (all of them); `false` for a public route. Default: a valid token, any scope. */
  auth?: { scopes: string[] } | false;
  /** bodies over this are refused with 413 before parsing. Default 1 MiB. */
  maxBodyBytes?: number;
  /** parse the body as JSON (default); `false` hands the handler the raw bytes (uploads) */
  json?: boolean;
  /** JSON nested deeper than this is refused with 400. Default 32. */
  maxJsonDepth?: number;
  /** requests per minute per (user, route), per Lambda instance; over it, 429 */
  rateLimit?: { perMinute: number };
  /** token verification; default `verifierFromEnv()`, built with the handler (at cold start) */
  verifier?: TokenVerifier;
  /** where log lines go; default one JSON object per line on stdout */
  log?: LogFn;
  /** the route's name in logs and rate-limit keys, e.g. "POST /submit"; default the event's route key */
  route?: string;
}

type Check = (value: unknown, name: string) => void;

function fail(message: string): never {
  throw new TypeError(`httpHandler: ${message}`);
}

function strictKeys(value: object, known: readonly string[], where: string): void {
  for (const k of Object.keys(value)) {
    if (known.includes(k)) continue;
    const near = nearestNames(k, known, 1);
    fail(
      `unknown option "${where}${k}"${near.length ? ` (did you mean "${where}${near[0]}"?)` : ''}; known: ${known.join(', ')}`,
    );
  }
}

const positiveInt: Check = (v, name) => {
  if (!Number.isSafeInteger(v) || (v as number) <= 0) fail(`option "${name}" must be a positive integer`);
};

const CHECKS: Record<keyof HttpHandlerOptions, Check> = {
  auth: (v, name) => {
    if (v === false) return;
    if (!v || typeof v !== 'object') fail(`option "${name}" must be false or { scopes: string[] }`);
    strictKeys(v, ['scopes'], `${name}.`);
    const scopes = (v as { scopes?: unknown }).scopes;
    if (!Array.isArray(scopes)) fail(`option "${name}.scopes" must be an array of scopes`);
    for (const s of scopes) {
      if (!(SCOPES as readonly unknown[]).includes(s)) {
        fail(
          `option "${name}.scopes" has unknown scope ${JSON.stringify(s)}; scopes are ${SCOPES.join(', ')}`,
        );
      }
    }
  },
  maxBodyBytes: positiveInt,
  maxJsonDepth: positiveInt,
  json: (v, name) => {
    if (typeof v !== 'boolean') fail(`option "${name}" must be true or false`);
  },
  rateLimit: (v, name) => {
    if (!v || typeof v !== 'object') fail(`option "${name}" must be { perMinute: number }`);
    strictKeys(v, ['perMinute'], `${name}.`);
    const n = (v as { perMinute?: unknown }).perMinute;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0)
      fail(`option "${name}.perMinute" must be a positive number`);
  },
  verifier: (v, name) => {
    if (!v || typeof (v as TokenVerifier).verify !== 'function') fail(`option "${name}" must have verify()`);
  },
  log: (v, name) => {
    if (typeof v !== 'function') fail(`option "${name}" must be a function`);
  },
  route: (v, name) => {
    if (typeof v !== 'string' || !v) fail(`option "${name}" must be a non-empty string`);
  },
};

/**
 * Checks httpHandler options at construction, like middy's own packages (a schema with
 * additionalProperties: false): an unknown key, or a known one of the wrong type, throws a
 * TypeError naming it, so a typo fails at cold start instead of silently doing nothing.
 */
export function validateHttpHandlerOptions(options: unknown): HttpHandlerOptions {
  if (options === undefined) return {};
  if (!options || typeof options !== 'object' || Array.isArray(options)) fail('options must be an object');
  const known = Object.keys(CHECKS);
  strictKeys(options, known, '');
  for (const [k, v] of Object.entries(options)) {
    if (v !== undefined) CHECKS[k as keyof HttpHandlerOptions](v, k);
  }
  return options as HttpHandlerOptions;
}
