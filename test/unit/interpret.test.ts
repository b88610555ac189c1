import { describe, expect, it } from 'vitest';
import type { RawBasket } from '../../lib/root/basket.js';
import type { BranchInfo } from '../../lib/root/branch-info.js';
import { parseDims, parseRange } from '../../lib/root/branch-info.js';
import { CorruptFileError } from '../../lib/root/errors.js';
import { interpretBasket } from '../../lib/root/interpret.js';

const info = (over: Partial<BranchInfo>): BranchInfo => ({
  name: 'x',
  title: 'x',
  typeName: 'float',
  dtype: 'float32',
  shape: 'scalar',
  itemSize: 4,
  encoding: { kind: 'plain' },
  entries: 0,
  baskets: [],
  ...over,
});

/** std::vector<float> entries as ROOT streams them: byte count | 0x40000000, version, size, values. */
function vectorBasket(rows: number[][]): RawBasket {
  const parts: Buffer[] = [];
  const offsets = [0];
  for (const r of rows) {
    const b = Buffer.alloc(10 + 4 * r.length);
    b.writeUInt32BE((6 + 4 * r.length) | 0x40000000, 0);
    b.writeInt16BE(9, 4);
    b.writeInt32BE(r.length, 6);
    r.forEach((v, i) => {
      b.writeFloatBE(v, 10 + 4 * i);
    });
    parts.push(b);
    offsets.push(offsets.at(-1)! + b.length);
  }
  return {
    entryStart: 0,
    entryStop: rows.length,
    data: Buffer.concat(parts),
    byteOffsets: Int32Array.from(offsets),
  };
}

describe('basket interpretation', () => {
  it('reads std::vector<float> entries into values and offsets', () => {
    const b = info({ typeName: 'std::vector<float>', shape: 'jagged', encoding: { kind: 'vector' } });
    const d = interpretBasket(vectorBasket([[1.5, 2.5], [], [3.25]]), b, 'v.root', true);
    expect(Array.from(d.values as Float32Array)).toEqual([1.5, 2.5, 3.25]);
    expect(Array.from(d.offsets!)).toEqual([0, 2, 2, 3]);
  });

  it('reports a vector entry whose size disagrees with its bytes', () => {
    const raw = vectorBasket([[1, 2]]);
    Buffer.from(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength).writeInt32BE(7, 6);
    const b = info({ shape: 'jagged', encoding: { kind: 'vector' } });
    expect(() => interpretBasket(raw, b, 'v.root', true)).toThrow(CorruptFileError);
  });

  it('decodes Double32_t with a range as scaled 32-bit integers, and without one as floats', () => {
    const ranged = Buffer.alloc(8);
    ranged.writeUInt32BE(0, 0);
    ranged.writeUInt32BE(2 ** 10, 4); // nbits 10: top of the range
    const b = info({ dtype: 'float64', encoding: { kind: 'double32', min: -1, max: 1, nbits: 10 } });
    const d = interpretBasket({ entryStart: 0, entryStop: 2, data: ranged }, b, 'd.root', true);
    expect(Array.from(d.values as Float64Array)).toEqual([-1, 1]);
    const plain = Buffer.alloc(4);
    plain.writeFloatBE(0.25);
    const p = info({ dtype: 'float64', encoding: { kind: 'double32', min: 0, max: 0, nbits: 0 } });
    expect(
      Array.from(
        interpretBasket({ entryStart: 0, entryStop: 1, data: plain }, p, 'd.root', true)
          .values as Float64Array,
      ),
    ).toEqual([0.25]);
  });

  it('refuses a flat basket whose length is not entries × value size', () => {
    const raw = { entryStart: 0, entryStop: 3, data: Buffer.alloc(10) };
    expect(() => interpretBasket(raw, info({}), 'f.root', true)).toThrow(/10 bytes for 3 entries of 4 bytes/);
  });

  it('reads dimensions and Double32 ranges from leaf titles', () => {
    expect(parseDims('Jet_pt[nJet]/F')).toEqual({ counter: 'nJet', dims: [] });
    expect(parseDims('m[3][2]/D')).toEqual({ counter: undefined, dims: [3, 2] });
    expect(parseRange('x/d[0, 2*pi, 12]')).toEqual({ min: 0, max: 2 * Math.PI, nbits: 12 });
    expect(parseRange('x/F')).toBeUndefined();
  });
});
