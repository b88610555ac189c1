import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/errors.js';
import { loadXxh3, xxh3Sync } from '../../lib/root/codecs/xxhash.js';
import { CorruptFileError, openRoot, readColumns } from '../../lib/root/index.js';
import { iterate } from '../../lib/root/iterate.js';
import type { RNTuple } from '../../lib/root/rntuple/rntuple.js';
import { MemorySource } from '../../lib/root/source/memory.js';
import { RootFileWriter } from '../../lib/root/writer/file-writer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-rntuple-writer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** 1000 entries of five fields in 4 clusters of 64-element pages; returns what was written. */
async function writeSample(path: string, compression: number) {
  const w = await RootFileWriter.open(path, { compression });
  const r = w.rntuple(
    'Events',
    [
      { name: 'x', dtype: 'float64' },
      { name: 'n', dtype: 'int32' },
      { name: 'id', dtype: 'int64' },
      { name: 'u', dtype: 'uint32' },
      { name: 'pt', dtype: 'float32', jagged: true },
    ],
    { clusterEntries: 250, pageElements: 64 },
  );
  const n = 1000;
  const counts = Array.from({ length: n }, (_, i) => (i * 7) % 5);
  const offsets = new Int32Array(n + 1);
  counts.forEach((c, i) => {
    offsets[i + 1] = offsets[i] + c;
  });
  const all = {
    x: { values: Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3) },
    n: { values: Int32Array.from({ length: n }, (_, i) => (i % 2 ? -i : i) * 1000) },
    id: { values: BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * -(2n ** 40n)) },
    u: { values: Uint32Array.from({ length: n }, (_, i) => 4e9 - i) },
    pt: { values: Float32Array.from({ length: offsets[n] }, (_, k) => k / 3), offsets },
  };
  for (let at = 0; at < n; at += 250) {
    const slice = (v: { values: Float64Array | Int32Array | BigInt64Array | Uint32Array }) => ({
      values: v.values.subarray(at, at + 250),
    });
    await r.append(
      {
        x: slice(all.x),
        n: slice(all.n),
        id: slice(all.id),
        u: slice(all.u),
        pt: { values: all.pt.values, offsets: offsets.subarray(at, at + 251) },
      },
      250,
    );
  }
  await w.close();
  return all;
}

/** The sample's bytes, and where page 2 of field x's column in cluster 1 lies in them. */
async function xPage(path: string) {
  const t = (await (await openRoot(path)).entrySource('Events')) as RNTuple;
  const x = t.schema.columns.findIndex((c) => c.field === t.schema.fields.findIndex((f) => f.name === 'x'));
  return { page: t.clusters[1].columns[x].pages[2], bytes: new Uint8Array(await readFile(path)) };
}

/** Reads x and n of the edited file in chunks of 100 entries: the chunks' starts, and the error that ended the read. */
async function readEdited(bytes: Uint8Array, parallel: boolean) {
  const edited = (await (
    await openRoot(new MemorySource('bad.root', bytes))
  ).entrySource('Events')) as RNTuple;
  const seen: number[] = [];
  const err = await (async () => {
    for await (const c of iterate(edited, { stepSize: 100, parallel, branches: ['x', 'n'] }))
      seen.push(c.entryStart);
  })().catch((e: unknown) => e);
  return { seen, err };
}

describe('the RNTuple writer (used by bench:read)', () => {
  it('writes split, zigzag and delta encoded pages with checksums in several clusters, read back exactly', async () => {
    const path = join(dir, 'w.root');
    const all = await writeSample(path, 4);
    const n = 1000;
    const offsets = all.pt.offsets;
    const t = (await (await openRoot(path)).entrySource('Events')) as RNTuple;
    expect(t.entries).toBe(n);
    expect(t.clusters.length).toBe(4);
    expect(t.clusters.flatMap((c) => c.columns.flatMap((col) => col.pages)).every((p) => p.checksum)).toBe(
      true,
    );
    const { columns } = await readColumns(t);
    expect(columns.x.values).toEqual(all.x.values);
    expect(columns.n.values).toEqual(all.n.values);
    expect(columns.id.values).toEqual(all.id.values);
    expect(columns.u.values).toEqual(all.u.values);
    expect(columns.pt.offsets).toEqual(offsets);
    expect(columns.pt.values).toEqual(all.pt.values);
  });

  for (const [parallel, compression] of [
    [false, 0],
    [true, 0],
    [false, 4],
    [true, 4],
  ] as const) {
    it(`reads ${compression ? 'zlib' : 'uncompressed'} pages in chunks that end inside pages (${parallel ? 'inflate workers' : 'one thread'}), each chunk exactly`, async () => {
      // read buffers and inflated pages are reused from chunk to chunk: a page must not change
      // under a later chunk, nor a buffer be reused while a page not yet inflated lies in it
      const path = join(dir, `plain-${parallel}-${compression}.root`);
      const all = await writeSample(path, compression);
      const t = (await (await openRoot(path)).entrySource('Events')) as RNTuple;
      const x: number[] = [];
      const pt: number[] = [];
      const held: Array<{ start: number; x: Float64Array }> = [];
      for await (const c of iterate(t, { stepSize: 97, parallel })) {
        x.push(...(c.columns.x.values as Float64Array));
        pt.push(...(c.columns.pt.values as Float32Array));
        held.push({ start: c.entryStart, x: c.columns.x.values as Float64Array });
      }
      expect(Float64Array.from(x)).toEqual(all.x.values);
      expect(Float32Array.from(pt)).toEqual(all.pt.values);
      for (const h of held) expect(h.x).toEqual(all.x.values.subarray(h.start, h.start + h.x.length));
    });
  }

  for (const parallel of [false, true]) {
    it(`a zlib page that does not inflate (checksum resealed): a CorruptFileError naming the field (${parallel ? 'inflate workers' : 'one thread'})`, async () => {
      const path = join(dir, `bad-zlib-${parallel}.root`);
      await writeSample(path, 4);
      const { page, bytes } = await xPage(path);
      const body = bytes.subarray(page.locator.offset, page.locator.offset + page.locator.bytes);
      expect(String.fromCharCode(body[0], body[1])).toBe('ZL');
      body[body.length - 3] ^= 0x40; // in the stream's Adler-32
      await loadXxh3();
      new DataView(bytes.buffer).setBigUint64(
        page.locator.offset + page.locator.bytes,
        xxh3Sync(body)!,
        true,
      );
      const { err } = await readEdited(bytes, parallel);
      expect(err).toBeInstanceOf(CorruptFileError);
      expect((err as Error).message).toMatch(/"x"/);
    });
  }

  for (const parallel of [false, true]) {
    it(`a zlib page whose bytes no longer match its checksum: a CorruptFileError naming field, cluster and page, before any value (${parallel ? 'inflate workers' : 'one thread'})`, async () => {
      const path = join(dir, `bad-sum-${parallel}.root`);
      await writeSample(path, 4);
      const { page, bytes } = await xPage(path);
      // long enough for the SIMD hash (over 240 bytes), and zlib: a page inflated when copied
      expect(page.locator.bytes).toBeGreaterThan(240);
      expect(String.fromCharCode(bytes[page.locator.offset], bytes[page.locator.offset + 1])).toBe('ZL');
      bytes[page.locator.offset + 100] ^= 0x01;
      const { seen, err } = await readEdited(bytes, parallel);
      expect(err).toBeInstanceOf(CorruptFileError);
      expect((err as Error).message).toMatch(/field "x", cluster 1: page 2 fails its checksum/);
      // cluster 1 holds entries 250..499: its page 2 (entries 378..441) is in the chunk from 300
      expect(seen).toEqual([0, 100, 200]);
    });
  }

  for (const parallel of [false, true]) {
    it(`collection offsets that go backwards from one page to the next: a CorruptFileError naming field and cluster, never wrong offsets (${parallel ? 'inflate workers' : 'one thread'})`, async () => {
      const path = join(dir, `backwards-${parallel}.root`);
      await writeSample(path, 0);
      const t = (await (await openRoot(path)).entrySource('Events')) as RNTuple;
      const pt = t.schema.fields.findIndex((f) => f.name === 'pt');
      const index = t.schema.columns.findIndex((c) => c.field === pt);
      const page = t.clusters[1].columns[index].pages[2];
      const bytes = new Uint8Array(await readFile(path));
      const body = bytes.subarray(page.locator.offset, page.locator.offset + page.locator.bytes);
      // SplitIndex64, stored uncompressed: element 0 (absolute in a delta page) is byte 0 of each
      // of the 8 byte planes; 0 lies before where page 1 ended
      const n = page.elements;
      expect(body.length).toBe(8 * n);
      for (let plane = 0; plane < 8; plane++) body[plane * n] = 0;
      await loadXxh3();
      new DataView(bytes.buffer).setBigUint64(
        page.locator.offset + page.locator.bytes,
        xxh3Sync(body)!,
        true,
      );
      const edited = (await (
        await openRoot(new MemorySource('backwards.root', bytes))
      ).entrySource('Events')) as RNTuple;
      const err = await readColumns(edited, { branches: ['pt'], parallel }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CorruptFileError);
      expect((err as Error).message).toMatch(/field "pt", cluster 1: collection offsets go backwards/);
    });
  }

  it('refuses values of another type than the field was declared with', async () => {
    const w = await RootFileWriter.open(join(dir, 'bad.root'));
    const r = w.rntuple('t', [{ name: 'x', dtype: 'float32' }], { clusterEntries: 1 });
    await expect(r.append({ x: { values: new Float64Array(1) } }, 1)).rejects.toBeInstanceOf(
      InvalidInputError,
    );
  });
});
