import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { PreconditionFailedError } from '../errors.js';
import { checkKey, type ObjectStore, type PutOptions, type StoredObject, toBytes } from './object-store.js';

const etagOf = (b: Uint8Array): string => `"${createHash('md5').update(b).digest('hex')}"`;

/**
 * Takes an exclusive lock file (created with O_EXCL, so one process wins), waiting for its holder;
 * a lock older than STALE_MS was left by a process that died holding it and is taken over.
 */
const STALE_MS = 10_000;
async function lockFile(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; ; attempt++) {
    try {
      const h = await open(path, 'wx');
      await h.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(path).then(
        (st) => Date.now() - st.mtimeMs,
        () => 0,
      );
      if (age > STALE_MS) await rm(path, { force: true });
      else await new Promise((r) => setTimeout(r, Math.min(50, 1 + attempt)));
    }
  }
}

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
    const path = this.path(key);
    const write = async (): Promise<{ etag: string }> => {
      const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
      return { etag: etagOf(bytes) };
    };
    const run = async (): Promise<{ etag: string }> => {
      await mkdir(dirname(path), { recursive: true });
      if (!options.ifMatch && !options.ifNoneMatch) return write();
      // the check and the write under a lock file, as other processes on the store (serve's
      // trainer, a second CLI) take it too: a check then write by each alone let a record read
      // before another's write replace it (a job moved to running by the trainer was put back to
      // queued by submit's update)
      const release = await lockFile(`${path}.cas.tmp`);
      try {
        const cur = await this.get(key);
        if (options.ifNoneMatch && cur) throw new PreconditionFailedError(key);
        if (options.ifMatch && cur?.etag !== options.ifMatch) throw new PreconditionFailedError(key);
        return await write();
      } finally {
        await release();
      }
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
