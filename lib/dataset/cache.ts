import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Where computed specs are kept, keyed by the identity of what produced them (file contents,
 * selection, cuts): a changed input gives a new key, so stale specs are never reused.
 */
export interface SpecsCache {
  get(key: string): Promise<unknown | undefined>;
  put(key: string, value: unknown): Promise<void>;
}

export class MemorySpecsCache implements SpecsCache {
  private readonly entries = new Map<string, string>();
  async get(key: string): Promise<unknown | undefined> {
    const v = this.entries.get(key);
    return v === undefined ? undefined : JSON.parse(v);
  }
  async put(key: string, value: unknown): Promise<void> {
    this.entries.set(key, JSON.stringify(value));
  }
}

/** One JSON file per key in a directory (written to a temporary name, then renamed into place). */
export class DirectorySpecsCache implements SpecsCache {
  constructor(private readonly dir: string) {}

  async get(key: string): Promise<unknown | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, `${key}.json`), 'utf8'));
    } catch {
      return undefined;
    }
  }

  async put(key: string, value: unknown): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.${key}.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(value));
    await rename(tmp, join(this.dir, `${key}.json`));
  }
}
