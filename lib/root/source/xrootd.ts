import { UnavailableError } from '../../errors.js';
import { SourceChangedError } from '../errors.js';
import { checkRanges, coalesceRanges, type MergedRange, splitMerged } from './coalesce.js';
import { forEachConcurrent } from './concurrency.js';
import type { ByteRange, ByteSource, CoalesceOptions, HostCheck } from './types.js';
import { XRootDFile } from './xrootd/file.js';
import { sharedXRootDPool, type XRootDPool } from './xrootd/pool.js';
import { READV_MAX_ELEMENTS, READV_MAX_SEGMENT } from './xrootd/protocol.js';
import { displayName, parseXRootDUrl, type XRootDUrl } from './xrootd/url.js';

export interface XRootDSourceOptions extends CoalesceOptions {
  /** Connections (and their timeouts, TLS trust, token lookup); default: one pool per process. */
  pool?: XRootDPool;
  /** Extra attempts after a lost connection, a timeout or a transient server error (default 2). */
  retries?: number;
  /** First retry delay in ms; doubles on each attempt (default 250). */
  retryDelayMs?: number;
  /** Redirects followed to open a file (default 8). */
  maxRedirects?: number;
  /** Total seconds of kXR_wait accepted for one request (default 120). */
  maxWaitSeconds?: number;
  /** Vector reads in flight at once for one read call (default 4). */
  concurrency?: number;
  /** Called before every connection, redirects included; throws to refuse a host. */
  checkHost?: HostCheck;
}

interface Segment {
  merged: number;
  offset: number;
  length: number;
  /** where in the merged range the segment's bytes go */
  at: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Reads a file from an XRootD server (root://, roots://): the file is opened once (following redirects
 * from a redirector to a data server) and nearby ranges are coalesced and fetched with kXR_readv, several
 * vector reads in flight on one connection. The size and modification time seen at the first open are
 * pinned: a reopen (after a lost connection) that finds another version fails with SourceChangedError.
 */
export class XRootDSource implements ByteSource {
  readonly name: string;
  readonly url: XRootDUrl;
  private opened: Promise<XRootDFile> | undefined;
  private current: XRootDFile | undefined;
  private pinned: { size: number; mtime: number } | undefined;
  private readonly pool: XRootDPool;

  constructor(
    spec: string,
    private readonly options: XRootDSourceOptions = {},
  ) {
    this.url = parseXRootDUrl(spec);
    this.name = displayName(this.url);
    this.pool = options.pool ?? sharedXRootDPool();
  }

  async size(): Promise<number> {
    return (await this.retrying(() => this.file())).info.size;
  }

  async fingerprint(): Promise<string> {
    const { size, mtime } = (await this.retrying(() => this.file())).info;
    return `size=${size};mtime=${mtime}`;
  }

  async read(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    return this.retrying(async () => {
      const f = await this.file();
      checkRanges(this.name, ranges, f.info.size);
      return this.readFrom(f, ranges);
    });
  }

  async close(): Promise<void> {
    // an open still under way is waited for, so its handle is closed too
    const opening = this.opened;
    this.opened = undefined;
    this.current = undefined;
    await (await opening?.catch(() => undefined))?.close();
  }

  private file(): Promise<XRootDFile> {
    if (this.current && !this.current.alive) this.forget(this.current);
    this.opened ??= XRootDFile.open(this.url, this.name, {
      pool: this.pool,
      maxRedirects: this.options.maxRedirects ?? 8,
      maxWaitSeconds: this.options.maxWaitSeconds ?? 120,
      checkHost: this.options.checkHost,
    }).then(
      async (f) => {
        const { size, mtime } = f.info;
        if (this.pinned && (this.pinned.size !== size || this.pinned.mtime !== mtime)) {
          await f.close();
          const was = this.pinned;
          throw new SourceChangedError(
            this.name,
            `size ${was.size} → ${size}, mtime ${was.mtime} → ${mtime}`,
          );
        }
        this.pinned = { size, mtime };
        this.current = f;
        return f;
      },
      (err: unknown) => {
        this.opened = undefined;
        throw err;
      },
    );
    return this.opened;
  }

  /** Drops a file whose connection failed, so the next attempt opens it again (via the redirector). */
  private forget(f: XRootDFile): void {
    if (this.current !== f) return;
    this.current = undefined;
    this.opened = undefined;
    void f.close();
  }

  private async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    const retries = this.options.retries ?? 2;
    const delay = this.options.retryDelayMs ?? 250;
    for (let i = 0; ; i++) {
      try {
        return await attempt();
      } catch (err) {
        const transient = err instanceof UnavailableError && !(err instanceof SourceChangedError);
        if (!transient || i >= retries) throw err;
        if (this.current) this.forget(this.current);
        await new Promise((ok) => setTimeout(ok, delay * 2 ** i * (0.5 + Math.random())));
      }
    }
  }

  private async readFrom(f: XRootDFile, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const merged = coalesceRanges(ranges, this.options.gap, this.options.maxRequestBytes);
    const bodies: Uint8Array[] = merged.map(() => EMPTY);
    const segments = split(merged);
    if (segments.length === 1) {
      const s = segments[0];
      bodies[s.merged] = await f.read(s.offset, s.length);
    } else if (segments.length > 1) {
      const groups = group(segments, this.options.maxRequestBytes ?? 10 * 1024 * 1024);
      await forEachConcurrent(groups, this.options.concurrency ?? 4, async (g) => {
        const parts = await f.readv(g.map((s) => [s.offset, s.length] as const));
        for (const [i, s] of g.entries()) place(merged, bodies, s, parts[i]);
      });
    }
    return splitMerged(merged, bodies, ranges.length);
  }
}

/** Merged ranges cut into vector-read elements no larger than the protocol allows. */
function split(merged: readonly MergedRange[]): Segment[] {
  const out: Segment[] = [];
  merged.forEach((m, i) => {
    for (let at = 0; at < m.length; at += READV_MAX_SEGMENT) {
      out.push({ merged: i, offset: m.offset + at, length: Math.min(READV_MAX_SEGMENT, m.length - at), at });
    }
  });
  return out;
}

/** Elements grouped into vector reads of at most 1024 elements and about `maxBytes` each. */
function group(segments: Segment[], maxBytes: number): Segment[][] {
  const groups: Segment[][] = [];
  let bytes = 0;
  for (const s of segments) {
    const last = groups.at(-1);
    if (last && last.length < READV_MAX_ELEMENTS && bytes + s.length <= maxBytes) {
      last.push(s);
      bytes += s.length;
    } else {
      groups.push([s]);
      bytes = s.length;
    }
  }
  return groups;
}

/** A merged range read in one element is used as it came; one cut into several is put back together. */
function place(merged: readonly MergedRange[], bodies: Uint8Array[], s: Segment, data: Uint8Array): void {
  const m = merged[s.merged];
  if (s.length === m.length) {
    bodies[s.merged] = data;
    return;
  }
  if (bodies[s.merged].length !== m.length) bodies[s.merged] = new Uint8Array(m.length);
  bodies[s.merged].set(data, s.at);
}
