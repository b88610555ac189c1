import { MisconfiguredError } from './errors.js';
import { type RateLimits, rateLimitsFromEnv } from './http/rate-limit.js';
import { allowedSourcesFromEnv } from './jobs/source-policy.js';
import { type Limits, limitsFromEnv } from './limits.js';

/** The TensorFlow.js backends, fastest first: native (tfjs-node), WebAssembly, plain JavaScript. */
export const TF_BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type TfBackendName = (typeof TF_BACKENDS)[number];

/** The inference engines a bundle may run on. */
export const ENGINES = ['onnxruntime', 'tfjs'] as const;
export type PreferredEngine = (typeof ENGINES)[number];

/** Every variable the service reads, by the name an operator sets. */
export const ENV = {
  bucket: 'MLAAS4HEP_BUCKET',
  queueUrl: 'MLAAS4HEP_QUEUE_URL',
  // the AWS SDKs' own names for an endpoint override, so one setting serves the functions, the
  // CLI, `serve` and the AWS CLI alike
  s3Endpoint: 'AWS_ENDPOINT_URL_S3',
  sqsEndpoint: 'AWS_ENDPOINT_URL_SQS',
  anyEndpoint: 'AWS_ENDPOINT_URL',
  tfBackend: 'MLAAS4HEP_TF_BACKEND',
  tfjsWasmPath: 'MLAAS4HEP_TFJS_WASM_PATH',
  engine: 'MLAAS4HEP_ENGINE',
  devIssuer: 'MLAAS4HEP_DEV_ISSUER',
  maxDataUploadBytes: 'MLAAS4HEP_MAX_DATA_UPLOAD_BYTES',
} as const;

/** Names an earlier version read; set now, they would be ignored silently, so they stop the start. */
const RENAMED: Readonly<Record<string, string>> = {
  MLAAS4HEP_S3_ENDPOINT: ENV.s3Endpoint,
  MLAAS4HEP_SQS_ENDPOINT: ENV.sqsEndpoint,
};

/** What a process may require to be set; the others have defaults or are optional. */
export type RequiredSetting = 'bucket' | 'queueUrl';

/** A process's configuration, read and checked once when it starts (a Lambda's cold start). */
export interface Config {
  /** the bucket of job records, models, triggers and data (MLAAS4HEP_BUCKET) */
  bucket?: string;
  /** the job queue (MLAAS4HEP_QUEUE_URL) */
  queueUrl?: string;
  /** endpoint overrides for S3-compatible stores and local emulators; undefined: AWS itself */
  endpoints: { s3?: string; sqs?: string };
  /** a forced TensorFlow.js backend (MLAAS4HEP_TF_BACKEND); undefined: the fastest that loads */
  tfBackend?: TfBackendName;
  /** where the WebAssembly backend finds its .wasm files (MLAAS4HEP_TFJS_WASM_PATH) */
  tfjsWasmPath?: string;
  /** the engine preferred for bundles that have both models (MLAAS4HEP_ENGINE) */
  engine?: PreferredEngine;
  /** per-user limits on predict and submit (MLAAS4HEP_RATE_LIMIT_PREDICT / _SUBMIT) */
  rateLimits: RateLimits;
  /** what one workflow may ask for: model size, epochs, batch and chunk sizes, files, expressions (MLAAS4HEP_MAX_*) */
  limits: Limits;
  /** prefixes workflows may read (MLAAS4HEP_ALLOWED_SOURCES); undefined: any source */
  allowedSources?: string[];
  /** the local development issuer is accepted (MLAAS4HEP_DEV_ISSUER=1; never in a deployment) */
  devIssuer: boolean;
  /** the largest .root file the console's upload URLs take (MLAAS4HEP_MAX_DATA_UPLOAD_BYTES, default 2 GiB) */
  maxDataUploadBytes?: number;
}

export interface ReadConfigOptions<R extends RequiredSetting = never> {
  /** settings this process cannot run without: unset, the start fails naming the variable */
  require?: readonly R[];
  /** used when MLAAS4HEP_ALLOWED_SOURCES is unset (a function reads its own bucket) */
  allowedSources?: string[];
}

function value(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[]): T | undefined {
  const v = value(env, name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v))
    throw new MisconfiguredError(`${name} must be one of ${allowed.join(', ')}, got "${v}"`);
  return v as T;
}

function bytes(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = value(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  // S3 takes at most 5 GiB in one PUT
  if (!Number.isInteger(n) || n <= 0 || n > 5 * 2 ** 30)
    throw new MisconfiguredError(`${name} must be a whole number of bytes from 1 to 5 GiB, got "${v}"`);
  return n;
}

/**
 * The endpoint overrides for S3 and SQS, by the names the AWS SDKs and CLI read
 * (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_SQS, else AWS_ENDPOINT_URL): S3-compatible stores (Ceph
 * at CERN) and the local emulators. A value that is not an http(s) URL is named.
 */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): { s3?: string; sqs?: string } {
  for (const [old, now] of Object.entries(RENAMED)) {
    if (value(env, old) !== undefined)
      throw new MisconfiguredError(`${old} is no longer read: set ${now} instead`);
  }
  return { s3: endpoint(env, ENV.s3Endpoint), sqs: endpoint(env, ENV.sqsEndpoint) };
}

function endpoint(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const from = value(env, name) !== undefined ? name : ENV.anyEndpoint;
  const v = value(env, from);
  if (v === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(v);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new MisconfiguredError(`${from} must be an http(s) URL, got "${v}"`);
  return v;
}

/**
 * The one place a process reads its settings from the environment. Called once at start (the
 * composition root of a function, `serve`, the worker): a bad value or a required variable left
 * unset is a MisconfiguredError naming the variable, so the start fails at once instead of every
 * request later.
 */
export function readConfig<R extends RequiredSetting = never>(
  env: NodeJS.ProcessEnv = process.env,
  options: ReadConfigOptions<R> = {},
): Config & { [K in R]-?: string } {
  const endpoints = endpointsFromEnv(env);
  for (const key of options.require ?? []) {
    if (value(env, ENV[key]) === undefined)
      throw new MisconfiguredError(`environment variable ${ENV[key]} is not set`);
  }
  let rateLimits: RateLimits;
  let limits: Limits;
  let allowedSources: string[] | undefined;
  try {
    rateLimits = rateLimitsFromEnv(env);
    limits = limitsFromEnv(env);
    allowedSources = allowedSourcesFromEnv(env) ?? options.allowedSources;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new MisconfiguredError(`configuration: ${message}`, { cause: err });
  }
  const config: Config = {
    bucket: value(env, ENV.bucket),
    queueUrl: value(env, ENV.queueUrl),
    endpoints,
    tfBackend: oneOf(env, ENV.tfBackend, TF_BACKENDS),
    tfjsWasmPath: value(env, ENV.tfjsWasmPath),
    engine: oneOf(env, ENV.engine, ENGINES),
    rateLimits,
    limits,
    allowedSources,
    devIssuer: env[ENV.devIssuer] === '1',
    maxDataUploadBytes: bytes(env, ENV.maxDataUploadBytes),
  };
  // the required keys were checked to be set above
  return config as Config & { [K in R]-?: string };
}

let cached: Config | undefined;

/**
 * This process's configuration, read from its environment on first use and kept: the defaults of
 * library code (the engine a bundle prefers, the TensorFlow.js backend) come from here, so the
 * environment is read in one place and a bad value fails at the first use as at start.
 */
export function processConfig(): Config {
  cached ??= readConfig(process.env);
  return cached;
}
