import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dump } from '../../bin/commands/dump.js';
import { inspect } from '../../bin/commands/inspect.js';
import { stats } from '../../bin/commands/stats.js';
import { InvalidInputError } from '../../lib/errors.js';
import { parseStatsJson, type TreeStats } from '../../lib/root/stats.js';
import { expectMatchesReference, hasShared, loadReference, ROOT_DIR } from '../helpers/reference.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function run(
  cmd: (argv: string[], out: NodeJS.WritableStream) => Promise<void>,
  argv: string[],
): Promise<string> {
  const out = new Capture();
  await cmd(argv, out);
  return out.text;
}

const ZMUMU = join(ROOT_DIR, 'uproot-Zmumu.root');

describe.skipIf(!hasShared)('command line', () => {
  it('stats --json prints the shape of reference.json, and agrees with it', async () => {
    const got = parseStatsJson(await run(stats, [ZMUMU, '--tree', 'events', '--json'])) as TreeStats;
    expect(Object.keys(got)).toEqual(['entries', 'branches']);
    expect(Object.keys(got.branches.E1)).toEqual([
      'entries',
      'jagged',
      'values',
      'sum',
      'min',
      'max',
      'first',
    ]);
    expectMatchesReference(got, loadReference(ROOT_DIR)['uproot-Zmumu.root'].events, 'cli stats');
  });

  it('inspect --json lists trees, entries, compression and branch types, marking unreadable ones', async () => {
    const r = JSON.parse(await run(inspect, [join(ROOT_DIR, 'uproot-HZZ-lz4.root'), '--json']));
    expect(r.compression.algorithm).toBe('lz4');
    expect(r.trees[0]).toMatchObject({ name: 'events', entries: 2421 });
    expect(r.trees[0].branches.find((b: { name: string }) => b.name === 'Jet_Px')).toMatchObject({
      type: 'float[NJet]',
      jagged: true,
      counter: 'NJet',
    });
    const z = JSON.parse(await run(inspect, [ZMUMU, '--json']));
    expect(z.trees[0].branches.find((b: { name: string }) => b.name === 'Type').unsupported).toMatch(
      /strings/,
    );
  });

  it('dump writes CSV with jagged values in one cell, and JSON lines', async () => {
    const hzz = join(ROOT_DIR, 'uproot-HZZ.root');
    const csv = (
      await run(dump, [hzz, '--tree', 'events', '--branches', 'NJet,Jet_Px', '--start', '1', '--stop', '3'])
    )
      .trim()
      .split('\n');
    expect(csv[0]).toBe('entry,NJet,Jet_Px');
    expect(csv[1]).toMatch(/^1,1,"-38\.87\d*"$/);
    expect(csv).toHaveLength(3);
    const jsonl = (
      await run(dump, [hzz, '--tree', 'events', '--branches', 'NJet', '--stop', '2', '--format', 'jsonl'])
    )
      .trim()
      .split('\n');
    expect(jsonl.map((l) => JSON.parse(l))).toEqual([
      { entry: 0, NJet: 0 },
      { entry: 1, NJet: 1 },
    ]);
  });

  it('refuses unknown options and missing arguments with a usage line', async () => {
    await expect(run(stats, [ZMUMU, '--tre', 'events'])).rejects.toThrow(/usage: mlaas4hep stats/);
    await expect(run(stats, [ZMUMU])).rejects.toBeInstanceOf(InvalidInputError);
    await expect(run(dump, [ZMUMU, '--tree', 'events', '--format', 'xml'])).rejects.toThrow(/csv or jsonl/);
  });
});

const NANO_RNTUPLE = join(
  dirname(fileURLToPath(import.meta.url)),
  '../fixtures/root/cmsopendata2015_ttbar_19980_NANOAOD_RNTupleImporter_rntuple_v1-0-0-1.root',
);

describe('command line on an RNTuple', () => {
  it("inspect lists its fields as readable, like a tree's branches", async () => {
    const r = JSON.parse(await run(inspect, [NANO_RNTUPLE, '--json']));
    expect(r.trees).toEqual([]);
    expect(r.rntuples[0]).toMatchObject({ name: 'Events', entries: 10 });
    const muon = r.rntuples[0].branches.find((b: { name: string }) => b.name === 'Muon_pt');
    expect(muon).toMatchObject({ type: 'ROOT::VecOps::RVec<float>', dtype: 'float32', jagged: true });
  });

  it('stats --json and dump --format jsonl write NaN as a string, which JSON.parse accepts', async () => {
    const out = await run(stats, [
      NANO_RNTUPLE,
      '--tree',
      'Events',
      '--branches',
      'HTXS_Higgs_y,nMuon',
      '--json',
    ]);
    const parsed = JSON.parse(out);
    expect(parsed.branches.HTXS_Higgs_y).toMatchObject({ min: 'NaN', max: 'NaN', sum: 'NaN', values: 10 });
    expect(parsed.branches.nMuon.entries).toBe(10);
    expect((parseStatsJson(out) as TreeStats).branches.HTXS_Higgs_y.min).toBeNaN();
    const lines = (
      await run(dump, [
        NANO_RNTUPLE,
        '--tree',
        'Events',
        '--branches',
        'HTXS_Higgs_y,Muon_pt',
        '--stop',
        '2',
        '--format',
        'jsonl',
      ])
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0].HTXS_Higgs_y).toBe('NaN');
    expect(lines).toHaveLength(2);
  });
});
