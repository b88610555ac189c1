import { type FileHandle, open } from 'node:fs/promises';
import { CorruptFileError, RootFileNotFoundError } from '../errors.js';
import { checkRanges, coalesceRanges, splitMerged } from './coalesce.js';
import type { ByteRange, ByteSource } from './types.js';

/** Reads a file on the local disk with positioned reads (no stream, no whole-file buffer). */
export class LocalSource implements ByteSource {
  readonly name: string;
  readonly freshBuffers = true;
  private handle: Promise<FileHandle> | undefined;
  private stat: Promise<{ size: number; mtimeMs: number }> | undefined;
  /** the file once open and its size once known, so a read is issued before `read` returns */
  private opened: { fh: FileHandle; size: number } | undefined;

  constructor(readonly path: string) {
    this.name = path;
  }

  private file(): Promise<FileHandle> {
    this.handle ??= open(this.path, 'r').catch((err: NodeJS.ErrnoException) => {
      throw new RootFileNotFoundError(this.path, err.code === 'ENOENT' ? 'no such file' : err.code, {
        cause: err,
      });
    });
    return this.handle;
  }

  private info(): Promise<{ size: number; mtimeMs: number }> {
    this.stat ??= this.file().then(async (fh) => {
      const s = await fh.stat();
      if (!s.isFile()) throw new RootFileNotFoundError(this.path, 'not a regular file');
      return { size: s.size, mtimeMs: s.mtimeMs };
    });
    return this.stat;
  }

  async size(): Promise<number> {
    return (await this.info()).size;
  }

  async fingerprint(): Promise<string> {
    const s = await this.info();
    return `size=${s.size};mtime=${Math.round(s.mtimeMs)}`;
  }

  /**
   * Nearby ranges (baskets of one cluster sit side by side) are read with one positioned read each
   * group: hundreds of small reads cost more in thread-pool round trips than the bytes themselves.
   */
  async read(ranges: readonly ByteRange[], alloc?: (bytes: number) => Uint8Array): Promise<Uint8Array[]> {
    // no await once the file is open: the positioned reads are then in the thread pool before
    // the caller goes on (a reader asks for the next pages, then inflates for tens of ms; reads
    // issued only at its next await were waited for)
    let open = this.opened;
    if (!open) {
      open = { fh: await this.file(), size: await this.size() };
      if (this.handle) this.opened = open; // unless closed meanwhile
    }
    const { fh, size } = open;
    checkRanges(this.name, ranges, size);
    const merged = coalesceRanges(ranges, 64 * 1024, 32 * 1024 * 1024);
    const bodies = await Promise.all(
      merged.map(async ({ offset, length }) => {
        const buf = alloc ? alloc(length) : Buffer.allocUnsafe(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
          if (bytesRead === 0)
            throw new CorruptFileError(this.name, `unexpected end of file at byte ${offset + done}`);
          done += bytesRead;
        }
        return buf;
      }),
    );
    return splitMerged(merged, bodies, ranges.length);
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    this.stat = undefined;
    this.opened = undefined;
    if (h) await (await h.catch(() => undefined))?.close();
  }
}
