import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chunk, iterate, openRoot, type TreeStats, treeStats } from '../../lib/root/index.js';
import { type RangeServer, startRangeServer } from '../helpers/range-server.js';
import { hasShared, loadReference, ROOT_DIR } from '../helpers/reference.js';
import { type S3Emulator, startS3Emulator } from '../helpers/s3-emulator.js';

const FILES = Object.entries(hasShared ? loadReference(ROOT_DIR) : {}).flatMap(([file, trees]) =>
  Object.keys(trees).map((tree) => ({ file, tree })),
);

async function stats(
  spec: string,
  tree: string,
  options?: Parameters<typeof openRoot>[1],
): Promise<TreeStats> {
  const f = await openRoot(spec, options);
  try {
    return await treeStats(await f.tree(tree), undefined, 500);
  } finally {
    await f.close();
  }
}

describe.skipIf(!hasShared)('the same files over HTTP and S3 read exactly as from the local disk', () => {
  let multi: RangeServer;
  let single: RangeServer;
  let s3: S3Emulator;

  beforeAll(async () => {
    multi = await startRangeServer({ root: ROOT_DIR, multiRange: true });
    single = await startRangeServer({ root: ROOT_DIR, multiRange: false });
    s3 = await startS3Emulator({ buckets: ['hep-data'] });
    for (const { file } of FILES)
      await s3.put('hep-data', `root/${file}`, readFileSync(join(ROOT_DIR, file)));
  });
  afterAll(async () => {
    await Promise.all([multi?.close(), single?.close(), s3?.close()]);
  });

  for (const { file, tree } of FILES) {
    it(`${file}: HTTP with and without multi-range, and S3, equal the local read`, async () => {
      const local = await stats(join(ROOT_DIR, file), tree);
      expect(await stats(`${multi.url}/${file}`, tree)).toEqual(local);
      expect(await stats(`${single.url}/${file}`, tree)).toEqual(local);
      expect(await stats(`s3://hep-data/root/${file}`, tree, { s3Client: s3.client })).toEqual(local);
    });
  }

  it('merges neighbouring basket reads into few HTTP requests', async () => {
    const before = multi.requests;
    await stats(`${multi.url}/uproot-HZZ.root`, 'events');
    const f = await openRoot(join(ROOT_DIR, 'uproot-HZZ.root'));
    const baskets = (await f.tree('events')).branches.reduce((n, b) => n + b.baskets.length, 0);
    await f.close();
    expect(multi.requests - before).toBeLessThan(baskets / 4);
  });
});

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/root');
const RNTUPLES = [
  {
    dir: FIXTURES,
    file: 'cmsopendata2015_ttbar_19980_NANOAOD_RNTupleImporter_rntuple_v1-0-0-1.root',
    name: 'Events',
  },
  { dir: FIXTURES, file: 'test_multiple_cluster_groups_rntuple_v1-0-0-0.root', name: 'ntuple' },
  { dir: FIXTURES, file: 'test_extension_columns_rntuple_v1-0-0-0.root', name: 'ntuple' },
  ...(hasShared
    ? [
        {
          dir: ROOT_DIR,
          file: 'Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root',
          name: 'Events',
        },
      ]
    : []),
];

/** Every chunk's columns, read in chunks that cross cluster boundaries. */
async function columns(
  spec: string,
  name: string,
  options?: Parameters<typeof openRoot>[1],
): Promise<Chunk[]> {
  const f = await openRoot(spec, options);
  try {
    const out: Chunk[] = [];
    for await (const c of iterate(await f.entrySource(name), { stepSize: 170 })) out.push(c);
    return out;
  } finally {
    await f.close();
  }
}

describe('RNTuples over HTTP and S3 read exactly as from the local disk', () => {
  const servers = new Map<string, RangeServer>();
  let s3: S3Emulator;

  beforeAll(async () => {
    for (const dir of new Set(RNTUPLES.map((r) => r.dir)))
      servers.set(dir, await startRangeServer({ root: dir, multiRange: true }));
    s3 = await startS3Emulator({ buckets: ['hep-data'] });
    for (const { dir, file } of RNTUPLES)
      await s3.put('hep-data', `rntuple/${file}`, readFileSync(join(dir, file)));
  });
  afterAll(async () => {
    await Promise.all([...servers.values()].map((s) => s.close()));
    await s3?.close();
  });

  for (const { dir, file, name } of RNTUPLES) {
    it(`${file}: identical columns from disk, the HTTP range server and the S3 emulator`, async () => {
      const local = await columns(join(dir, file), name);
      expect(local.length).toBeGreaterThan(0);
      expect(await columns(`${servers.get(dir)!.url}/${file}`, name)).toEqual(local);
      expect(await columns(`s3://hep-data/rntuple/${file}`, name, { s3Client: s3.client })).toEqual(local);
    });
  }
});
