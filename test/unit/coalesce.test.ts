import { describe, expect, it } from 'vitest';
import { coalesceRanges, splitMerged } from '../../lib/root/source/coalesce.js';
import type { ByteRange } from '../../lib/root/source/types.js';

const spans = (ranges: readonly ByteRange[], gap?: number, max?: number) =>
  coalesceRanges(ranges, gap, max).map((m) => [m.offset, m.length]);

describe('coalesceRanges', () => {
  it('merges overlapping ranges into one covering both', () => {
    expect(
      spans(
        [
          [0, 100],
          [50, 100],
        ],
        0,
      ),
    ).toEqual([[0, 150]]);
  });

  it('merges a range contained in another without extending it', () => {
    expect(
      spans(
        [
          [0, 100],
          [10, 5],
        ],
        0,
      ),
    ).toEqual([[0, 100]]);
  });

  it('merges adjacent ranges even with a gap of zero', () => {
    expect(
      spans(
        [
          [0, 10],
          [10, 10],
        ],
        0,
      ),
    ).toEqual([[0, 20]]);
  });

  it('merges ranges separated by at most the gap and keeps farther ones apart', () => {
    expect(
      spans(
        [
          [0, 10],
          [20, 10],
        ],
        10,
      ),
    ).toEqual([[0, 30]]);
    expect(
      spans(
        [
          [0, 10],
          [21, 10],
        ],
        10,
      ),
    ).toEqual([
      [0, 10],
      [21, 10],
    ]);
  });

  it('uses a 32 KiB gap by default', () => {
    expect(
      spans([
        [0, 1],
        [1 + 32 * 1024, 1],
      ]),
    ).toHaveLength(1);
    expect(
      spans([
        [0, 1],
        [2 + 32 * 1024, 1],
      ]),
    ).toHaveLength(2);
  });

  it('never merges beyond maxBytes', () => {
    expect(
      spans(
        [
          [0, 60],
          [60, 60],
          [120, 60],
        ],
        0,
        100,
      ),
    ).toEqual([
      [0, 60],
      [60, 60],
      [120, 60],
    ]);
    expect(
      spans(
        [
          [0, 40],
          [40, 40],
          [80, 40],
        ],
        0,
        100,
      ),
    ).toEqual([
      [0, 80],
      [80, 40],
    ]);
  });

  it('keeps a single range larger than maxBytes whole', () => {
    expect(spans([[0, 500]], 0, 100)).toEqual([[0, 500]]);
  });

  it('returns merged ranges sorted by offset whatever the request order', () => {
    expect(
      spans(
        [
          [1000, 10],
          [0, 10],
          [500, 10],
        ],
        0,
      ),
    ).toEqual([
      [0, 10],
      [500, 10],
      [1000, 10],
    ]);
  });

  it('records where each requested range sits inside its merged range', () => {
    const [m] = coalesceRanges(
      [
        [30, 5],
        [10, 10],
      ],
      100,
    );
    expect(m.offset).toBe(10);
    expect(m.parts).toEqual(
      expect.arrayContaining([
        { index: 0, at: 20, length: 5 },
        { index: 1, at: 0, length: 10 },
      ]),
    );
  });

  it('returns nothing for no ranges', () => {
    expect(coalesceRanges([])).toEqual([]);
  });
});

describe('splitMerged', () => {
  const file = Uint8Array.from({ length: 256 }, (_, i) => i);
  const roundTrip = (ranges: ByteRange[], gap?: number, max?: number) => {
    const merged = coalesceRanges(ranges, gap, max);
    const bodies = merged.map((m) => file.subarray(m.offset, m.offset + m.length));
    return splitMerged(merged, bodies, ranges.length).map((b) => Array.from(b));
  };

  it('gives back the requested pieces in request order', () => {
    const ranges: ByteRange[] = [
      [200, 3],
      [0, 2],
      [100, 4],
      [1, 3],
    ];
    expect(roundTrip(ranges, 0)).toEqual(ranges.map(([o, l]) => Array.from(file.subarray(o, o + l))));
  });

  it('handles overlapping, duplicate and zero-length requests', () => {
    const ranges: ByteRange[] = [
      [10, 20],
      [15, 5],
      [10, 20],
      [40, 0],
    ];
    expect(roundTrip(ranges, 64)).toEqual(ranges.map(([o, l]) => Array.from(file.subarray(o, o + l))));
  });

  it('returns views into the merged bodies rather than copies', () => {
    const merged = coalesceRanges(
      [
        [0, 4],
        [4, 4],
      ],
      0,
    );
    const body = file.slice(0, 8);
    const [a, b] = splitMerged(merged, [body], 2);
    expect(a.buffer).toBe(body.buffer);
    expect(b.buffer).toBe(body.buffer);
  });
});
