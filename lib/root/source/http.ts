import { MlaasError, UnavailableError, UnprocessableError } from '../../errors.js';
import { CorruptFileError, RootFileNotFoundError } from '../errors.js';
import { coalesceRanges, type MergedRange, splitMerged } from './coalesce.js';
import type { ByteRange, ByteSource, CoalesceOptions } from './types.js';

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
}

/** The remote file was replaced while we read it; bytes from both versions must not be mixed. */
export class SourceChangedError extends UnavailableError {
  constructor(source: string, detail: string) {
    super(`${source} changed while it was being read (${detail}); read it again`);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; stops taking new items after a failure. */
export async function forEachConcurrent<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
) {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++];
      await fn(item).catch((err: unknown) => {
        failed = true;
        throw err;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

interface Meta {
  size: number;
  etag?: string;
  lastModified?: string;
}
interface Part {
  start: number;
  end: number;
  data: Uint8Array;
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

  constructor(
    readonly url: string,
    private readonly options: HttpSourceOptions = {},
  ) {
    const u = new URL(url);
    // Presigned URLs carry signatures in the query and some URLs carry passwords: keep both out of messages.
    this.name = `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 2;
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.concurrency = options.concurrency ?? 8;
    this.maxRanges = options.maxRangesPerRequest ?? 64;
    this.gap = options.gap ?? 32 * 1024;
    this.maxRequestBytes = options.maxRequestBytes ?? 10 * 1024 * 1024;
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
    const { size } = await this.info();
    for (const [offset, length] of ranges) {
      if (offset < 0 || length < 0 || offset + length > size) {
        throw new CorruptFileError(
          this.name,
          `a record points to bytes ${offset}..${offset + length} beyond the file's end (${size} bytes)`,
        );
      }
    }
    const merged = coalesceRanges(ranges, this.gap, this.maxRequestBytes);
    const bodies = merged.map(() => EMPTY);
    let todo = merged.flatMap((m, i) => (m.length > 0 ? [i] : []));
    if (todo.length > 1 && this.multiRange !== false) {
      const groups = this.group(merged, todo);
      todo = [];
      let rest = groups;
      if (this.multiRange === undefined) {
        // Learn whether multi-range works on one request before fanning out.
        todo.push(...(await this.readMulti(merged, groups[0], bodies)));
        rest = groups.slice(1);
      }
      if (this.multiRange) {
        await forEachConcurrent(rest, this.concurrency, async (g) => {
          todo.push(...(await this.readMulti(merged, g, bodies)));
        });
      } else todo.push(...rest.flat());
    }
    await forEachConcurrent(todo, this.concurrency, async (i) => {
      bodies[i] = await this.readSingle(merged[i]);
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
  private async readMulti(
    merged: readonly MergedRange[],
    group: number[],
    bodies: Uint8Array[],
  ): Promise<number[]> {
    if (group.length === 1) return group;
    const spec = group.map((i) => `${merged[i].offset}-${merged[i].offset + merged[i].length - 1}`).join(',');
    const expected = group.reduce((n, i) => n + merged[i].length + PART_OVERHEAD, 4096);
    const parts = await this.request(
      'GET',
      { Range: `bytes=${spec}`, ...(await this.conditions()) },
      async (res) => {
        this.checkStatus(res);
        const type = res.headers.get('content-type') ?? '';
        const boundary = /^multipart\/byteranges\s*;.*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(type);
        if (res.status === 206 && boundary) {
          const body = await readBody(res, expected, false);
          // An over-long answer (server merged far-apart ranges) or a garbled one: fall back to single ranges.
          return body && parseMultipart(body, boundary[1] ?? boundary[2]);
        }
        if (res.status === 206) {
          const cr = parseContentRange(res.headers.get('content-range'));
          const body = cr && (await readBody(res, expected, false));
          return cr && body ? [{ start: cr.start, end: cr.end, data: body }] : undefined;
        }
        // 200: the server ignored the ranges and started sending the whole file; stop it.
        await res.body?.cancel();
        return undefined;
      },
    );
    this.multiRange = parts !== undefined && parts.length > 1;
    const missing: number[] = [];
    for (const i of group) {
      const { offset, length } = merged[i];
      const part = parts?.find((p) => p.start <= offset && p.end >= offset + length - 1);
      if (part) bodies[i] = part.data.subarray(offset - part.start, offset - part.start + length);
      else missing.push(i);
    }
    return missing;
  }

  private async readSingle({ offset, length }: MergedRange): Promise<Uint8Array> {
    const range = `bytes=${offset}-${offset + length - 1}`;
    return this.request('GET', { Range: range, ...(await this.conditions()) }, async (res) => {
      this.checkStatus(res);
      if (res.status === 206) {
        const cr = parseContentRange(res.headers.get('content-range'));
        if (!cr || cr.start > offset || cr.end < offset + length - 1) {
          await res.body?.cancel();
          throw new UnavailableError(
            `${this.name} answered ${range} with ${res.headers.get('content-range')}`,
          );
        }
        const body = await readBody(res, cr.end - cr.start + 1, true);
        return body.subarray(offset - cr.start, offset - cr.start + length);
      }
      // A 200 is acceptable only when the requested range is the whole file.
      if (offset === 0 && Number(res.headers.get('content-length')) === length)
        return readBody(res, length, true);
      await res.body?.cancel();
      throw this.noRanges(res.status);
    });
  }

  /** Pins the content seen by the first probe, so a replaced file fails instead of mixing versions. */
  private async conditions(): Promise<Record<string, string>> {
    const { etag, lastModified } = await this.info();
    // If-Match compares strongly, so a weak ETag would always fail; those are compared on the response.
    if (etag && !etag.startsWith('W/')) return { 'If-Match': etag };
    return lastModified && !etag ? { 'If-Unmodified-Since': lastModified } : {};
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
        const h = { ...this.options.headers, 'Accept-Encoding': 'identity', ...headers };
        const res = await fetch(this.url, { method, headers: h, signal, redirect: 'follow' });
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

function parseContentRange(value: string | null): { start: number; end: number; total?: number } | undefined {
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

/** Reads a body of at most `limit` bytes; beyond that it stops the transfer (throws, or returns undefined). */
async function readBody(res: Response, limit: number, strict: true): Promise<Uint8Array>;
async function readBody(res: Response, limit: number, strict: false): Promise<Uint8Array | undefined>;
async function readBody(res: Response, limit: number, strict: boolean): Promise<Uint8Array | undefined> {
  const declared = res.headers.get('content-length');
  const tooLong = () => {
    if (strict) throw new UnavailableError(`the server sent more than the ${limit} bytes asked for`);
    return undefined;
  };
  if (declared !== null && Number(declared) > limit) {
    await res.body?.cancel();
    return tooLong();
  }
  const out = new Uint8Array(declared !== null ? Number(declared) : limit);
  let n = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      if (n + chunk.length > out.length) {
        await res.body.cancel().catch(() => undefined);
        return tooLong();
      }
      out.set(chunk, n);
      n += chunk.length;
    }
  }
  if (strict && n !== limit)
    throw new UnavailableError(`the server sent ${n} bytes where ${limit} were expected`);
  return out.subarray(0, n);
}

/** Parses a multipart/byteranges body; parts may come in any order. Undefined when malformed. */
function parseMultipart(body: Uint8Array, boundary: string): Part[] | undefined {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const parts: Part[] = [];
  let pos = buf.indexOf(delimiter);
  while (pos >= 0) {
    pos += delimiter.length;
    if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d) return parts;
    const crlf = buf.indexOf('\r\n\r\n', pos);
    const lf = buf.indexOf('\n\n', pos);
    const headEnd = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
    if (headEnd < 0) return undefined;
    const header = /^content-range:(.*)$/im.exec(buf.toString('latin1', pos, headEnd));
    const cr = parseContentRange(header?.[1].trim() ?? null);
    // Take the data length from Content-Range, not the next delimiter, which could appear inside the data.
    const end = cr ? headEnd + cr.end - cr.start + 1 : -1;
    if (!cr || end > buf.length) return undefined;
    parts.push({ start: cr.start, end: cr.end, data: body.subarray(headEnd, end) });
    pos = buf.indexOf(delimiter, end);
  }
  return parts.length ? parts : undefined;
}
