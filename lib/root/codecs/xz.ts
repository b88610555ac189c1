import xz from 'xz-decompress';

const { XzReadableStream } = xz;

/** Decompresses one .xz stream (ROOT's "XZ" frames hold a complete xz stream). */
export async function xzDecompress(body: Uint8Array, expected: number): Promise<Uint8Array> {
  const input = new Blob([body]).stream();
  const reader = new XzReadableStream(input).getReader();
  const out = new Uint8Array(expected);
  let at = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.length > expected) {
      await reader.cancel();
      throw new RangeError('xz stream is longer than its frame header says');
    }
    out.set(value, at);
    at += value.length;
  }
  return at === expected ? out : out.subarray(0, at);
}
