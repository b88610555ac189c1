import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openRoot, readColumns, statsToJson, treeStats } from '../../lib/root/index.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/root');

describe('ROOT 6.12 basket headers (IO bits) and entry offsets left out of baskets', () => {
  it('reads the same values whether the writer stored the entry offsets or left them to the counter', async () => {
    const without = await openRoot(join(FIXTURES, 'uproot-small-dy-nooffsets.root'));
    const withOffsets = await openRoot(join(FIXTURES, 'uproot-small-dy-withoffsets.root'));
    expect(without.version).toBe(61206);
    const a = await treeStats(await without.entrySource('tree'));
    expect(Object.keys(a.branches)).toHaveLength(8);
    expect(a.branches.nJet.values).toBe(501);
    expect(statsToJson(a)).toBe(statsToJson(await treeStats(await withOffsets.entrySource('tree'))));
  });

  it('Muon_pt of entries 10..20 is what uproot reads', async () => {
    const f = await openRoot(join(FIXTURES, 'uproot-small-dy-nooffsets.root'));
    const { columns } = await readColumns(await f.entrySource('tree'), {
      branches: ['Muon_pt'],
      entryStart: 10,
      entryStop: 20,
    });
    const c = columns.Muon_pt;
    const values = c.values as Float32Array;
    const got = Array.from({ length: 10 }, (_, e) =>
      Array.from(values.subarray(c.offsets![e], c.offsets![e + 1])),
    );
    expect(got).toEqual([
      [20.60145378112793],
      [50.36957550048828, 41.21387481689453, 3.1869382858276367],
      [51.685970306396484, 35.227813720703125],
      [],
      [],
      [],
      [],
      [23.073759078979492],
      [32.921417236328125, 8.922308921813965, 4.368383407592773],
      [51.9132194519043, 31.930095672607422],
    ]);
  });
});
