import { MlaasError, UnavailableError, UnprocessableError } from '../../errors.js';
import { RootFileNotFoundError, SourceChangedError } from '../errors.js';
import { checkRanges, coalesceRanges, type MergedRange, splitMerged } from './coalesce.js';
import { forEachConcurrent } from './concurrency.js';
import { parseContentRange, parseMultipart, readBody } from './http-body.js';
import type { ByteRange, ByteSource, CoalesceOptions, HostCheck } from './types.js';

export interface HttpSourceOptions extends CoalesceOptions {
  /** Per-request timeout in ms, covering the body as well as the headers (default 30 s). */
  timeoutMs?: number;
  /** Extra attempts after a 5xx, 429, timeout or network error (default 2). */
  retries?: number;
  /** First retry delay in ms; doubles on each attempt (default 250). */
  retryDelayMs?: number;
  /** Parallel requests when the server cannot do multi-range (default 8). */
  concurrency?: number;
  /** Ranges per multi-range request; servers cap the Range header's length (default 64). */
  maxRangesPerRequest?: number;
  /** Extra request headers, e.g. Authorization. */
  headers?: Readonly<Record<string, string>>;
  /** Asked before every request and every redirect it follows (throw to refuse the host). */
  checkHost?: HostCheck;
}

const REDIRECT = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

interface Meta {
  size: number;
  etag?: string;
  lastModified?: string;
}
const EMPTY = new Uint8Array(0);
const PART_OVERHEAD = 512;

/** Reads a file over HTTP(S) with range requests, multi-range when the server supports it. */
export class HttpSource implements ByteSource {
  readonly name: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly concurrency: number;
  private readonly maxRanges: number;
  private readonly gap: number;
  private readonly maxRequestBytes: number;
  private meta: Promise<Meta> | undefined;
  /** undefined until the first multi-range answer tells us. */
  private multiRange: boolean | undefined;

  readonly url: string;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly checkHost?: HostCheck;

  constructor(url: string, options: HttpSourceOptions = {}) {
    const u = new URL(url);
    const auth =
      u.username || u.password ? `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}` : '';
    // fetch refuses URLs with credentials: send them as Basic auth instead.
    u.username = '';
    u.password = '';
    this.url = u.href;
    this.headers = auth
      ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}`, ...options.headers }
      : { ...options.headers };
    // Presigned URLs carry signatures in the query: keep them out of messages.
    this.name = `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 2;
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.concurrency = options.concurrency ?? 8;
    this.maxRanges = options.maxRangesPerRequest ?? 64;
    this.gap = options.gap ?? 32 * 1024;
    this.maxRequestBytes = options.maxRequestBytes ?? 10 * 1024 * 1024;
    this.checkHost = options.checkHost;
  }

  async size(): Promise<number> {
    return (await this.info()).size;
  }

  async fingerprint(): Promise<string> {
    const m = await this.info();
    if (m.etag) return m.etag;
    return m.lastModified ? `size=${m.size};last-modified=${m.lastModified}` : `size=${m.size}`;
  }

  async read(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const meta = await this.info();
    checkRanges(this.name, ranges, meta.size);
    const merged = coalesceRanges(ranges, this.gap, this.maxRequestBytes);
    const bodies: Uint8Array[] = merged.map(() => EMPTY);
    let todo = merged.flatMap((m, i) => (m.length > 0 ? [i] : []));
    if (todo.length > 1 && this.multiRange !== false) {
      const groups = this.group(merged, todo);
      todo = [];
      let rest = groups;
      if (this.multiRange === undefined) {
        // Learn whether multi-range works on one request before fanning out.
        todo.push(...(await this.readMulti(meta, merged, groups[0], bodies)));
        rest = groups.slice(1);
      }
      if (this.multiRange) {
        await forEachConcurrent(rest, this.concurrency, async (g) => {
          todo.push(...(await this.readMulti(meta, merged, g, bodies)));
        });
      } else todo.push(...rest.flat());
    }
    await forEachConcurrent(todo, this.concurrency, async (i) => {
      bodies[i] = await this.readSingle(meta, merged[i]);
    });
    return splitMerged(merged, bodies, ranges.length);
  }

  async close(): Promise<void> {
    this.meta = undefined;
  }

  private info(): Promise<Meta> {
    // A failed probe is not cached: the next call may succeed once the server is back.
    this.meta ??= this.probe().catch((err: unknown) => {
      this.meta = undefined;
      throw err;
    });
    return this.meta;
  }

  private async probe(): Promise<Meta> {
    const head = await this.request('HEAD', {}, async (res) => {
      if (res.status === 405 || res.status === 501) return undefined;
      this.checkStatus(res);
      const length = res.headers.get('content-length');
      if (!res.ok || length === null || res.headers.has('content-encoding')) return undefined;
      return { size: Number(length), ...validators(res) };
    });
    if (head) return head;
    // Some servers refuse HEAD or omit Content-Length there; a one-byte GET states the total size.
    return this.request('GET', { Range: 'bytes=0-0' }, async (res) => {
      this.checkStatus(res);
      const total =
        res.status === 206 ? parseContentRange(res.headers.get('content-range'))?.total : undefined;
      await res.body?.cancel();
      if (total === undefined) throw this.noRanges(res.status);
      return { size: total, ...validators(res) };
    });
  }

  /** Splits the merged ranges into multi-range requests bounded in range count and bytes. */
  private group(merged: readonly MergedRange[], todo: readonly number[]): number[][] {
    const groups: number[][] = [];
    let bytes = 0;
    for (const i of todo) {
      const last = groups.at(-1);
      if (last && last.length < this.maxRanges && bytes + merged[i].length <= this.maxRequestBytes) {
        last.push(i);
        bytes += merged[i].length;
      } else {
        groups.push([i]);
        bytes = merged[i].length;
      }
    }
    return groups;
  }

  /** One multi-range request; fills `bodies` and returns the indices the answer did not cover. */
  private async readMulti(meta: Meta, merged: readonly MergedRange[], group: number[], bodies: Uint8Array[]) {
    if (group.length === 1) return group;
    const spec = group.map((i) => `${merged[i].offset}-${merged[i].offset + merged[i].length - 1}`).join(',');
    const limit = group.reduce((n, i) => n + merged[i].length + PART_OVERHEAD, 4096);
    const answer = await this.request('GET', { Range: `bytes=${spec}`, ...conditions(meta) }, async (res) => {
      this.checkStatus(res);
      this.checkVersion(res, meta);
      const type = res.headers.get('content-type') ?? '';
      const boundary = /^multipart\/byteranges\s*;.*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(type);
      if (res.status === 206 && boundary) {
        // An over-long answer (server merged far-apart ranges) or a garbled one: fall back to single ranges.
        const body = await readBody(res, limit, false);
        const parts = body && parseMultipart(body, boundary[1] ?? boundary[2]);
        for (const p of parts ?? []) this.checkVersion(res, meta, p.total);
        return { parts, multipart: parts !== undefined };
      }
      if (res.status === 206) {
        const cr = parseContentRange(res.headers.get('content-range'));
        this.checkVersion(res, meta, cr?.total);
        const data = cr && (await readBody(res, limit, false));
        return { parts: cr && data ? [{ ...cr, data }] : undefined, multipart: false };
      }
      // 200: the server ignored the ranges and started sending the whole file; stop it.
      await res.body?.cancel();
      return { parts: undefined, multipart: false };
    });
    this.multiRange = answer.multipart;
    const missing: number[] = [];
    for (const i of group) {
      const { offset, length } = merged[i];
      const part = answer.parts?.find((p) => p.start <= offset && p.end >= offset + length - 1);
      if (part) bodies[i] = part.data.subarray(offset - part.start, offset - part.start + length);
      else missing.push(i);
    }
    return missing;
  }

  private async readSingle(meta: Meta, { offset, length }: MergedRange): Promise<Uint8Array> {
    const range = `bytes=${offset}-${offset + length - 1}`;
    return this.request('GET', { Range: range, ...conditions(meta) }, async (res) => {
      this.checkStatus(res);
      this.checkVersion(res, meta);
      if (res.status === 206) {
        const cr = parseContentRange(res.headers.get('content-range'));
        this.checkVersion(res, meta, cr?.total);
        if (!cr || cr.start > offset || cr.end < offset + length - 1) {
          await res.body?.cancel();
          const got = res.headers.get('content-range');
          throw new UnavailableError(`${this.name} answered the request for ${range} with ${got}`);
        }
        const body = await readBody(res, cr.end - cr.start + 1, true);
        return body.subarray(offset - cr.start, offset - cr.start + length);
      }
      // A 200 is acceptable only when the requested range is the whole file.
      const whole = offset === 0 && Number(res.headers.get('content-length')) === length;
      if (whole) return readBody(res, length, true);
      await res.body?.cancel();
      throw this.noRanges(res.status);
    });
  }

  private checkStatus(res: Response): void {
    const s = res.status;
    if (s === 404 || s === 410) throw new RootFileNotFoundError(this.name, `HTTP ${s}`);
    if (s === 401 || s === 403) throw new RootFileNotFoundError(this.name, `access denied: HTTP ${s}`);
    if (s === 412) throw new SourceChangedError(this.name, 'the server reports a different version');
    if (s === 416) throw new SourceChangedError(this.name, 'the server says the range lies beyond its end');
    if (s !== 200 && s !== 206) throw new UnavailableError(`${this.name} answered with unexpected HTTP ${s}`);
  }

  /** Servers that ignore If-Match still label what they send: compare it with the pinned version. */
  private checkVersion(res: Response, meta: Meta, total?: number): void {
    const got = res.headers.get('etag');
    if (got && meta.etag && got.replace(/^W\//, '') !== meta.etag.replace(/^W\//, '')) {
      throw new SourceChangedError(this.name, `ETag was ${meta.etag}, now ${got}`);
    }
    if (total !== undefined && total !== meta.size) {
      throw new SourceChangedError(this.name, `size was ${meta.size} bytes, now ${total}`);
    }
  }

  private noRanges(status: number): MlaasError {
    return new UnprocessableError(
      `${this.name} cannot be read: the server ignores HTTP range requests (it answered ${status} with the whole file); ` +
        'serve it from a server that supports ranges, or copy it to S3',
      'RangeRequestsNotSupported',
    );
  }

  /**
   * fetch, following redirects itself so that checkHost sees every hop before it is contacted;
   * credentials given for the first origin are not sent to another (as fetch's own redirects do).
   */
  private async fetchFollowing(method: string, headers: Record<string, string>, signal: AbortSignal) {
    const first = new URL(this.url);
    let url = first;
    for (let hop = 0; ; hop++) {
      await this.checkHost?.(target(url));
      const h =
        url.origin === first.origin
          ? headers
          : Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
      const res = await fetch(url, { method, headers: h, signal, redirect: 'manual' });
      if (!REDIRECT.has(res.status)) return res;
      await res.body?.cancel().catch(() => undefined);
      const location = res.headers.get('location');
      if (!location || hop >= MAX_REDIRECTS)
        throw new UnavailableError(
          `${this.name} ${location ? `redirects more than ${MAX_REDIRECTS} times` : `answered ${res.status} without a Location`}`,
        );
      url = new URL(location, url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new UnavailableError(
          `${this.name} redirects to a ${url.protocol} URL, which cannot be read over HTTP`,
        );
    }
  }

  /**
   * fetch with a timeout covering the body, retrying 5xx/429/network errors with backoff.
   * `handle` consumes the response inside the attempt, so a stalled body is retried too.
   */
  private async request<T>(
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
    handle: (res: Response) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const signal = AbortSignal.timeout(this.timeoutMs);
      let why: string;
      let cause: unknown;
      try {
        // identity: byte offsets must refer to the file, not to a compressed transfer of it.
        const h = { ...this.headers, 'Accept-Encoding': 'identity', ...headers };
        const res = await this.fetchFollowing(method, h, signal);
        if (res.status < 500 && res.status !== 429) return await handle(res);
        await res.body?.cancel().catch(() => undefined);
        why = `HTTP ${res.status}`;
      } catch (err) {
        if (err instanceof MlaasError) throw err;
        why = signal.aborted ? `no answer within ${this.timeoutMs} ms` : describe(err);
        cause = err;
      }
      if (attempt >= this.retries) {
        throw new UnavailableError(`${this.name} could not be read: ${why} (${attempt + 1} attempts)`, {
          cause,
        });
      }
      await new Promise((r) => setTimeout(r, this.retryDelayMs * 2 ** attempt * (0.5 + Math.random())));
    }
  }
}

/** The host, port and protocol a URL connects to, as a HostCheck takes them. */
function target(url: URL): { protocol: string; host: string; port: number } {
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  return { protocol: url.protocol, host: url.hostname, port };
}

/** Pins the content seen by the first probe, so a replaced file fails instead of mixing versions. */
function conditions({ etag, lastModified }: Meta): Record<string, string> {
  // If-Match compares strongly, so a weak ETag would always fail; those are compared on the response.
  if (etag && !etag.startsWith('W/')) return { 'If-Match': etag };
  return lastModified && !etag ? { 'If-Unmodified-Since': lastModified } : {};
}

function validators(res: Response): { etag?: string; lastModified?: string } {
  return {
    etag: res.headers.get('etag') ?? undefined,
    lastModified: res.headers.get('last-modified') ?? undefined,
  };
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause =
    err.cause instanceof Error ? `: ${(err.cause as NodeJS.ErrnoException).code ?? err.cause.message}` : '';
  return `${err.message}${cause}`;
}
