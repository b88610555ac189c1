import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRoot } from '../../lib/root/file.js';
import { readColumns } from '../../lib/root/iterate.js';
import type { Column } from '../../lib/root/types.js';
import { RootFileWriter } from '../../lib/root/writer/index.js';
import { generateSynth } from '../../lib/root/writer/synth.js';
import type { LeafType, Column as WriterColumn } from '../../lib/root/writer/types.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-roundtrip-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entryValues = (c: Column, e: number): number[] =>
  c.offsets ? Array.from(c.values.subarray(c.offsets[e], c.offsets[e + 1]), Number) : [Number(c.values[e])];

describe('files written by our writer read back identically through our reader', () => {
  it('every leaf type, flat and jagged, across basket boundaries', async () => {
    const n = 5_000;
    const types: Array<[string, LeafType, (i: number) => number | bigint | boolean]> = [
      ['o', 'O', (i) => i % 3 === 0],
      ['b', 'B', (i) => (i % 256) - 128],
      ['ub', 'b', (i) => i % 256],
      ['s', 'S', (i) => ((i * 7) % 65536) - 32768],
      ['us', 's', (i) => (i * 7) % 65536],
      ['i', 'I', (i) => ((i * 1_000_003) % 4_000_000_000) - 2_000_000_000],
      ['ui', 'i', (i) => (i * 2_654_435_761) % 4_294_967_296],
      ['l', 'L', (i) => BigInt(i) * 3_000_000_000n - 7_000_000_000_000n],
      ['ul', 'l', (i) => BigInt(i) * 3_000_000_000n],
      ['f', 'F', (i) => Math.fround(Math.sin(i) * 1e3)],
      ['d', 'D', (i) => Math.cos(i) * 1e-3],
    ];
    const counts = Array.from({ length: n }, (_, i) => (i * 7919) % 6);
    const total = counts.reduce((a, b) => a + b, 0);
    const path = join(dir, 'types.root');
    const file = await RootFileWriter.open(path);
    const tree = file.tree('types', { basketEntries: 777 });
    tree.branch('n', 'I');
    for (const [name, type] of types) tree.branch(name, type);
    tree.branch('jf', 'F', { counter: 'n' });
    tree.branch('jl', 'L', { counter: 'n' });
    const columns: Record<string, Array<number | bigint | boolean>> = { n: counts };
    const asWriter = columns as Record<string, WriterColumn>;
    for (const [name, , f] of types) columns[name] = Array.from({ length: n }, (_, i) => f(i));
    columns.jf = Array.from({ length: total }, (_, k) => Math.fround(k / 7));
    columns.jl = Array.from({ length: total }, (_, k) => BigInt(k) - 1000n);
    await tree.append(asWriter);
    await file.close();

    const f = await openRoot(path);
    const { columns: got } = await readColumns(await f.tree('types'));
    for (const [name] of types) {
      const want = columns[name].map((v) => (typeof v === 'boolean' ? Number(v) : v));
      const have = Array.from(got[name].values as ArrayLike<number | bigint>);
      expect(have, name).toEqual(want);
    }
    expect(got.jf.offsets!.at(-1)).toBe(total);
    for (let e = 0; e < n; e += 97) expect(entryValues(got.jf, e)).toHaveLength(counts[e]);
    expect(Array.from(got.jf.values as Float32Array)).toEqual(columns.jf);
    expect(Array.from(got.jl.values as BigInt64Array)).toEqual(columns.jl);
    await f.close();
  });

  it('generate: synth files whose branch means match the stated densities within sampling error', async () => {
    const files = await generateSynth({ outDir: join(dir, 'synth'), events: 100_000, seed: 11 });
    const mu = { signal: [0.3, 0.3, 0.2, 0.2, 0.1, 0.1, 0, 0], background: [0, 0, 0, 0, 0, 0, 0, 0] };
    const jets = { signal: { n: 4, pt: 40, eta: 1.5 }, background: { n: 3, pt: 30, eta: 2.5 } };
    for (const kind of ['signal', 'background'] as const) {
      const f = await openRoot(files[kind]);
      const { columns } = await readColumns(await f.tree('Events'));
      const mean = (v: ArrayLike<number>) => Array.from(v).reduce((a, b) => a + b, 0) / v.length;
      const within = (got: number, want: number, sd: number, n: number) =>
        expect(Math.abs(got - want), `${kind}: ${got} vs ${want}`).toBeLessThan((5 * sd) / Math.sqrt(n));
      for (let i = 0; i < 8; i++)
        within(mean(columns[`f${i}`].values as Float32Array), mu[kind][i], 1, 100_000);
      const nJet = columns.nJet.values as Int32Array;
      within(mean(nJet), jets[kind].n, Math.sqrt(jets[kind].n), 100_000);
      const pt = columns.Jet_pt.values as Float32Array;
      within(mean(pt), jets[kind].pt, jets[kind].pt, pt.length);
      const eta = columns.Jet_eta.values as Float32Array;
      const sd = Math.sqrt(mean(Array.from(eta, (x) => x * x)));
      expect(Math.abs(sd - jets[kind].eta) / jets[kind].eta).toBeLessThan(0.02);
      expect(columns.Jet_pt.offsets!.at(-1)).toBe(pt.length);
      await f.close();
    }
  });
});
