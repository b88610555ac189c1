import { InvalidInputError } from '../../../errors.js';

/** Where an XRootD server listens and how we talk to it. */
export interface Endpoint {
  host: string;
  port: number;
  /** roots:// (or xroots://): TLS from the kXR_protocol exchange on */
  tls: boolean;
  /** the login name (root://user@host//path); else the local user name */
  user?: string;
}

export interface XRootDUrl extends Endpoint {
  /** the absolute path on the server, one leading "/" */
  path: string;
  /** the opaque part after "?" (CGI: authz=..., xrd.wantprot=...), sent with the open */
  opaque: string;
}

export const DEFAULT_PORT = 1094;
const SCHEME = /^(x?roots?):\/\//i;
const URL_RE =
  /^(x?roots?):\/\/(?:([^@/?#]*)@)?(\[[0-9a-f:.]+\]|[^:/?#@[\]]+)(?::(\d{1,5}))?(?:\/([^?#]*))?(?:\?([^#]*))?$/i;
const MAX_PATH = 4096;

export function isXRootDUrl(spec: string): boolean {
  return SCHEME.test(spec);
}

/**
 * root://host[:port]//abs/path[?opaque] (and roots://, xroot://, xroots://). XRootD has no working
 * directory, so root://host/path and root://host//path name the same file; runs of "/" are one.
 */
export function parseXRootDUrl(spec: string): XRootDUrl {
  const m = URL_RE.exec(spec);
  const bad = (why: string) =>
    new InvalidInputError(
      `"${spec}" is not a valid XRootD URL (${why}); expected root://host[:port]//path/file.root`,
    );
  if (!m) throw bad('cannot parse it');
  const [, scheme, user, rawHost, port, rawPath = '', opaque = ''] = m;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  const p = port === undefined ? DEFAULT_PORT : Number(port);
  if (!(p >= 1 && p <= 65535)) throw bad(`port ${port} is out of range`);
  const path = `/${rawPath.replace(/^\/+/, '')}`.replace(/\/{2,}/g, '/');
  if (path === '/') throw bad('no file path');
  if (path.endsWith('/')) throw bad('it names a folder; give a .root file in it');
  if (path.length > MAX_PATH || /[\0\r\n]/.test(path + opaque))
    throw bad('the path is too long or has control characters');
  if (user !== undefined && !/^[A-Za-z0-9_.-]{1,8}$/.test(user))
    throw bad('the user name must be 1 to 8 letters or digits');
  return { tls: scheme.toLowerCase().endsWith('s'), host: host.toLowerCase(), port: p, user, path, opaque };
}

/** How the URL is shown in messages: the opaque part may carry an authorization token, so it is elided. */
export function displayName(u: XRootDUrl): string {
  return `${u.tls ? 'roots' : 'root'}://${hostPort(u)}/${u.path}${u.opaque ? '?…' : ''}`;
}

export function hostPort(e: Endpoint): string {
  const h = e.host.includes(':') ? `[${e.host}]` : e.host;
  return e.port === DEFAULT_PORT ? h : `${h}:${e.port}`;
}

/**
 * The comparable form of an XRootD URL or URL prefix (for allow-lists): scheme root or roots, host in
 * lower case, the default port dropped, the path with one leading "/" and no runs of "/".
 */
export function canonicalXRootD(spec: string): string {
  const m = /^(x?roots?):\/\/([^/?#]*)(.*)$/is.exec(spec);
  if (!m) return spec;
  const [, scheme, authority, rest] = m;
  const tls = scheme.toLowerCase().endsWith('s');
  const auth = authority.toLowerCase().replace(/:1094$/, '');
  const q = rest.search(/[?#]/);
  const path = q < 0 ? rest : rest.slice(0, q);
  const tail = q < 0 ? '' : rest.slice(q);
  return `${tls ? 'roots' : 'root'}://${auth}/${path.replace(/^\/+/, '').replace(/\/{2,}/g, '/')}${tail}`;
}

/**
 * MLaaS4HEP's `redirector`: a CMS logical file name (/store/...) is read through the redirector,
 * root://<redirector>//store/...; anything else (URLs, relative or other local paths) is kept.
 */
export function throughRedirector(file: string, redirector: string | undefined): string {
  if (!redirector || !file.startsWith('/store/')) return file;
  return `${redirector.replace(/\/+$/, '')}/${file}`;
}

/** Checks a `redirector` value: root[s]://host[:port], optionally with a path prefix. */
export function checkRedirector(redirector: string): string | undefined {
  if (!isXRootDUrl(redirector)) return 'must be an XRootD URL such as root://cms-xrd-global.cern.ch';
  if (!/^(x?roots?):\/\/[^/?#@]+(\/[^?#]*)?$/i.test(redirector)) {
    return 'must be root://host[:port] with an optional path, no user, query or fragment';
  }
  return undefined;
}
