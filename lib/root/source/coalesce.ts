import { CorruptFileError } from '../errors.js';
import type { ByteRange } from './types.js';

export interface MergedRange {
  offset: number;
  length: number;
  /** indices into the original request and their offsets within the merged range */
  parts: Array<{ index: number; at: number; length: number }>;
}

/**
 * Merges ranges that overlap or lie within `gap` bytes of each other, never producing a request
 * larger than `maxBytes` (unless a single range is larger on its own).
 */
export function coalesceRanges(
  ranges: readonly ByteRange[],
  gap = 32 * 1024,
  maxBytes = 10 * 1024 * 1024,
): MergedRange[] {
  const order = ranges.map((r, index) => ({ offset: r[0], length: r[1], index }));
  order.sort((a, b) => a.offset - b.offset);
  const merged: MergedRange[] = [];
  let cur: MergedRange | undefined;
  for (const r of order) {
    const end = r.offset + r.length;
    if (
      cur &&
      r.offset <= cur.offset + cur.length + gap &&
      Math.max(end, cur.offset + cur.length) - cur.offset <= maxBytes
    ) {
      cur.length = Math.max(end, cur.offset + cur.length) - cur.offset;
      cur.parts.push({ index: r.index, at: r.offset - cur.offset, length: r.length });
    } else {
      cur = { offset: r.offset, length: r.length, parts: [{ index: r.index, at: 0, length: r.length }] };
      merged.push(cur);
    }
  }
  return merged;
}

/** Splits the bytes of merged ranges back into the originally requested pieces (no copies). */
export function splitMerged(
  merged: readonly MergedRange[],
  bodies: readonly Uint8Array[],
  count: number,
): Uint8Array[] {
  const out = new Array<Uint8Array>(count);
  merged.forEach((m, i) => {
    const body = bodies[i];
    for (const p of m.parts) out[p.index] = body.subarray(p.at, p.at + p.length);
  });
  return out;
}

/** Refuses ranges outside the file (or not numbers at all): a damaged record must not read past the end. */
export function checkRanges(source: string, ranges: readonly ByteRange[], size: number): void {
  for (const [offset, length] of ranges) {
    if (!(offset >= 0 && length >= 0 && offset + length <= size)) {
      throw new CorruptFileError(
        source,
        `a record points to bytes ${offset}..${offset + length} beyond the file's end (${size} bytes)`,
      );
    }
  }
}
