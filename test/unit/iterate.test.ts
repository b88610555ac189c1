import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/errors.js';
import {
  BranchNotFoundError,
  CorruptFileError,
  TreeNotFoundError,
  UnsupportedBranchError,
} from '../../lib/root/errors.js';
import { openRoot } from '../../lib/root/file.js';
import { type Chunk, iterate, readColumns } from '../../lib/root/iterate.js';
import { LocalSource } from '../../lib/root/source/local.js';
import { MemorySource } from '../../lib/root/source/memory.js';
import type { ByteRange } from '../../lib/root/source/types.js';
import type { Column } from '../../lib/root/types.js';
import { hasShared, ROOT_DIR, SYNTH_DIR } from '../helpers/reference.js';

const HZZ = join(ROOT_DIR, 'uproot-HZZ.root');
const SIGNAL = join(SYNTH_DIR, 'signal.root');

function entryValues(col: Column, e: number): number[] {
  if (col.offsets) return Array.from(col.values.subarray(col.offsets[e], col.offsets[e + 1]), Number);
  return [Number(col.values[e])];
}

async function collect(gen: AsyncGenerator<Chunk>): Promise<Chunk[]> {
  const out: Chunk[] = [];
  for await (const c of gen) out.push(c);
  return out;
}

describe.skipIf(!hasShared)('iterate', () => {
  it('yields chunks of at most stepSize entries that together equal one whole read', async () => {
    const f = await openRoot(HZZ);
    const tree = await f.tree('events');
    const branches = ['NJet', 'Jet_Px', 'Muon_E', 'MET_px', 'Jet_ID'];
    const whole = await readColumns(tree, { branches });
    const chunks = await collect(iterate(tree, { branches, entryStart: 7, entryStop: 2400, stepSize: 333 }));
    expect(chunks.map((c) => c.entryStop - c.entryStart).every((n) => n <= 333)).toBe(true);
    expect(chunks[0].entryStart).toBe(7);
    expect(chunks.at(-1)?.entryStop).toBe(2400);
    for (const c of chunks) {
      for (const b of branches) {
        for (let e = c.entryStart; e < c.entryStop; e++) {
          expect(entryValues(c.columns[b], e - c.entryStart)).toEqual(entryValues(whole.columns[b], e));
        }
      }
    }
    await f.close();
  });

  it('gives jagged branches Int32Array offsets that agree with their counter branch', async () => {
    const f = await openRoot(HZZ);
    const { columns } = await readColumns(await f.tree('events'), { branches: ['NJet', 'Jet_Px'] });
    const off = columns.Jet_Px.offsets!;
    expect(off).toBeInstanceOf(Int32Array);
    expect(columns.Jet_Px.values).toBeInstanceOf(Float32Array);
    for (let e = 0; e < 2421; e++) expect(off[e + 1] - off[e]).toBe(columns.NJet.values[e]);
    await f.close();
  });

  it('reads identical values with thread-pool and single-threaded decompression', async () => {
    const f = await openRoot(SIGNAL);
    const tree = await f.tree('Events');
    const a = await collect(iterate(tree, { stepSize: 60_000, parallel: true, entryStop: 120_000 }));
    const b = await collect(iterate(tree, { stepSize: 60_000, parallel: false, entryStop: 120_000 }));
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) {
      for (const name of Object.keys(a[i].columns)) {
        const bytes = (c: Chunk): Buffer => {
          const v = c.columns[name].values;
          return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
        };
        expect(bytes(a[i]).equals(bytes(b[i])), name).toBe(true);
        expect(a[i].columns[name].offsets, name).toEqual(b[i].columns[name].offsets);
      }
    }
    await f.close();
  });

  it('reports a damaged zlib frame of a multi-frame basket (entries and offsets compressed apart) as a corrupt file, on worker threads or not, from disk or memory', async () => {
    const clean = readFileSync(SIGNAL);
    const f = await openRoot(SIGNAL);
    const branch = (await f.tree('Events')).branch('Jet_pt');
    const ref = branch.baskets[1];
    await f.close();
    const bytes = Uint8Array.from(clean);
    const keylen = new DataView(bytes.buffer).getInt16(ref.seek + 14);
    const first = ref.seek + keylen;
    const firstLength = bytes[first + 3] | (bytes[first + 4] << 8) | (bytes[first + 5] << 16);
    const second = first + 9 + firstLength;
    expect(second).toBeLessThan(ref.seek + ref.bytes); // the basket really has a second frame
    bytes[second + 9 + 100] ^= 0x5a; // inside the offsets frame's deflate stream
    const dir = mkdtempSync(join(tmpdir(), 'mlaas4hep-frames-'));
    const path = join(dir, 'damaged.root');
    writeFileSync(path, bytes);
    try {
      for (const source of [path, new MemorySource('damaged.root', bytes)]) {
        for (const parallel of [true, false]) {
          const g = await openRoot(source);
          const tree = await g.tree('Events');
          const err = await collect(iterate(tree, { branches: ['Jet_pt'], parallel })).catch(
            (e: unknown) => e,
          );
          expect(err, `parallel ${parallel}`).toBeInstanceOf(CorruptFileError);
          await g.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads 250 k events in steps of 10 k touching each basket once and never more than a few chunks of bytes at a time', async () => {
    class Counting extends LocalSource {
      total = 0;
      largest = 0;
      override async read(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
        const n = ranges.reduce((s, r) => s + r[1], 0);
        this.total += n;
        this.largest = Math.max(this.largest, n);
        return super.read(ranges);
      }
    }
    const src = new Counting(SIGNAL);
    const f = await openRoot(src);
    const tree = await f.tree('Events');
    src.total = 0;
    let events = 0;
    for await (const c of iterate(tree, { stepSize: 10_000 })) events += c.entryStop - c.entryStart;
    const basketBytes = tree.branches.flatMap((b) => b.baskets).reduce((s, r) => s + r.bytes, 0);
    expect(events).toBe(250_000);
    expect(src.total).toBe(basketBytes);
    expect(src.largest).toBeLessThan((await src.size()) / 10);
    await f.close();
  });

  it('returns an empty chunk list for an empty entry range and refuses negative or fractional ranges', async () => {
    const f = await openRoot(HZZ);
    const tree = await f.tree('events');
    expect(await collect(iterate(tree, { entryStart: 100, entryStop: 100 }))).toEqual([]);
    await expect(collect(iterate(tree, { entryStart: -1 }))).rejects.toBeInstanceOf(InvalidInputError);
    await expect(collect(iterate(tree, { stepSize: 0 }))).rejects.toBeInstanceOf(InvalidInputError);
    await expect(collect(iterate(tree, { stepSize: 2.5 }))).rejects.toBeInstanceOf(InvalidInputError);
    await f.close();
  });
});

describe.skipIf(!hasShared)('errors a physicist can act on', () => {
  it('an unknown tree lists the trees in the file', async () => {
    const f = await openRoot(HZZ);
    const err = await f.tree('Events').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TreeNotFoundError);
    expect((err as Error).message).toMatch(/no TTree named "Events".*trees in this file: events/);
    await f.close();
  });

  it('an unknown branch suggests the nearest names', async () => {
    const f = await openRoot(HZZ);
    const tree = await f.tree('events');
    const err = await collect(iterate(tree, { branches: ['Jet_PX'] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BranchNotFoundError);
    expect((err as Error).message).toContain('did you mean "Jet_Px"');
    await f.close();
  });

  it('a string branch is refused by name when asked for, and skipped from "all numeric branches"', async () => {
    const f = await openRoot(join(ROOT_DIR, 'uproot-Zmumu.root'));
    const tree = await f.tree('events');
    const err = await collect(iterate(tree, { branches: ['Type'] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedBranchError);
    expect((err as Error).message).toMatch(/branch "Type" \(type char\*\).*strings/);
    expect(tree.skippedBranches().map((s) => s.name)).toEqual(['Type']);
    const { columns } = await readColumns(tree);
    expect(Object.keys(columns)).not.toContain('Type');
    expect(Object.keys(columns)).toHaveLength(19);
    await f.close();
  });
});
