import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { PreconditionFailedError } from '../errors.js';
import { checkKey, type ObjectStore, type PutOptions, type StoredObject, toBytes } from './object-store.js';

const etagOf = (b: Uint8Array): string => `"${createHash('md5').update(b).digest('hex')}"`;

/** An object store in a local directory (for the CLI, tests and single-machine deployments). */
export class LocalObjectStore implements ObjectStore {
  readonly name: string;
  /** serialises conditional writes per key within this process */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly root: string) {
    this.name = root;
  }

  private path(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  async get(key: string): Promise<StoredObject | undefined> {
    try {
      const body = await readFile(this.path(key));
      return { body, etag: etagOf(body) };
    } catch (err) {
      if (
        (err as NodeJS.ErrnoException).code === 'ENOENT' ||
        (err as NodeJS.ErrnoException).code === 'EISDIR'
      )
        return undefined;
      throw err;
    }
  }

  /**
   * Inode, size and nanosecond times: every write replaces the file by a rename, so each changes.
   * Synchronous on purpose: it runs on every prediction, and a stat of a cached inode on a local
   * disk takes microseconds, less than handing it to the thread pool and back (25% more requests/s
   * measured with `npm run bench:predict`). A folder on a network filesystem belongs in S3 instead.
   */
  async stamp(key: string): Promise<string | undefined> {
    try {
      const st = statSync(this.path(key), { bigint: true });
      return st.isFile() ? `${st.ino}-${st.size}-${st.mtimeNs}-${st.ctimeNs}` : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    const bytes = toBytes(body);
    const run = async (): Promise<{ etag: string }> => {
      if (options.ifMatch || options.ifNoneMatch) {
        const cur = await this.get(key);
        if (options.ifNoneMatch && cur) throw new PreconditionFailedError(key);
        if (options.ifMatch && cur?.etag !== options.ifMatch) throw new PreconditionFailedError(key);
      }
      const path = this.path(key);
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
      return { etag: etagOf(bytes) };
    };
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(run, run);
    this.locks.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  /** Walks only the folder the prefix names; ETags here are cheap (size and mtime), not content hashes. */
  async list(prefix: string): Promise<Array<{ key: string; size: number; etag: string }>> {
    const out: Array<{ key: string; size: number; etag: string }> = [];
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const walk = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && !e.name.endsWith('.tmp')) {
          const key = relative(this.root, p).split(sep).join('/');
          if (key.startsWith(prefix)) {
            const st = await stat(p);
            out.push({ key, size: st.size, etag: `"${st.size}-${Math.round(st.mtimeMs)}"` });
          }
        }
      }
    };
    await walk(folder ? join(this.root, ...checkKey(folder).split('/')) : this.root);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }
}
