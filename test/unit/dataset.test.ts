import { copyFile, mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySpecsCache } from '../../lib/dataset/cache.js';
import { type DatasetDeps, prepareDataset } from '../../lib/dataset/dataset.js';
import { pooled } from '../../lib/dataset/moments.js';
import { parseWorkflow } from '../../lib/dataset/workflow.js';
import { InvalidInputError } from '../../lib/errors.js';
import { BranchNotFoundError, RootFileNotFoundError, TreeNotFoundError } from '../../lib/root/errors.js';
import { openRoot } from '../../lib/root/file.js';
import { hasShared, loadReference, ROOT_DIR, SYNTH_DIR } from '../helpers/reference.js';

const HZZ = join(ROOT_DIR, 'uproot-HZZ.root');
const SIGNAL = join(SYNTH_DIR, 'signal.root');
const BACKGROUND = join(SYNTH_DIR, 'background.root');
const deps = (cache = new MemorySpecsCache()): DatasetDeps => ({ openFile: (s) => openRoot(s), cache });

describe.skipIf(!hasShared)('dataset specs and features', () => {
  it('on HZZ, jdim of Jet_Px is the largest NJet and every min/max equals the reference', async () => {
    const w = parseWorkflow({ files: [HZZ], labels: [1], params: { branch: 'events', identifier: [] } });
    const ds = await prepareDataset(w, deps());
    const ref = loadReference(ROOT_DIR)['uproot-HZZ.root'].events.branches;
    expect(ds.specs.branches.Jet_Px.jdim).toBe(ref.NJet.max);
    expect(ds.specs.branches.Jet_Px.jagged).toBe(true);
    for (const [name, r] of Object.entries(ref)) {
      expect(ds.specs.branches[name].min, name).toBeCloseTo(r.min!, 5);
      expect(ds.specs.branches[name].max, name).toBeCloseTo(r.max!, 5);
      // the moments of every real value agree with uproot's count and sum
      const all = pooled(ds.specs.branches[name].moments!);
      expect(all.count, name).toBe(r.values);
      expect(Math.abs(all.mean * all.count - r.sum), name).toBeLessThanOrEqual(
        1e-6 * Math.max(1, Math.abs(r.sum)),
      );
    }
    await ds.close();
  });

  it("on the synth pair with MLaaS4HEP's min-max encoding: 8 flat + nJet + 2 × jdim features, no identifiers, every value in [0, 1]", async () => {
    const w = parseWorkflow({
      files: [SIGNAL, BACKGROUND],
      labels: [1, 0],
      params: { branch: 'Events', nevts: 20_000, chunk_size: 5_000, encoding: 'minmax' },
    });
    const ds = await prepareDataset(w, deps());
    const jdim = ds.specs.branches.Jet_pt.jdim;
    expect(ds.specs.branches.Jet_eta.jdim).toBe(jdim);
    expect(ds.layout.names).toHaveLength(8 + 1 + 2 * jdim);
    for (const id of ['run', 'event', 'luminosityBlock'])
      expect(ds.layout.names.some((n) => n.startsWith(id))).toBe(false);
    expect(ds.layout.names.slice(0, 9)).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'nJet']);
    expect(ds.layout.names[9]).toBe('Jet_eta_0');
    let rows = 0;
    const perClass = [0, 0];
    for await (const chunk of ds.chunks()) {
      expect(chunk.rows).toBe(5_000);
      for (const v of chunk.x) if (!(v >= 0 && v <= 1)) throw new Error(`value ${v} outside [0, 1]`);
      for (const y of chunk.y) perClass[y]++;
      rows += chunk.rows;
    }
    expect(rows).toBe(20_000);
    expect(perClass[1]).toBe(10_000);
    await ds.close();
  });

  it("applies MLaaS4HEP's preproc: new branches, flat and jagged cuts, removed keys", async () => {
    const w = parseWorkflow({
      files: [SIGNAL],
      labels: [1],
      params: { branch: 'Events', nevts: 20_000, chunk_size: 20_000 },
      preproc: {
        new_branch: {
          log_pt: {
            def: 'log(Jet_pt)',
            type: 'jagged',
            cut: ['log_pt > 1', 'all'],
            remove: 'False',
            keys_to_remove: ['Jet_pt'],
          },
          nJet_square: { def: 'nJet**2', type: 'flat', cut: '1 <= nJet_square <= 16' },
        },
        flat_cut: { f0: { cut: 'f0 > -1', remove: 'True' } },
      },
    });
    const ds = await prepareDataset(w, deps());
    const names = ds.layout.names;
    expect(names).toContain('nJet_square');
    expect(names.some((n) => n.startsWith('log_pt_'))).toBe(true);
    expect(names.some((n) => n.startsWith('Jet_pt_') || n === 'f0')).toBe(false);
    const f = ds.specs.files[0];
    expect(f.events).toBeLessThan(f.entries);
    expect(ds.specs.branches.nJet_square.min).toBeGreaterThanOrEqual(1);
    expect(ds.specs.branches.nJet_square.max).toBeLessThanOrEqual(16);
    expect(ds.specs.branches.log_pt.min).toBeGreaterThan(1);
    await ds.close();
  });

  it('reuses cached specs for the same files and selection, and recomputes when a file changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-specs-'));
    const copy = join(dir, 'hzz.root');
    await copyFile(HZZ, copy);
    const cache = new MemorySpecsCache();
    const w = parseWorkflow({ files: [copy], labels: [1], params: { branch: 'events' } });
    const a = await prepareDataset(w, deps(cache));
    const b = await prepareDataset(w, deps(cache));
    expect(b.specs.key).toBe(a.specs.key);
    const narrower = await prepareDataset(
      parseWorkflow({ ...w, params: { ...w.params, selected_branches: ['NJet', 'MET_px'] } }),
      deps(cache),
    );
    expect(narrower.specs.key).not.toBe(a.specs.key);
    await utimes(copy, new Date(), new Date(Date.now() + 5_000));
    const c = await prepareDataset(w, deps(cache));
    expect(c.specs.key).not.toBe(a.specs.key);
    await Promise.all([a, b, c, narrower].map((d) => d.close()));
    await rm(dir, { recursive: true });
  });
});

describe.skipIf(!hasShared)('bad workflows get clear errors', () => {
  const base = { labels: [1], params: { branch: 'events' } };
  const fails = (doc: unknown) =>
    prepareDataset(parseWorkflow(doc), deps()).then(
      () => undefined,
      (e: unknown) => e,
    );

  it('a missing file', async () => {
    const err = await fails({ ...base, files: [join(ROOT_DIR, 'nope.root')] });
    expect(err).toBeInstanceOf(RootFileNotFoundError);
  });
  it('an unknown tree, listing the trees there', async () => {
    const err = await fails({ ...base, files: [HZZ], params: { branch: 'Events' } });
    expect(err).toBeInstanceOf(TreeNotFoundError);
    expect((err as Error).message).toContain('trees in this file: events');
  });
  it('an unknown branch in selected_branches, with a suggestion', async () => {
    const err = await fails({
      ...base,
      files: [HZZ],
      params: { branch: 'events', selected_branches: ['Jet_PX'] },
    });
    expect(err).toBeInstanceOf(BranchNotFoundError);
    expect((err as Error).message).toContain('"Jet_Px"');
  });
  it('labels that do not match the files', () => {
    expect(() => parseWorkflow({ files: [HZZ, HZZ], labels: [1] })).toThrow(/labels: 1 labels for 2 files/);
  });
  it('a malformed cut expression', async () => {
    const err = await fails({ ...base, files: [HZZ], preproc: { cuts: ['NJet >> 2'] } });
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(/preproc\.cuts\[0\]/);
  });
  it('an unknown parameter', () => {
    expect(() => parseWorkflow({ files: [HZZ], labels: [1], params: { chunksize: 10 } })).toThrow(
      /params: unknown key\(s\) "chunksize"/,
    );
  });
});

describe.skipIf(!hasShared)('serving transform', () => {
  it('computes new branches from raw inputs as in training, and names what is missing', async () => {
    const { transformRecords, transformSpecOf, transformFile } = await import(
      '../../lib/dataset/transform.js'
    );
    const w = parseWorkflow({
      files: [HZZ],
      labels: [1],
      params: { branch: 'events', selected_branches: ['NJet', 'MET_px'] },
      preproc: {
        new_branch: { njet2: { def: 'NJet**2', type: 'flat', remove: 'False', keys_to_remove: ['NJet'] } },
      },
    });
    const ds = await prepareDataset(w, deps());
    const spec = transformSpecOf(ds);
    expect(ds.layout.names).toEqual(['MET_px', 'njet2']);
    const f = await openRoot(HZZ);
    const block = (await transformFile(f, spec, 10).next()).value!;
    await f.close();
    const { readColumns } = await import('../../lib/root/iterate.js');
    const g = await openRoot(HZZ);
    const { columns } = await readColumns(await g.tree('events'), {
      branches: ['NJet', 'MET_px'],
      entryStop: 3,
    });
    await g.close();
    const rows = [0, 1, 2].map((e) => [Number(columns.NJet.values[e]), Number(columns.MET_px.values[e])]);
    const x = transformRecords(spec, ['NJet', 'MET_px'], rows);
    expect(Array.from(x)).toEqual(Array.from(block.x.subarray(0, 6)));
    expect(() => transformRecords(spec, ['MET_px'], [[1]])).toThrow(/missing values for "NJet"/);
    await ds.close();
  });
});
