import { TooManyRequestsError } from '../errors.js';
import { type HttpMiddleware, stateOf } from './request-state.js';

export interface RateLimiterOptions {
  /** keys kept at most; idle ones are dropped first. Default 10,000. */
  maxKeys?: number;
  /** milliseconds clock, for tests */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets by key: each holds up to `perMinute` requests and refills at `perMinute` per
 * minute, so a burst of `perMinute` is allowed, then one request every 60/perMinute seconds.
 * In memory, so per Lambda instance: several warm instances each allow the full rate (a shared
 * limit needs API Gateway throttling or a shared store).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(
    readonly perMinute: number,
    options: RateLimiterOptions = {},
  ) {
    if (!(perMinute > 0)) throw new TypeError(`rate limit must be positive, got ${perMinute}`);
    this.perMs = perMinute / 60_000;
    this.maxKeys = options.maxKeys ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Takes one request for `key`: 0 when allowed, else the seconds until one is. */
  take(key: string): number {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * this.perMs);
      b.at = now;
      // most recently used last, so pruning drops the longest idle first
      this.buckets.delete(key);
    } else {
      this.prune(now);
      b = { tokens: this.perMinute, at: now };
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
  }

  get size(): number {
    return this.buckets.size;
  }

  /**
   * Makes room when full: refilled buckets go first, then the longest idle, down to 90% of
   * `maxKeys`. Freeing a tenth at once keeps this scan to once per maxKeys/10 new keys: pruning
   * just one made every request of a churn of many users (or tokens) scan all the buckets.
   */
  private prune(now: number): void {
    if (this.buckets.size < this.maxKeys) return;
    const target = Math.floor(this.maxKeys * 0.9);
    for (const [k, b] of this.buckets) {
      // a bucket that has refilled is the same as no bucket
      if (b.tokens + (now - b.at) * this.perMs >= this.perMinute) this.buckets.delete(k);
    }
    for (const k of this.buckets.keys()) {
      if (this.buckets.size <= target) break;
      this.buckets.delete(k);
    }
  }
}

/**
 * Per-user rate limit: one bucket per (user, route), or (source IP, route) on public routes;
 * over it, 429 with Retry-After. Runs after authentication. Per instance (see RateLimiter).
 */
export function rateLimit(options: { perMinute: number; limiter?: RateLimiter }): HttpMiddleware {
  const limiter = options.limiter ?? new RateLimiter(options.perMinute);
  return {
    before: (request) => {
      const state = stateOf(request.event);
      const who = state.user
        ? `user:${state.user.sub}`
        : `ip:${request.event.requestContext?.http?.sourceIp ?? '?'}`;
      const wait = limiter.take(`${who}\u0000${state.routeKey}`);
      if (wait > 0) {
        throw new TooManyRequestsError(
          wait,
          `too many requests: this route allows ${limiter.perMinute} per minute; retry in ${wait} s`,
        );
      }
    },
  };
}

/** Per-user limits of the routes that cost the most: predictions and job submissions. */
export interface RateLimits {
  predict?: { perMinute: number };
  submit?: { perMinute: number };
}

/** A user may predict 100 times a second and submit a job a second, per instance, unless configured. */
export const DEFAULT_RATE_LIMITS = { predict: 6000, submit: 60 } as const;

/**
 * MLAAS4HEP_RATE_LIMIT_PREDICT and MLAAS4HEP_RATE_LIMIT_SUBMIT: requests per minute per user,
 * 0 for no limit. Read once at start; a value that is not a whole number is named in the error.
 */
export function rateLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): RateLimits {
  const read = (kind: keyof typeof DEFAULT_RATE_LIMITS) => {
    const name = `MLAAS4HEP_RATE_LIMIT_${kind.toUpperCase()}`;
    const raw = env[name];
    const n = raw === undefined || raw === '' ? DEFAULT_RATE_LIMITS[kind] : Number(raw);
    if (!Number.isInteger(n) || n < 0)
      throw new TypeError(
        `${name} must be a whole number of requests per minute (0: no limit), got "${raw}"`,
      );
    return n > 0 ? { perMinute: n } : undefined;
  };
  return { predict: read('predict'), submit: read('submit') };
}
