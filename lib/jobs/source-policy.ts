import { resolve } from 'node:path';
import { ForbiddenError } from '../errors.js';
import { canonicalXRootD, isXRootDUrl } from '../root/source/xrootd/url.js';

const URL_PREFIX = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/i;
// "." and ".." segments (also percent-encoded, also after a backslash, which URL parsers treat as
// "/"): resolved by the file system or the remote server, they could climb out of an allowed folder
const DOT_SEGMENT = /(^|[/\\])(\.|%2e){1,2}([/\\?#]|$)/i;

/**
 * One allow-list entry as a prefix to compare with: a URL naming only its bucket or host gets its
 * "/" (so s3://data does not also allow s3://data-other/), a local folder is made absolute and ends
 * in "/". Anything else (a relative path, "..") is a configuration error, named.
 */
function prefixOf(entry: string): string {
  const e = entry.trim();
  const bad = (why: string) => new TypeError(`allowed source "${entry}" ${why}`);
  if (DOT_SEGMENT.test(e)) throw bad('has a "." or ".." segment');
  const url = URL_PREFIX.exec(e);
  if (url) {
    if (!url[2]) throw bad('names no bucket or host');
    return comparable(`${url[1].toLowerCase()}://${url[2]}${url[3] ?? '/'}`);
  }
  if (!e.startsWith('/')) {
    throw bad(
      'is neither a URL prefix (s3://bucket/prefix/, https://host/path/, root://host/path/) nor an absolute folder',
    );
  }
  const folder = resolve(e);
  return folder.endsWith('/') ? folder : `${folder}/`;
}

/** XRootD URLs compared in one form: root://host/path and root://host:1094//path are the same file. */
const comparable = (s: string) => (isXRootDUrl(s) ? canonicalXRootD(s) : s);

/**
 * The deployment's allow-list of sources as a `checkSources`: every file of a workflow must start
 * with one of `prefixes` (s3://bucket/prefix/, https://host/path/, root://host/path/, or an absolute local folder),
 * so a caller cannot make the trainer read the server's own files or any URL it likes. A refused
 * file is a 403 that names it and the allowed prefixes.
 */
export function sourceAllowList(prefixes: readonly string[]): (files: string[]) => void {
  const allowed = prefixes.map(prefixOf);
  if (!allowed.length) throw new TypeError('the allow-list of sources is empty: nothing could be read');
  const listed = allowed.join(', ');
  return (files) => {
    for (const f of files) {
      if (DOT_SEGMENT.test(f)) {
        throw new ForbiddenError(
          `source "${f}" has a "." or ".." path segment; name files by their plain path under the allowed sources (${listed})`,
        );
      }
      if (!allowed.some((p) => comparable(f).startsWith(p))) {
        throw new ForbiddenError(`source "${f}" is outside the allowed sources (${listed})`);
      }
    }
  };
}

/**
 * MLAAS4HEP_ALLOWED_SOURCES: comma-separated prefixes workflows may read; undefined when unset or
 * empty (no restriction: the CLI and `serve` on a workstation read any path).
 */
export function allowedSourcesFromEnv(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const list = (env.MLAAS4HEP_ALLOWED_SOURCES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!list.length) return undefined;
  try {
    // checked now, so a bad entry fails the start instead of every submission
    sourceAllowList(list);
  } catch (err) {
    throw new TypeError(`MLAAS4HEP_ALLOWED_SOURCES: ${(err as Error).message}`);
  }
  return list;
}
