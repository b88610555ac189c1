import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { InvalidInputError, MisconfiguredError } from '../../errors.js';
import { HttpSource, type HttpSourceOptions } from './http.js';
import { LocalSource } from './local.js';
import { S3Source, type S3SourceOptions } from './s3.js';
import type { ByteSource, HostCheck } from './types.js';
import { XRootDSource, type XRootDSourceOptions } from './xrootd.js';

export interface OpenSourceOptions {
  /** The client s3:// specs are read with: built once by the caller (lib/aws/s3-client.ts), at cold start or in a test. */
  s3Client?: S3Client;
  /** Coalescing, concurrency and timeout for s3:// sources. */
  s3Source?: S3SourceOptions;
  http?: HttpSourceOptions;
  /** Connection pool, retries and limits for root:// and roots:// sources. */
  xrootd?: XRootDSourceOptions;
  /** Asked before contacting a remote host (every HTTP redirect, every hop of an XRootD redirect chain). */
  checkHost?: HostCheck;
  /**
   * Whether plain paths and file:// URLs are accepted (default true, for the CLI and tests).
   * Pass false wherever the spec comes from a caller, so a request cannot read the server's own files.
   */
  allowLocal?: boolean;
}

const SUPPORTED = 'use an s3://bucket/key, https:// or root:// URL, or a local path';

/** Chooses the byte source for a file spec: http(s) or root(s) URL, s3://bucket/key, file:// URL or local path. */
export function openSource(spec: string, options: OpenSourceOptions = {}): ByteSource {
  if (typeof spec !== 'string' || spec.trim() === '')
    throw new InvalidInputError(`no file given; ${SUPPORTED}`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(spec)?.[1].toLowerCase();
  switch (scheme) {
    case 'http':
    case 'https':
      return new HttpSource(parseHttpUrl(spec), { checkHost: options.checkHost, ...options.http });
    case 's3': {
      const { bucket, key } = parseS3Url(spec);
      if (!options.s3Client) throw new MisconfiguredError(`no S3 client to read ${spec} with`);
      return new S3Source(options.s3Client, bucket, key, options.s3Source);
    }
    case 'file':
    case undefined:
      if (options.allowLocal === false) {
        throw new InvalidInputError(
          `local files cannot be read here ("${spec}"); use an s3://bucket/key or https:// URL`,
        );
      }
      return new LocalSource(scheme ? localPath(spec) : spec);
    case 'root':
    case 'roots':
    case 'xroot':
    case 'xroots':
      return new XRootDSource(spec, { checkHost: options.checkHost, ...options.xrootd });
    default:
      throw new InvalidInputError(`unsupported URL scheme "${scheme}://" in "${spec}"; ${SUPPORTED}`);
  }
}

/**
 * Splits s3://bucket/key. The key is taken verbatim (as the AWS CLI does), so spaces and "%" stay as
 * they are; a key ending in "/" names a folder, not a file.
 */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/is.exec(url);
  if (!m) throw new InvalidInputError(`"${url}" is not an S3 URL; expected s3://bucket/key`);
  const [, bucket, key = ''] = m;
  if (!/^[a-z0-9][a-z0-9.\-_]{1,254}$/i.test(bucket)) {
    throw new InvalidInputError(`"${url}" does not name a valid bucket; expected s3://bucket/key`);
  }
  if (key === '')
    throw new InvalidInputError(`"${url}" names a bucket but no object key; expected s3://bucket/key`);
  if (key.endsWith('/'))
    throw new InvalidInputError(`"${url}" names a folder; give the key of a .root file in it`);
  return { bucket, key };
}

function parseHttpUrl(spec: string): string {
  try {
    const url = new URL(spec);
    if (!url.hostname) throw new Error('no host');
    return url.href;
  } catch (err) {
    throw new InvalidInputError(`"${spec}" is not a valid URL`, { cause: err });
  }
}

function localPath(spec: string): string {
  try {
    return fileURLToPath(spec);
  } catch (err) {
    // e.g. file://host/path: a remote host cannot be read as a local file.
    throw new InvalidInputError(`"${spec}" is not a local file URL; use file:///absolute/path`, {
      cause: err,
    });
  }
}
