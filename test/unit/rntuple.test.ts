import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openRoot } from '../../lib/root/index.js';
import { type Chunk, iterate, readColumns } from '../../lib/root/iterate.js';
import type { RNTuple } from '../../lib/root/rntuple/rntuple.js';
import type { Column } from '../../lib/root/types.js';
import { ROOT_DIR } from '../helpers/reference.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/root');
const RUN2012 = join(ROOT_DIR, 'Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root');

type Entry = number | string | Entry[];

/** Each entry as a number (int64 as a string, exactly), or a list of them. */
function entries(col: Column): Entry[] {
  const v = col.values;
  const n = col.offsets
    ? col.offsets.length - 1
    : v.length / (col.shape === 'fixed' ? (col.inner ?? [1]).reduce((a, b) => a * b, 1) : 1);
  const one = (i: number): number | string => (typeof v[i] === 'bigint' ? String(v[i]) : Number(v[i]));
  const out: Entry[] = [];
  const per = v.length / (n || 1);
  for (let e = 0; e < n; e++) {
    if (col.offsets) {
      const list = [];
      for (let i = col.offsets[e]; i < col.offsets[e + 1]; i++) list.push(one(i));
      out.push(list);
    } else if (col.shape === 'fixed') {
      out.push(Array.from({ length: per }, (_, k) => one(e * per + k)));
    } else out.push(one(e));
  }
  return out;
}

async function readAll(file: string, name: string): Promise<{ t: RNTuple; cols: Record<string, Entry[]> }> {
  const f = await openRoot(join(FIXTURES, file));
  const t = (await f.entrySource(name)) as RNTuple;
  const { columns } = await readColumns(t);
  return { t, cols: Object.fromEntries(Object.entries(columns).map(([k, c]) => [k, entries(c)])) };
}

const range = (n: number, f: (i: number) => Entry = (i) => i): Entry[] =>
  Array.from({ length: n }, (_, i) => f(i));
const f32 = Math.fround;

/** What each script of scikit-hep-testdata's dev/make-root wrote, entry by entry. */
const WRITTEN: Record<string, { name: string; fields: Record<string, Entry[]> }> = {
  'test_int_float_rntuple_v1-0-0-0.root': {
    name: 'ntuple',
    fields: {
      one_integers: range(10, (i) => 9 - i),
      two_floats: [9.9, 8.8, 7.7, 6.6, 5.5, 4.4, 3.3, 2.2, 1.1, 0].map(f32),
    },
  },
  'test_int_5e4_rntuple_v1-0-0-0.root': {
    name: 'ntuple',
    fields: { one_integers: range(50000, (i) => 50000 - i) },
  },
  'test_1jag_int_float_rntuple_v1-0-0-0.root': {
    name: 'ntuple',
    fields: (() => {
      const ints: Entry[] = [];
      const floats: Entry[] = [];
      let vi: number[] = [];
      let vf: number[] = [];
      for (let i = 100; i > 0; i--) {
        if (i % 10 === 0) {
          vi = [];
          vf = [];
        }
        ints.push([...vi]);
        floats.push([...vf]);
        vi.push(i);
        vf.push(f32(i / 10));
      }
      return { one_v_integers: ints, two_v_floats: floats };
    })(),
  },
  'test_bit_rntuple_v1-0-0-0.root': { name: 'ntuple', fields: { one_bit: [1, 0, 0, 1, 0, 0, 1, 0, 0, 1] } },
  'test_atomic_bitset_rntuple_v1-0-0-0.root': {
    name: 'ntuple',
    fields: {
      atomic_int: [1, 2, 3],
      // std::bitset<42>: bit 0 first
      bitset: [42, 42 | 0xaaaa, (42 | 0xaaaa) & 0xcccc].map((x) =>
        range(42, (b) => Math.floor(x / 2 ** b) % 2),
      ),
    },
  },
  'test_index_multicluster_rntuple_v1-0-0-0.root': {
    name: 'ntuple',
    fields: { int_vector: [...range(100, (i) => [i, i]), ...range(100, (i) => [i, i + 1])] },
  },
  'test_multiple_cluster_groups_rntuple_v1-0-0-0.root': {
    name: 'ntuple',
    fields: { one: range(1000), int_vector: range(1000, (i) => [i, i + 1]) },
  },
  'test_multiple_representations_rntuple_v1-0-0-0.root': { name: 'ntuple', fields: { real: [1, 2, 3] } },
  'test_extension_columns_rntuple_v1-0-0-0.root': {
    name: 'ntuple',
    fields: {
      int_field: [...range(200), ...range(200), ...range(200)],
      // added after 200 entries, then after 400: earlier entries read as zeros (empty vectors)
      float_field: [...range(200, () => 0), ...range(200, (i) => i + 0.5), ...range(200, (i) => i + 0.5)],
      intvec_field: [...range(400, () => []), ...range(200, (i) => [i, i + 1])],
    },
  },
  'test_nested_structs_rntuple_v1-0-0-0.root': {
    name: 'ntuple',
    fields: {
      'my_struct.i': range(10),
      'my_struct.sub_struct.i': range(10, (i) => i + 1),
      'my_struct.sub_struct.sub_sub_struct.i': range(10, (i) => i + 2),
      'my_struct.sub_struct.sub_sub_struct.v': range(10, (i) => [i, i + 1]),
    },
  },
  'test_split_3e4_rntuple_v1-0-0-0.root': {
    name: 'ntuple',
    fields: {
      one_int32: range(30000, () => 67305985),
      two_uint32: range(30000, () => 4293844428),
      three_vint32: range(30000, (k) =>
        range((30000 - k) % 10 === 0 ? 0 : 10 - ((30000 - k) % 10), () => f32(0.099967316)),
      ),
    },
  },
  'test_splitint_rntuple_v1-0-1-0.root': {
    name: 'ntuple',
    fields: {
      int16: [0, 1, -1, 16384, -16384, 32767, -32768],
      int32: [0, 1, -1, 2 ** 30, -(2 ** 30), 2 ** 31 - 1, -(2 ** 31)],
      int64: [
        '0',
        '1',
        '-1',
        String(2n ** 62n),
        String(-(2n ** 62n)),
        String(2n ** 63n - 1n),
        String(-(2n ** 63n)),
      ],
    },
  },
  'test_int_vfloat_tlv_vtlv_rntuple_v1-0-0-0.root': {
    name: 'ntuple',
    fields: {
      one_integers: [9, 8, 7, 6, 5],
      two_v_floats: [[9, 8, 7, 6], [5, 4, 3], [2, 1], [0, -1], [-2]],
      ...Object.fromEntries(['pt', 'eta', 'phi', 'mass'].map((m) => [`three_LV.${m}`, [19, 18, 17, 17, 16]])),
      ...Object.fromEntries(
        ['pt', 'eta', 'phi', 'mass'].map((m) => {
          const e = [
            [19, 19, 19, 19],
            [19, 19, 19, 19, 18, 18, 18],
            [19, 19, 19, 19, 18, 18, 18, 17, 17],
            [19, 19, 19, 19, 18, 18, 18, 17, 17, 17],
            [19, 19, 19, 19, 18, 18, 18, 17, 17, 17],
          ];
          return [`four_v_LVs.${m}`, e];
        }),
      ),
    },
  },
  'test_stl_containers_rntuple_v1-0-0-0.root': {
    name: 'ntuple',
    fields: {
      vector_int32: range(5, (i) => range(i + 1, (j) => j + 1)),
      array_float: range(5, (i) => [i + 1, i + 1, i + 1]),
      'tuple_int32_string.0': range(5, (i) => i + 1),
      'pair_int32_string.0': range(5, (i) => i + 1),
      'vector_tuple_int32_string.0': range(5, (i) => range(i + 1, (j) => j + 1)),
      ...Object.fromEntries(
        ['pt', 'eta', 'phi', 'mass'].map((m) => [`lorentz_vector.${m}`, range(5, (i) => i + 1)]),
      ),
      ...Object.fromEntries(
        ['pt', 'eta', 'phi', 'mass'].map((m) => [`array_lv.${m}`, range(5, (i) => [i + 1, i + 1, i + 1])]),
      ),
    },
  },
  'test_class_inheritance_rntuple_v1-0-0-1.root': {
    name: 'rntpl',
    fields: (() => {
      const a = (p: string): Record<string, Entry[]> => ({
        [`${p}base_a1`]: range(10),
        [`${p}base_a2`]: range(10, (i) => i * 0.1),
        [`${p}base_a3`]: range(10, (i) => [0, i, 2 * i]),
      });
      const child = (p: string) => ({
        ...a(p),
        [`${p}child_1`]: range(10, (i) => 2 * i),
        [`${p}child_2`]: range(10, (i) => 20 * i),
      });
      return {
        ...child('child.'),
        ...child('grandchild.'),
        'grandchild.grandchild_1': range(10, (i) => 3 * i),
        'grandchild.grandchild_2': range(10, (i) => 30 * i),
        ...a('multi_parent.'),
        'multi_parent.base_b': range(10, (i) => 10 * i),
        'multi_parent.multi_parent_1': range(10, (i) => 4 * i),
        'multi_parent.multi_parent_2': range(10, (i) => 40 * i),
        // BaseA is inherited twice: through Child and through MultiParent (named as uproot names them)
        ...a('multi_grandparent.Child::'),
        ...a('multi_grandparent.MultiParent::'),
        'multi_grandparent.child_1': range(10, (i) => 2 * i),
        'multi_grandparent.child_2': range(10, (i) => 20 * i),
        'multi_grandparent.base_b': range(10, (i) => 10 * i),
        'multi_grandparent.multi_parent_1': range(10, (i) => 4 * i),
        'multi_grandparent.multi_parent_2': range(10, (i) => 40 * i),
        'multi_grandparent.multi_grand_parent1': range(10, (i) => 5 * i),
        'multi_grandparent.multi_grand_parent2': range(10, (i) => 50 * i),
      };
    })(),
  },
};

describe('RNTuple: every numeric field equals what ROOT was told to write', () => {
  for (const [file, { name, fields }] of Object.entries(WRITTEN)) {
    it(file, async () => {
      const { t, cols } = await readAll(file, name);
      expect(Object.keys(cols).sort()).toEqual(Object.keys(fields).sort());
      for (const [field, want] of Object.entries(fields)) {
        const got = cols[field];
        expect(got.length, field).toBe(t.entries);
        // doubles written from decimal literals (i * 0.1) compare to 12 digits, everything else exactly
        const near = (x: Entry, y: Entry): boolean =>
          Array.isArray(x) && Array.isArray(y)
            ? x.length === y.length && x.every((v, i) => near(v, y[i]))
            : typeof x === 'number' && typeof y === 'number'
              ? x === y || Math.abs(x - y) <= 1e-12 * Math.max(1, Math.abs(y))
              : x === y;
        const bad = got.findIndex((g, i) => !near(g, want[i]));
        expect(
          bad === -1
            ? 'all equal'
            : `${field}[${bad}] = ${JSON.stringify(got[bad])}, wrote ${JSON.stringify(want[bad])}`,
        ).toBe('all equal');
      }
    });
  }

  it('Real32Trunc keeps the top bits of each float; Real32Quant maps [min, max] onto 2^bits - 1 steps', async () => {
    const { cols } = await readAll('test_float_types_rntuple_v1-0-0-0.root', 'ntuple');
    const written = [1.23456789, 1.4660155e13, -6.2875986e-22, -1.9060668].map(f32);
    const quantWritten = [1.23456789, 1.6666666, -6.2875986e-22, -1.9060668].map(f32);
    const trunc = (x: number, bits: number): number => {
      const u = new Uint32Array(new Float32Array([x]).buffer);
      u[0] &= 0xffffffff << (32 - bits);
      return new Float32Array(u.buffer)[0];
    };
    const quant = (x: number, bits: number): number => {
      const steps = 2 ** bits - 1;
      return f32(-2 + (Math.round(((x + 2) * steps) / 5) * 5) / steps);
    };
    for (const bits of [10, 16, 24, 31])
      expect(cols[`trunc${bits}`]).toEqual(written.map((x) => trunc(x, bits)));
    for (const bits of [1, 8, 16, 20, 24, 25, 32]) {
      const got = cols[`quant${bits}`] as number[];
      for (const [i, x] of quantWritten.entries()) expect(got[i]).toBeCloseTo(quant(x, bits), 6);
    }
  });

  it('skips what is not numbers, and says why', async () => {
    const f = await openRoot(join(FIXTURES, 'test_stl_containers_rntuple_v1-0-0-0.root'));
    const t = await f.entrySource('ntuple');
    const skipped = Object.fromEntries(t.skippedBranches().map((s) => [s.name, s.reason]));
    expect(skipped.string).toMatch(/several columns/);
    expect(skipped.vector_vector_int32).toMatch(/collections inside collections/);
    expect(skipped.variant_int32_string).toMatch(/std::variant/);
    await expect(readColumns(t, { branches: ['variant_int32_string'] })).rejects.toThrow(
      /branch "variant_int32_string" \(type std::variant<std::int32_t,std::string>\).*variant/,
    );
  });

  it('reads several RNTuples of one file, format 1.0.1.0 and uncompressed pages', async () => {
    const f = await openRoot(join(FIXTURES, 'rntviewer-testfile-multiple-rntuples-v1-0-0-0.root'));
    expect(f.rntupleNames()).toEqual(['A', 'B']);
    expect(entries((await readColumns(await f.entrySource('B'))).columns.g).slice(0, 3)).toEqual([
      0, 100, 200,
    ]);
    const staff = await openRoot(join(FIXTURES, 'ntpl001_staff_rntuple_v1-0-1-0.root'));
    const t = (await staff.entrySource('Staff')) as RNTuple;
    expect(t.version).toEqual([1, 0, 1, 0]);
    expect(t.entries).toBe(3354);
    const { columns } = await readColumns(t, { branches: ['Age', 'Cost'] });
    expect(entries(columns.Age).slice(0, 3)).toEqual([58, 63, 56]);
    expect(entries(columns.Cost).reduce((a, b) => (a as number) + (b as number), 0)).toBe(29083929);
    const plain = await openRoot(join(FIXTURES, 'rntviewer-testfile-uncomp-single-rntuple-v1-0-0-0.root'));
    expect((await plain.entrySource('Contributors')).skippedBranches().map((s) => s.name)).toEqual([
      'firstName',
      'lastName',
    ]);
  });
});

async function collect(gen: AsyncGenerator<Chunk>): Promise<Chunk[]> {
  const out: Chunk[] = [];
  for await (const c of gen) out.push(c);
  return out;
}

describe('RNTuple chunks', () => {
  for (const [file, name] of [
    ['test_multiple_cluster_groups_rntuple_v1-0-0-0.root', 'ntuple'],
    ['test_extension_columns_rntuple_v1-0-0-0.root', 'ntuple'],
    ['test_index_multicluster_rntuple_v1-0-0-0.root', 'ntuple'],
  ] as const) {
    it(`${file}: chunks across cluster boundaries, with or without workers, equal one read`, async () => {
      const f = await openRoot(join(FIXTURES, file));
      const t = await f.entrySource(name);
      const whole = (await readColumns(t)).columns;
      for (const parallel of [false, true]) {
        const chunks = await collect(iterate(t, { stepSize: 37, entryStart: 5, parallel }));
        expect(chunks[0].entryStart).toBe(5);
        for (const [k, col] of Object.entries(whole)) {
          const got = chunks.flatMap((c) => entries(c.columns[k]));
          expect(got).toEqual(entries(col).slice(5));
        }
      }
    });
  }
});

describe.skipIf(!existsSync(RUN2012))('Run2012BC muons (RNTupleImporter)', () => {
  it('reads the values uproot reads, with nMuon equal to the length of every Muon collection', async () => {
    const f = await openRoot(RUN2012);
    const t = await f.entrySource('Events');
    expect(t.entries).toBe(1000);
    // the importer's projected fields, in file order (its "_collection0" is not read by default)
    expect(t.numericBranches().map((b) => b.name)).toEqual([
      'Muon_pt',
      'Muon_eta',
      'Muon_phi',
      'Muon_mass',
      'Muon_charge',
      'nMuon',
    ]);
    const { columns } = await readColumns(t);
    // uproot's tests: the first entry's muons
    expect(entries(columns.Muon_pt)[0]).toEqual([10.763696670532227, 15.736522674560547]);
    expect(entries(columns.Muon_charge)[0]).toEqual([-1, -1]);
    const counts = entries(columns.nMuon);
    for (const k of ['Muon_pt', 'Muon_eta', 'Muon_phi', 'Muon_mass', 'Muon_charge'])
      expect(entries(columns[k]).map((e) => (e as number[]).length)).toEqual(counts);
    const chunks = await collect(iterate(t, { stepSize: 100 }));
    expect(chunks.map((c) => c.entryStop - c.entryStart)).toEqual(range(10, () => 100));
  });
});

describe('CMS NanoAOD converted by the RNTupleImporter', () => {
  const NANO_TTREE = join(ROOT_DIR, 'nanoAOD_2015_CMS_Open_Data_ttbar.root');
  const open = async () =>
    (
      await openRoot(
        join(FIXTURES, 'cmsopendata2015_ttbar_19980_NANOAOD_RNTupleImporter_rntuple_v1-0-0-1.root'),
      )
    ).entrySource('Events');

  it('every projected field reads; each nX equals the length of every X_ collection in every entry', async () => {
    const t = await open();
    expect(t.entries).toBe(10);
    expect(t.numericBranches()).toHaveLength(947);
    expect(t.skippedBranches()).toEqual([]);
    const { columns } = await readColumns(t);
    let checked = 0;
    for (const col of Object.values(columns)) {
      if (!col.offsets) continue;
      const counter = columns[`n${col.name.split('_')[0]}`];
      if (!counter) continue;
      expect(
        entries(col).map((e) => (e as Entry[]).length),
        col.name,
      ).toEqual(entries(counter));
      checked++;
    }
    expect(checked).toBe(344);
  });

  it.skipIf(!existsSync(NANO_TTREE))(
    'has the branches of a NanoAOD TTree: same names, types and shapes',
    async () => {
      const tree = await (await openRoot(NANO_TTREE)).entrySource('Events');
      const shape = (b: { name: string; dtype?: string; shape: string }) => `${b.name}:${b.dtype}:${b.shape}`;
      const fromTree = tree.numericBranches().map(shape).sort();
      expect((await open()).numericBranches().map(shape).sort()).toEqual(fromTree);
    },
  );
});
