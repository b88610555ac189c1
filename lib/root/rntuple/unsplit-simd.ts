/**
 * Split columns' byte planes put back together by WebAssembly SIMD shuffles (unsplit.wat), 16
 * elements at a time: 4 to 10 times the speed of the best JavaScript loop, which cost a third of
 * the inflating when reading split float and integer columns. A page is copied into the module's
 * memory, unsplit there and copied out: both copies are of a page still in the cache.
 */

import { simdModule } from '../codecs/simd-module.js';

/** wat2wasm lib/root/rntuple/unsplit.wat, base64 */
export const UNSPLIT_WASM =
  'AGFzbQEAAAABFgNgBH9/f38AYAJ/fwBgBn9/f39/fwADCAcAAAEBAgAABQMBAAEHUwgGbWVtb3J5AgAJdW5zcGxpdDMyAAAJdW5zcGxpdDY0AAEIemlnemFnMzIAAgh6aWd6YWc2NAADBHRhaWwABAdpbmRleDMyAAUHaW5kZXg2NAAGCo0LB60CAgF/CHsgACADQQR0aiEEAkADQCAAIARPDQEgAP0ABAAhBSAAIAJq/QAEACEGIAAgAkEBdGr9AAQAIQcgACACQQNsav0ABAAhCCAFIAb9DQAQARECEgMTBBQFFQYWBxchCSAFIAb9DQgYCRkKGgsbDBwNHQ4eDx8hCiAHIAj9DQAQARECEgMTBBQFFQYWBxchCyAHIAj9DQgYCRkKGgsbDBwNHQ4eDx8hDCABIAkgC/0NAAEQEQIDEhMEBRQVBgcWF/0LBAAgASAJIAv9DQgJGBkKCxobDA0cHQ4PHh/9CwQQIAEgCiAM/Q0AARARAgMSEwQFFBUGBxYX/QsEICABIAogDP0NCAkYGQoLGhsMDRwdDg8eH/0LBDAgAEEQaiEAIAFBwABqIQEMAAsLC/4FAgF/GHsgACADQQR0aiEEAkADQCAAIARPDQEgACACQQBsav0ABAAhBSAAIAJBAWxq/QAEACEGIAAgAkECbGr9AAQAIQcgACACQQNsav0ABAAhCCAAIAJBBGxq/QAEACEJIAAgAkEFbGr9AAQAIQogACACQQZsav0ABAAhCyAAIAJBB2xq/QAEACEMIAUgBv0NABABEQISAxMEFAUVBhYHFyENIAUgBv0NCBgJGQoaCxsMHA0dDh4PHyEOIAcgCP0NABABEQISAxMEFAUVBhYHFyEPIAcgCP0NCBgJGQoaCxsMHA0dDh4PHyEQIAkgCv0NABABEQISAxMEFAUVBhYHFyERIAkgCv0NCBgJGQoaCxsMHA0dDh4PHyESIAsgDP0NABABEQISAxMEFAUVBhYHFyETIAsgDP0NCBgJGQoaCxsMHA0dDh4PHyEUIA0gD/0NAAEQEQIDEhMEBRQVBgcWFyEVIA0gD/0NCAkYGQoLGhsMDRwdDg8eHyEWIA4gEP0NAAEQEQIDEhMEBRQVBgcWFyEXIA4gEP0NCAkYGQoLGhsMDRwdDg8eHyEYIBEgE/0NAAEQEQIDEhMEBRQVBgcWFyEZIBEgE/0NCAkYGQoLGhsMDRwdDg8eHyEaIBIgFP0NAAEQEQIDEhMEBRQVBgcWFyEbIBIgFP0NCAkYGQoLGhsMDRwdDg8eHyEcIAEgFSAZ/Q0AAQIDEBESEwQFBgcUFRYX/QsEACABIBUgGf0NCAkKCxgZGhsMDQ4PHB0eH/0LBBAgASAWIBr9DQABAgMQERITBAUGBxQVFhf9CwQgIAEgFiAa/Q0ICQoLGBkaGwwNDg8cHR4f/QsEMCABIBcgG/0NAAECAxAREhMEBQYHFBUWF/0LBEAgASAXIBv9DQgJCgsYGRobDA0ODxwdHh/9CwRQIAEgGCAc/Q0AAQIDEBESEwQFBgcUFRYX/QsEYCABIBggHP0NCAkKCxgZGhsMDQ4PHB0eH/0LBHAgAEEQaiEAIAFBgAFqIQEMAAsLCz0BAXsCQANAIAAgAU8NASAA/QAEACECIAAgAkEB/a0BIAJBH/2rAUEf/awB/VH9CwQAIABBEGohAAwACwsLPQEBewJAA0AgACABTw0BIAD9AAQAIQIgACACQQH9zQEgAkE//csBQT/9zAH9Uf0LBAAgAEEQaiEADAALCwtOAQJ/AkADQCAGIARPDQFBACEHA0AgBSAGIAJsIAdqaiAAIAcgAWwgAyAGampqLQAAOgAAIAdBAWohByAHIAJJDQALIAZBAWohBgwACwsLSAIBfwJ+IAAgAkECdGohBAJAA0AgACAETw0BIAA1AgAhBiAFIAZ8IAYgAxshBSABIAW6OQMAIABBBGohACABQQhqIQEMAAsLC0gCAX8CfiAAIAJBA3RqIQQCQANAIAAgBE8NASAAKQMAIQYgBSAGfCAGIAMbIQUgASAFujkDACAAQQhqIQAgAUEIaiEBDAALCws=';

/** Pages larger than this are left to the JavaScript loop, so the module's memory stays small. */
const MAX_SIMD_PAGE = 4 * 1024 * 1024;

interface Unsplit {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  unsplit32(p: number, dst: number, n: number, blocks: number): void;
  unsplit64(p: number, dst: number, n: number, blocks: number): void;
  zigzag32(p: number, end: number): void;
  zigzag64(p: number, end: number): void;
  tail(p: number, n: number, size: number, from: number, count: number, dst: number): void;
  index32(src: number, dst: number, count: number, delta: number): void;
  index64(src: number, dst: number, count: number, delta: number): void;
}

// null without SIMD in this engine: the JavaScript loop does all the work
const instance = simdModule<Unsplit>(UNSPLIT_WASM);

/**
 * Where to inflate a split page of `pageBytes` bytes that `unsplitBlocks` then reads: the start
 * of the module's memory, grown beforehand for the page and its unsplit elements, so the page is
 * not copied in (undefined without SIMD or for pages left to the JavaScript loop). Valid until the
 * next call here or to `unsplitBlocks`.
 */
export function simdScratch(pageBytes: number): Uint8Array | undefined {
  if (pageBytes > MAX_SIMD_PAGE) return undefined;
  const m = instance();
  if (!m) return undefined;
  grow(m, ((pageBytes + 15) & ~15) + pageBytes);
  return new Uint8Array(m.memory.buffer, 0, pageBytes);
}

function grow(m: Unsplit, need: number): void {
  if (m.memory.buffer.byteLength < need)
    m.memory.grow(Math.ceil((need - m.memory.buffer.byteLength) / 65536));
}

/**
 * Elements [from, from + 16 k) of a split page of `n` elements of `size` (4 or 8) bytes written
 * whole at buf[byteOffset ..], for the largest k that fits in [from, to), zigzag-decoded when
 * `zigzag` (there, while they are in the cache: a JavaScript pass over the output after cost
 * about as much as unsplitting). Returns how many elements it wrote (0 when it did nothing); the
 * caller finishes the rest.
 */
export function unsplitBlocks(
  src: Uint8Array,
  n: number,
  size: 4 | 8,
  from: number,
  to: number,
  buf: ArrayBufferLike,
  byteOffset: number,
  zigzag = false,
): number {
  const blocks = (to - from) >> 4;
  const pageBytes = n * size;
  if (blocks === 0 || pageBytes > MAX_SIMD_PAGE) return 0;
  const m = instance();
  if (!m) return 0;
  const dst = (pageBytes + 15) & ~15;
  const outBytes = blocks * 16 * size;
  const need = dst + outBytes;
  // a page inflated into simdScratch is there already (and stays there if the memory grows,
  // though the view of it is then detached: asked before growing)
  const inPlace = src.buffer === m.memory.buffer && src.byteOffset === 0;
  grow(m, need);
  const mem = new Uint8Array(m.memory.buffer);
  if (!inPlace) mem.set(src.subarray(0, pageBytes), 0);
  if (size === 4) m.unsplit32(from, dst, n, blocks);
  else m.unsplit64(from, dst, n, blocks);
  if (zigzag) (size === 4 ? m.zigzag32 : m.zigzag64)(dst, need);
  new Uint8Array(buf, byteOffset, outBytes).set(mem.subarray(dst, need));
  return blocks * 16;
}

/**
 * Elements [from, to) of a split index page of `n` elements of `size` (4 or 8) bytes, as numbers
 * (each the running sum from the page's start when `delta`) written into out[at ..]. Returns false
 * when it did nothing (no SIMD, or a page left to the JavaScript loop): the caller decodes them.
 * Summed in JavaScript, a float64 addition per element waiting on the one before, decoding the
 * offsets cost 3.4 ns per element; here the sum is an integer addition (about 1 ns).
 */
export function indexPage(
  src: Uint8Array,
  n: number,
  size: 4 | 8,
  from: number,
  to: number,
  delta: boolean,
  out: Float64Array,
  at: number,
): boolean {
  const pageBytes = n * size;
  if (pageBytes > MAX_SIMD_PAGE || to > n) return false;
  const m = instance();
  if (!m) return false;
  const blocks = to >> 4;
  const words = (pageBytes + 15) & ~15;
  const numbers = words + ((to * size + 15) & ~15);
  // as in unsplitBlocks: whether the page is in place already is asked before growing
  const inPlace = src.buffer === m.memory.buffer && src.byteOffset === 0;
  grow(m, numbers + to * 8);
  if (!inPlace) new Uint8Array(m.memory.buffer).set(src.subarray(0, pageBytes), 0);
  if (blocks) (size === 4 ? m.unsplit32 : m.unsplit64)(0, words, n, blocks);
  if (to > blocks * 16) m.tail(0, n, size, blocks * 16, to - blocks * 16, words + blocks * 16 * size);
  (size === 4 ? m.index32 : m.index64)(words, numbers, to, delta ? 1 : 0);
  out.set(new Float64Array(m.memory.buffer, numbers + from * 8, to - from), at);
  return true;
}
