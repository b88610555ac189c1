import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRoot } from '../../lib/root/file.js';
import { type TreeStats, treeStats } from '../../lib/root/stats.js';
import {
  expectMatchesReference,
  hasShared,
  loadReference,
  ROOT_DIR,
  SYNTH_DIR,
} from '../helpers/reference.js';

async function statsOf(path: string, tree: string): Promise<TreeStats> {
  const f = await openRoot(path);
  try {
    return await treeStats(await f.tree(tree));
  } finally {
    await f.close();
  }
}

describe.skipIf(!hasShared)('reader agrees with the independent reference figures', () => {
  for (const dir of [ROOT_DIR, SYNTH_DIR]) {
    const ref = loadReference(dir);
    for (const [file, trees] of Object.entries(ref)) {
      for (const [tree, expected] of Object.entries(trees)) {
        it(`${file} tree "${tree}": every numeric branch matches reference.json`, async () => {
          expectMatchesReference(await statsOf(join(dir, file), tree), expected, `${file}:${tree}`);
        });
      }
    }
  }

  it('all five HZZ codec variants (zlib, lz4, zstd, lzma, uncompressed) give identical figures', async () => {
    const variants = [
      'uproot-HZZ.root',
      'uproot-HZZ-lz4.root',
      'uproot-HZZ-zstd.root',
      'uproot-HZZ-lzma.root',
      'uproot-HZZ-uncompressed.root',
    ];
    const all = await Promise.all(variants.map((v) => statsOf(join(ROOT_DIR, v), 'events')));
    for (let i = 1; i < all.length; i++) expect(all[i], variants[i]).toEqual(all[0]);
    expect(Object.keys(all[0].branches)).toHaveLength(51);
  });
});
