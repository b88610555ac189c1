/**
 * LZ4 block decoder (the raw block format, no LZ4 frame: ROOT wraps blocks in its own framing).
 * Written against the LZ4 block specification; every length is bounds-checked so a corrupt
 * block raises instead of reading or writing out of range.
 */
export function lz4DecodeBlock(src: Uint8Array, dst: Uint8Array): number {
  let s = 0;
  let d = 0;
  const sEnd = src.length;
  const dEnd = dst.length;
  while (s < sEnd) {
    const token = src[s++];
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw new RangeError('LZ4 literal length runs past the block');
        b = src[s++];
        literals += b;
      } while (b === 255);
    }
    if (s + literals > sEnd || d + literals > dEnd) throw new RangeError('LZ4 literals run past the block');
    if (literals > 32) {
      dst.set(src.subarray(s, s + literals), d);
      s += literals;
      d += literals;
    } else {
      for (let i = 0; i < literals; i++) dst[d++] = src[s++];
    }
    if (s >= sEnd) break; // the last sequence has literals only
    if (s + 2 > sEnd) throw new RangeError('LZ4 match offset runs past the block');
    const offset = src[s] | (src[s + 1] << 8);
    s += 2;
    if (offset === 0 || offset > d) throw new RangeError('LZ4 match offset points before the output');
    let matchLen = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw new RangeError('LZ4 match length runs past the block');
        b = src[s++];
        matchLen += b;
      } while (b === 255);
    }
    if (d + matchLen > dEnd) throw new RangeError('LZ4 match runs past the output');
    let m = d - offset;
    if (offset >= matchLen) {
      dst.copyWithin(d, m, m + matchLen);
      d += matchLen;
    } else {
      // overlapping copy repeats the pattern byte by byte
      for (let i = 0; i < matchLen; i++) dst[d++] = dst[m++];
    }
  }
  return d;
}
