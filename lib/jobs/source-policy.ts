import { lookup as dnsLookup } from 'node:dns/promises';
import { realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { resolve } from 'node:path';
import type { DatasetDeps } from '../dataset/dataset.js';
import { ForbiddenError } from '../errors.js';
import type { HostCheck } from '../root/source/types.js';
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

/** Addresses a workflow may not make the service contact unless its allow-list names the host. */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local: the cloud metadata service lives at 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

/** IPv4 inside IPv6 (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96) as its IPv4 address. */
function embeddedV4(ip: string): string | undefined {
  const m = /^(?:::ffff:|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(ip);
  if (!m) return undefined;
  if (m[1]) return m[1];
  const hi = Number.parseInt(m[2], 16);
  const lo = Number.parseInt(m[3], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Loopback, private, link-local, unspecified, multicast or reserved. */
export function isPrivateAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const v4 = isIP(bare) === 6 ? embeddedV4(bare.toLowerCase()) : undefined;
  if (v4) return PRIVATE.check(v4, 'ipv4');
  const family = isIP(bare);
  if (family === 0) return false;
  return PRIVATE.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

type Lookup = (host: string) => Promise<Array<{ address: string }>>;
const systemLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/** host or host:port of every URL entry of an allow-list: the remote servers its operator chose. */
function namedHosts(prefixes: readonly string[]): Set<string> {
  const hosts = new Set<string>();
  for (const p of prefixes) {
    const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([^/]+)/i.exec(p.trim());
    if (m) hosts.add(m[1].toLowerCase());
  }
  return hosts;
}

/**
 * A HostCheck (asked before every connection, redirects and XRootD redirections included) that
 * refuses hosts resolving to a loopback, private or link-local address, checking every address a
 * name resolves to. Hosts the allow-list names (host or host:port) are the operator's choice and
 * pass: that is how a deployment, or a test, reads from a server on 127.0.0.1.
 */
export function privateHostCheck(prefixes: readonly string[] = [], lookup: Lookup = systemLookup): HostCheck {
  const trusted = namedHosts(prefixes);
  return async ({ host, port }) => {
    const h = host.toLowerCase().replace(/^\[|\]$/g, '');
    const bracketed = isIP(h) === 6 ? `[${h}]` : h;
    if (trusted.has(bracketed) || trusted.has(`${bracketed}:${port}`)) return;
    let addresses: string[];
    if (isIP(h)) addresses = [h];
    else {
      try {
        addresses = (await lookup(h)).map((a) => a.address);
      } catch {
        // unresolvable: the connection itself fails and says so
        return;
      }
    }
    const bad = addresses.find(isPrivateAddress);
    if (bad !== undefined)
      throw new ForbiddenError(
        `${host} resolves to ${bad}, a loopback, private or link-local address, which workflows may not reach; the deployment's allow-list (MLAAS4HEP_ALLOWED_SOURCES) must name the host to allow it`,
      );
  };
}

const isLocal = (f: string) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(f) || /^file:\/\//i.test(f);

/** An allow-list entry that is a local folder, as the file system resolves it (symlinks followed). */
function realPrefix(entry: string): string {
  const e = entry.trim();
  if (!e.startsWith('/')) return e;
  try {
    const real = realpathSync(e);
    return real.endsWith('/') ? real : `${real}/`;
  } catch {
    return e;
  }
}

/**
 * The deployment's source policy: the allow-list of sources, with local paths resolved (symlinks
 * included) before they are compared, so a link inside an allowed folder cannot lead outside it;
 * and the private-address check for every remote host.
 */
export interface SourcePolicy {
  readonly allowed: readonly string[];
  /** throws ForbiddenError (403) naming the first file outside the allowed sources */
  checkSources(files: string[]): Promise<void>;
  checkHost: HostCheck;
}

export function sourcePolicy(prefixes: readonly string[], lookup?: Lookup): SourcePolicy {
  const byName = sourceAllowList(prefixes);
  const local = prefixes.filter((p) => p.trim().startsWith('/'));
  const byRealPath = local.length ? sourceAllowList(local.map(realPrefix)) : undefined;
  return {
    allowed: prefixes,
    async checkSources(files) {
      byName(files);
      for (const f of files) {
        if (!isLocal(f)) continue;
        const path = f.replace(/^file:\/\//i, '');
        let real: string;
        try {
          real = await realpath(path);
        } catch {
          continue; // not there (yet): opening it fails, and is checked again then
        }
        if (!byRealPath) throw new ForbiddenError(`source "${f}" is outside the allowed sources`);
        try {
          byRealPath([real + (f.endsWith('/') && !real.endsWith('/') ? '/' : '')]);
        } catch {
          throw new ForbiddenError(
            `source "${f}" leads to "${real}" (through a symbolic link), outside the allowed sources (${prefixes.join(', ')})`,
          );
        }
      }
    },
    checkHost: privateHostCheck(prefixes, lookup),
  };
}

/**
 * A trainer's dataset I/O held to the policy when it opens each file (not only at submit: a folder's
 * listing, or a link changed since, is checked as it is read).
 */
export function guardDataset(deps: DatasetDeps, policy: SourcePolicy): DatasetDeps {
  return {
    ...deps,
    async openFile(spec) {
      await policy.checkSources([spec]);
      return deps.openFile(spec);
    },
    listFolder:
      deps.listFolder &&
      (async (spec) => {
        await policy.checkSources([spec]);
        return deps.listFolder!(spec);
      }),
  };
}
