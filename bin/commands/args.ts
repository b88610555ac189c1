import { parseArgs } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lib/aws/s3-client.js';
import { endpointsFromEnv } from '../../lib/config.js';
import { InvalidInputError } from '../../lib/errors.js';
import type { OpenSourceOptions } from '../../lib/root/source/open.js';

type Spec = Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean }>;

/** Parses a command's arguments; unknown options are an error that names them. */
export function parse<T extends Spec>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new InvalidInputError(`${err instanceof Error ? err.message : String(err)}\nusage: ${usage}`);
  }
}

export function list(v: string | boolean | undefined): string[] | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function int(name: string, v: string | boolean | undefined): number | undefined {
  if (v === undefined || typeof v === 'boolean') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidInputError(`--${name} must be a whole number >= 0, got "${v}"`);
  return n;
}

export function required(v: string | undefined, what: string, usage: string): string {
  if (!v) throw new InvalidInputError(`missing ${what}\nusage: ${usage}`);
  return v;
}

let s3Client: S3Client | undefined;

/**
 * The CLI's one S3 client, built on first use: the standard AWS environment (credentials, region)
 * plus the endpoint override (AWS_ENDPOINT_URL_S3, lib/config). Every file, folder and store of a command shares it.
 */
export function cliS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  s3Client ??= createS3Client({ endpoint: endpointsFromEnv(env).s3 });
  return s3Client;
}

/** How the CLI opens files: local paths, http(s) URLs and s3:// through the CLI's client (built only for s3://). */
export function sourceOptions(): OpenSourceOptions {
  return {
    get s3Client() {
      return cliS3Client();
    },
  };
}
