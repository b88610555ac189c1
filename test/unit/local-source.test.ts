import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalSource } from '../../lib/root/source/local.js';

let dir: string;
let path: string;
const bytes = Buffer.from(Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-local-source-'));
  path = join(dir, 'f.bin');
  await writeFile(path, bytes);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LocalSource', () => {
  it('has its positioned reads under way before read() returns, once the file is open', async () => {
    // a reader asks for the next pages, then inflates for tens of ms before its next await: reads
    // issued only after a microtask would wait until then
    const src = new LocalSource(path);
    await src.read([[0, 10]]);
    const probe = await open(path, 'r');
    const spy = vi.spyOn(Object.getPrototypeOf(probe) as { read: () => unknown }, 'read');
    await probe.close();
    try {
      const pending = src.read([
        [100, 50],
        [250_000, 40],
      ]);
      expect(spy).toHaveBeenCalledTimes(2);
      const [a, b] = await pending;
      expect(a).toEqual(bytes.subarray(100, 150));
      expect(b).toEqual(bytes.subarray(250_000, 250_040));
    } finally {
      spy.mockRestore();
    }
    await src.close();
  });

  it('opens the file again after close', async () => {
    const src = new LocalSource(path);
    expect(await src.read([[5, 5]])).toEqual([bytes.subarray(5, 10)]);
    await src.close();
    expect(await src.read([[299_990, 10]])).toEqual([bytes.subarray(299_990)]);
    await src.close();
  });
});
