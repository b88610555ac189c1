/**
 * One error hierarchy for the whole project. Each error carries the HTTP status it maps to
 * (mapped in one place by the HTTP layer) and a message written for a physicist, not a developer.
 * `expose` follows middy's rule: only client errors (< 500) show their message to callers.
 */
export class MlaasError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(message: string, status = 500, code = 'InternalError', options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
  }
  get expose(): boolean {
    return this.status < 500;
  }
}

/** Bad input from the caller: malformed request, workflow or option. */
export class InvalidInputError extends MlaasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 400, 'InvalidInput', options);
  }
}

/** Something named by the caller does not exist (file, tree, branch, job, model). */
export class NotFoundError extends MlaasError {
  constructor(message: string, code = 'NotFound', options?: { cause?: unknown }) {
    super(message, 404, code, options);
  }
}

/** Well-formed input that cannot be used (wrong feature count, unsupported type). */
export class UnprocessableError extends MlaasError {
  constructor(message: string, code = 'Unprocessable', options?: { cause?: unknown }) {
    super(message, 422, code, options);
  }
}

/** A dependency (object store, queue, remote server) is unavailable; the caller may retry. */
export class UnavailableError extends MlaasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 503, 'Unavailable', options);
  }
}

/** No usable bearer token: missing, malformed, badly signed, expired, or for someone else. */
export class UnauthorizedError extends MlaasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 401, 'Unauthorized', options);
  }
}

/** A valid token that lacks the scope this route needs (`scope` names it). */
export class ForbiddenError extends MlaasError {
  constructor(
    message: string,
    readonly scope?: string,
  ) {
    super(message, 403, 'Forbidden');
  }
}

/** The route exists but not for this method; `allow` lists the methods it has. */
export class MethodNotAllowedError extends MlaasError {
  constructor(
    message: string,
    readonly allow: string[],
  ) {
    super(message, 405, 'MethodNotAllowed');
  }
}

/** A conditional write lost against another writer (the object changed, or already exists). */
export class PreconditionFailedError extends MlaasError {
  constructor(key: string) {
    super(`"${key}" was changed by someone else; read it again and retry`, 409, 'Conflict');
  }
}

/** A job asked to move to a state that may not follow its current one. */
export class InvalidTransitionError extends MlaasError {
  constructor(id: string, from: string, to: string) {
    super(`job ${id} is ${from}; it cannot become ${to}`, 409, 'Conflict');
  }
}

/** Another attempt of the same job (a duplicate delivery) is publishing: this one must not. */
export class DuplicateAttemptError extends MlaasError {
  constructor(id: string, version: string) {
    super(`another attempt of job ${id} is publishing version ${version}`, 409, 'DuplicateAttempt');
  }
}

/** A request or upload bigger than the service accepts (HTTP 413). */
export class PayloadTooLargeError extends MlaasError {
  constructor(message: string, code = 'PayloadTooLarge') {
    super(message, 413, code);
  }
}

/** A model bundle that unpacks to more bytes (or files) than allowed. */
export class BundleTooLargeError extends PayloadTooLargeError {
  constructor(message: string) {
    super(message, 'BundleTooLarge');
  }
}

/** Over the per-user rate limit; the caller may retry after `retryAfterSeconds`. */
export class TooManyRequestsError extends MlaasError {
  constructor(
    readonly retryAfterSeconds: number,
    message = `too many requests; retry in ${retryAfterSeconds} s`,
  ) {
    super(message, 429, 'TooManyRequests');
  }
}

/** Configuration that cannot work: a deployment problem, so a 500 that names what to fix (in the log). */
export class MisconfiguredError extends MlaasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 500, 'Misconfigured', options);
  }
}

/** How many characters of a caller's name an error message repeats. */
export const SHOWN_NAME_CHARS = 80;

/**
 * A name the caller gave (model, trigger, branch, file), shortened for an error message: a
 * 10,000-character name is not echoed back in full. JSON-quoted by the caller as usual.
 */
export function truncateName(name: string, max = SHOWN_NAME_CHARS): string {
  if (name.length <= max) return name;
  return `${name.slice(0, max)}... (${name.length} characters)`;
}

/** Where a schema issue is, as a physicist reads it: `params.split.test`, `model.layers[2].units`. */
export function issuePath(path: ReadonlyArray<PropertyKey>, prefix = ''): string {
  const parts = path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${truncateName(String(p))}`)).join('');
  const joined = `${prefix}${parts}`;
  return joined.startsWith('.') ? joined.slice(1) : joined || '(top level)';
}

/** Edit distance, for "did you mean" suggestions on misspelt names. */
export function levenshtein(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The few candidates closest to `name` (case-insensitive), best first. */
export function nearestNames(name: string, candidates: Iterable<string>, max = 3): string[] {
  const lower = name.toLowerCase();
  const scored: Array<[number, string]> = [];
  for (const c of candidates) {
    const cl = c.toLowerCase();
    let d = levenshtein(lower, cl);
    if (cl.includes(lower) || lower.includes(cl)) d = Math.min(d, 1);
    scored.push([d, c]);
  }
  scored.sort((x, y) => x[0] - y[0] || x[1].localeCompare(y[1]));
  const limit = Math.max(2, Math.ceil(name.length / 2));
  return scored
    .filter(([d]) => d <= limit)
    .slice(0, max)
    .map(([, c]) => c);
}
