import { UnavailableError, UnprocessableError } from '../../../errors.js';
import { RootFileNotFoundError } from '../../errors.js';
import type { HostCheck } from '../types.js';
import type { Answer, Connection } from './connection.js';
import { serverError } from './errors.js';
import type { XRootDPool } from './pool.js';
import { OPEN_READ, OPEN_RETSTAT, READV_ELEMENT, Request, Status, text } from './protocol.js';
import { DEFAULT_PORT, type Endpoint, hostPort, type XRootDUrl } from './url.js';

export interface FileOptions {
  pool: XRootDPool;
  /** redirects followed for one open before giving up (default 8) */
  maxRedirects: number;
  /** total seconds of kXR_wait accepted for one request (default 120) */
  maxWaitSeconds: number;
  checkHost?: HostCheck;
}

export interface FileInfo {
  size: number;
  mtime: number;
  /** the server the file was opened on, after redirects */
  at: string;
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/**
 * One open file on one connection: the handle is only valid there. Opening follows redirects from a
 * redirector (or a manager) to the data server, up to a bound; kXR_wait is honoured up to a total.
 */
export class XRootDFile {
  private closed = false;

  private constructor(
    private readonly conn: Connection,
    private readonly handle: Buffer,
    readonly info: FileInfo,
    private readonly name: string,
    private readonly options: FileOptions,
  ) {}

  static async open(url: XRootDUrl, name: string, options: FileOptions): Promise<XRootDFile> {
    let at: Endpoint = url;
    let opaque = url.opaque;
    const hops: string[] = [];
    for (;;) {
      await options.checkHost?.({ protocol: at.tls ? 'roots:' : 'root:', host: at.host, port: at.port });
      const conn = await options.pool.acquire(at).catch((err: unknown) => {
        throw about(name, err);
      });
      const path = Buffer.from(opaque ? `${url.path}?${opaque}` : url.path, 'utf8');
      const r = await send(conn, name, options.maxWaitSeconds, () =>
        conn.request(
          Request.open,
          (b) => {
            b.writeUInt16BE(0, 4);
            b.writeUInt16BE(OPEN_READ | OPEN_RETSTAT, 6);
          },
          path,
        ),
      );
      if (r.status === Status.redirect) {
        hops.push(hostPort(at));
        if (hops.length > options.maxRedirects) {
          throw new UnavailableError(
            `${name}: more than ${options.maxRedirects} redirects (${hops.join(' → ')}); the federation may be looping`,
          );
        }
        const next = redirectTarget(r.body, at, url, name);
        at = next.at;
        opaque = mergeOpaque(opaque, next.opaque);
        continue;
      }
      if (r.body.length < 4)
        throw new UnavailableError(`${name}: the open answer from ${conn.label} is too short`);
      const handle = Buffer.from(r.body.subarray(0, 4));
      options.pool.hold(conn, 1);
      const file = new XRootDFile(conn, handle, { size: 0, mtime: 0, at: conn.label }, name, options);
      try {
        const s = (r.body.length > 12 ? parseStat(text(r.body, 12)) : undefined) ?? (await file.stat());
        if (s.flags & 2) throw new RootFileNotFoundError(name, 'it is a directory');
        file.info.size = s.size;
        file.info.mtime = s.mtime;
        return file;
      } catch (err) {
        await file.close();
        throw err;
      }
    }
  }

  /** Bytes [offset, offset + length) with kXR_read (large reads arrive as several kXR_oksofar parts). */
  async read(offset: number, length: number): Promise<Buffer> {
    const r = await this.call(
      Request.read,
      (b) => {
        this.handle.copy(b, 4);
        b.writeBigInt64BE(BigInt(offset), 8);
        b.writeInt32BE(length, 16);
      },
      undefined,
      length,
    );
    if (r.body.length !== length) {
      throw new UnavailableError(
        `${this.name}: asked ${this.info.at} for ${length} bytes at ${offset}, got ${r.body.length}`,
      );
    }
    return r.body;
  }

  /**
   * Several segments in one kXR_readv: the answer is each segment's 16-byte header (handle, length,
   * offset) and data, in order, possibly over several kXR_oksofar parts (read back as one stream).
   */
  async readv(segments: ReadonlyArray<readonly [offset: number, length: number]>): Promise<Buffer[]> {
    const list = Buffer.alloc(segments.length * READV_ELEMENT);
    let total = 0;
    segments.forEach(([offset, length], i) => {
      this.handle.copy(list, i * READV_ELEMENT);
      list.writeInt32BE(length, i * READV_ELEMENT + 4);
      list.writeBigInt64BE(BigInt(offset), i * READV_ELEMENT + 8);
      total += READV_ELEMENT + length;
    });
    const r = await this.call(Request.readv, undefined, list, total);
    const out: Buffer[] = [];
    let at = 0;
    for (const [offset, length] of segments) {
      const ok =
        at + READV_ELEMENT <= r.body.length &&
        r.body.readInt32BE(at + 4) === length &&
        Number(r.body.readBigInt64BE(at + 8)) === offset &&
        at + READV_ELEMENT + length <= r.body.length;
      if (!ok)
        throw new UnavailableError(
          `${this.name}: ${this.info.at} answered a vector read out of order or short`,
        );
      out.push(r.body.subarray(at + READV_ELEMENT, at + READV_ELEMENT + length));
      at += READV_ELEMENT + length;
    }
    return out;
  }

  async stat(): Promise<Stat> {
    const r = await this.call(Request.stat, (b) => this.handle.copy(b, 16));
    const s = parseStat(text(r.body));
    if (!s) throw new UnavailableError(`${this.name}: ${this.info.at} sent an unreadable stat answer`);
    return s;
  }

  /** Closes the handle; errors are ignored (the server drops handles with the session anyway). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.options.pool.hold(this.conn, -1);
    if (!this.conn.alive) return;
    await this.conn.request(Request.close, (b) => this.handle.copy(b, 4)).catch(() => undefined);
  }

  get alive(): boolean {
    return !this.closed && this.conn.alive;
  }

  private async call(
    code: number,
    fill?: (b: Buffer) => void,
    payload?: Uint8Array,
    maxBytes?: number,
  ): Promise<Answer> {
    const r = await send(this.conn, this.name, this.options.maxWaitSeconds, () =>
      this.conn.request(code, fill, payload, { maxBytes }),
    );
    // a redirect on an open file means the data server wants us elsewhere: reopen from the start
    if (r.status === Status.redirect)
      throw new UnavailableError(`${this.name}: ${this.info.at} redirected a read`);
    return r;
  }
}

/**
 * Sends a request until it is not told to wait: kXR_wait is honoured (up to `maxWaitSeconds` in all),
 * kXR_error becomes a typed error; ok and redirect are returned.
 */
async function send(conn: Connection, name: string, maxWaitSeconds: number, request: () => Promise<Answer>) {
  let waited = 0;
  for (;;) {
    const r = await request();
    if (r.status === Status.error) throw serverError(name, r.body);
    if (r.status === Status.ok || r.status === Status.redirect) return r;
    if (r.status !== Status.wait) {
      throw new UnavailableError(`${name}: ${conn.label} gave an unexpected answer (status ${r.status})`);
    }
    const seconds = r.body.length >= 4 ? Math.max(0, r.body.readInt32BE(0)) : 1;
    if (waited + seconds > maxWaitSeconds) {
      const why = r.body.length > 4 ? ` (${text(r.body, 4)})` : '';
      throw new UnavailableError(
        `${name}: ${conn.label} keeps asking us to wait${why}; gave up after ${waited} s`,
      );
    }
    waited += seconds;
    await sleep(seconds * 1000);
  }
}

/**
 * A kXR_redirect answer: port, then "host[?opaque[?login token]]"; a port of 0 or less means the host
 * part is a URL. The opaque part is sent with the next open; TLS is never dropped on the way.
 */
function redirectTarget(
  body: Buffer,
  from: Endpoint,
  url: XRootDUrl,
  name: string,
): { at: Endpoint; opaque: string } {
  if (body.length < 5) throw new UnavailableError(`${name}: an empty redirect from ${hostPort(from)}`);
  const port = body.readInt32BE(0);
  const [where, opaque = ''] = text(body, 4).split('?');
  let host = where;
  let p = port;
  if (port <= 0) {
    const m = /^(?:(x?roots?):\/\/)?(?:[^@/]*@)?(\[[^\]]+\]|[^:/?]+)(?::(\d+))?/i.exec(where);
    if (!m || (m[1] && !/^x?roots?$/i.test(m[1]))) {
      throw new UnprocessableError(
        `${name}: redirected to "${where}", which is not an XRootD server`,
        'XRootDError',
      );
    }
    host = m[2].replace(/^\[|\]$/g, '');
    p = m[3] ? Number(m[3]) : DEFAULT_PORT;
  }
  if (!host || !(p >= 1 && p <= 65535))
    throw new UnavailableError(`${name}: an invalid redirect to "${where}:${port}"`);
  return { at: { host: host.toLowerCase(), port: p, tls: from.tls, user: url.user }, opaque };
}

/** A connection-level error (shared by every file on that server) restated for the file being opened. */
function about(name: string, err: unknown): unknown {
  const why = err instanceof Error ? err.message : String(err);
  if (err instanceof UnprocessableError)
    return new UnprocessableError(`cannot read ${name}: ${why}`, err.code, { cause: err });
  if (err instanceof UnavailableError)
    return new UnavailableError(`cannot read ${name}: ${why}`, { cause: err });
  return err;
}

interface Stat {
  size: number;
  flags: number;
  mtime: number;
}

/** "id size flags mtime", the text of a stat answer (also after an open's handle with kXR_retstat). */
function parseStat(s: string): Stat | undefined {
  const parts = s.trim().split(/\s+/);
  if (parts.length < 4) return undefined;
  const [size, flags, mtime] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (!Number.isSafeInteger(size) || size < 0 || !Number.isFinite(flags)) return undefined;
  return { size, flags, mtime };
}

/** The redirect's opaque keys replace the same keys of the original (as XrdCl merges them). */
function mergeOpaque(original: string, extra: string): string {
  const pairs = new Map<string, string>();
  for (const part of [...original.split('&'), ...extra.split('&')]) {
    if (part) pairs.set(part.split('=')[0], part);
  }
  return [...pairs.values()].join('&');
}
