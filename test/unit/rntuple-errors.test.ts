import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadXxh3, xxh3Sync } from '../../lib/root/codecs/xxhash.js';
import {
  CorruptFileError,
  openRoot,
  readColumns,
  UnsupportedBranchError,
  UnsupportedRNTupleError,
} from '../../lib/root/index.js';
import type { RNTuple } from '../../lib/root/rntuple/rntuple.js';
import { MemorySource } from '../../lib/root/source/memory.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/root');
const INT_FLOAT = 'test_int_float_rntuple_v1-0-0-0.root';
/** Its envelopes are stored uncompressed, so their bytes can be edited in place. */
const UNCOMPRESSED = 'rntviewer-testfile-uncomp-single-rntuple-v1-0-0-0.root';

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));
const open = async (name: string, bytes: Uint8Array, tuple: string): Promise<RNTuple> =>
  (await (await openRoot(new MemorySource(name, bytes))).entrySource(tuple)) as RNTuple;

/** Writes an envelope's XXH3 checksum again after its bytes were edited. */
function reseal(bytes: Uint8Array, offset: number, length: number): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  v.setBigUint64(offset + length - 8, xxh3Sync(bytes.subarray(offset, offset + length - 8))!, true);
}

beforeAll(loadXxh3);

describe('RNTuples this reader must refuse, with a typed error naming the reason', () => {
  it('a format version newer than 1.x (checksum of the anchor intact)', async () => {
    const bytes = fixture(INT_FLOAT);
    const t = await open(INT_FLOAT, bytes, 'ntuple');
    const key = (await openRoot(new MemorySource(INT_FLOAT, bytes)))
      .keyRecords()
      .find((k) => k.name === 'ntuple')!;
    const at = key.seek + key.keylen + 6; // after the streamer's byte count and class version
    const v = new DataView(bytes.buffer);
    expect(v.getUint16(at)).toBe(t.version[0]);
    v.setUint16(at, 2);
    v.setBigUint64(at + 64, xxh3Sync(bytes.subarray(at, at + 64))!);
    const err = await open(INT_FLOAT, bytes, 'ntuple').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedRNTupleError);
    expect((err as Error).message).toMatch(/RNTuple "ntuple" .* format 2\.0\.0\.0/);
  });

  it('an unknown column type: its field is skipped, and asking for it names the field and the type', async () => {
    const bytes = fixture(UNCOMPRESSED);
    const t = await open(UNCOMPRESSED, bytes, 'Contributors');
    const { header, footer } = t.meta.anchor;
    expect([header.bytes, footer.bytes]).toEqual([header.length, footer.length]);
    // the first column record: Index64 (0x0f), 64 bits, field 0
    const h = bytes.subarray(header.offset, header.offset + header.length);
    const at = Buffer.from(h).indexOf(Buffer.from([0x0f, 0, 64, 0, 0, 0, 0, 0]));
    expect(at).toBeGreaterThan(0);
    const oldSum = Buffer.from(h.subarray(h.length - 8));
    h[at] = 0x99;
    reseal(bytes, header.offset, header.length);
    // the footer and the page list name the header by its checksum: point them at the new one
    const newSum = Buffer.from(h.subarray(h.length - 8));
    for (
      let i = Buffer.from(bytes).indexOf(oldSum, header.offset + header.length);
      i >= 0;
      i = Buffer.from(bytes).indexOf(oldSum, i + 1)
    )
      bytes.set(newSum, i);
    const groups = t.meta.footer.groups.map((g) => [g.pageList.offset, g.pageListLength] as const);
    for (const [o, n] of groups) reseal(bytes, o, n);
    reseal(bytes, footer.offset, footer.length);
    const edited = await open(UNCOMPRESSED, bytes, 'Contributors');
    expect(edited.skippedBranches()[0]).toMatchObject({
      name: 'firstName',
      reason: /0x99 is newer than this reader/,
    });
    const err = await readColumns(edited, { branches: ['firstName'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedBranchError);
    expect((err as Error).message).toMatch(/"firstName".*column type 0x99/);
  });

  it('a page whose checksum fails: a CorruptFileError naming the field, never a wrong value', async () => {
    const bytes = fixture(INT_FLOAT);
    const t = await open(INT_FLOAT, bytes, 'ntuple');
    const page = t.clusters[0].columns[0].pages[0];
    expect(page.checksum).toBe(true);
    bytes[page.locator.offset + 5] ^= 0x10;
    const edited = await open(INT_FLOAT, bytes, 'ntuple');
    const err = await readColumns(edited, { branches: ['one_integers'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect((err as Error).message).toMatch(/field "one_integers", cluster 0: page 0 fails its checksum/);
    // the other field's pages are intact
    expect((await readColumns(edited, { branches: ['two_floats'] })).columns.two_floats.values.length).toBe(
      10,
    );
  });

  it('a damaged envelope fails its checksum before anything in it is believed', async () => {
    const bytes = fixture(UNCOMPRESSED);
    const t = await open(UNCOMPRESSED, bytes, 'Contributors');
    bytes[t.meta.anchor.footer.offset + 30] ^= 1;
    await expect(open(UNCOMPRESSED, bytes, 'Contributors')).rejects.toThrow(
      /footer envelope fails its checksum/,
    );
  });
});
