/**
 * Split columns' byte planes put back together by WebAssembly SIMD shuffles (unsplit.wat), 16
 * elements at a time: 4 to 10 times the speed of the best JavaScript loop, which cost a third of
 * the inflating when reading split float and integer columns. A page is copied into the module's
 * memory, unsplit there and copied out: both copies are of a page still in the cache.
 */

import { simdModule } from '../codecs/simd-module.js';
import type { OffsetShift } from './index-columns.js';

/** wat2wasm lib/root/rntuple/unsplit.wat, base64 */
export const UNSPLIT_WASM =
  'AGFzbQEAAAABHwRgBH9/f38AYAJ/fwBgBn9/f39/fwBgBX9/f3x8AXwDCQgAAAEBAgAAAwUDAQABB10JBm1lbW9yeQIACXVuc3BsaXQzMgAACXVuc3BsaXQ2NAABCHppZ3phZzMyAAIIemlnemFnNjQAAwR0YWlsAAQHaW5kZXgzMgAFB2luZGV4NjQABgdvZmZzZXRzAAcK7AsIrQICAX8IeyAAIANBBHRqIQQCQANAIAAgBE8NASAA/QAEACEFIAAgAmr9AAQAIQYgACACQQF0av0ABAAhByAAIAJBA2xq/QAEACEIIAUgBv0NABABEQISAxMEFAUVBhYHFyEJIAUgBv0NCBgJGQoaCxsMHA0dDh4PHyEKIAcgCP0NABABEQISAxMEFAUVBhYHFyELIAcgCP0NCBgJGQoaCxsMHA0dDh4PHyEMIAEgCSAL/Q0AARARAgMSEwQFFBUGBxYX/QsEACABIAkgC/0NCAkYGQoLGhsMDRwdDg8eH/0LBBAgASAKIAz9DQABEBECAxITBAUUFQYHFhf9CwQgIAEgCiAM/Q0ICRgZCgsaGwwNHB0ODx4f/QsEMCAAQRBqIQAgAUHAAGohAQwACwsL/gUCAX8YeyAAIANBBHRqIQQCQANAIAAgBE8NASAAIAJBAGxq/QAEACEFIAAgAkEBbGr9AAQAIQYgACACQQJsav0ABAAhByAAIAJBA2xq/QAEACEIIAAgAkEEbGr9AAQAIQkgACACQQVsav0ABAAhCiAAIAJBBmxq/QAEACELIAAgAkEHbGr9AAQAIQwgBSAG/Q0AEAERAhIDEwQUBRUGFgcXIQ0gBSAG/Q0IGAkZChoLGwwcDR0OHg8fIQ4gByAI/Q0AEAERAhIDEwQUBRUGFgcXIQ8gByAI/Q0IGAkZChoLGwwcDR0OHg8fIRAgCSAK/Q0AEAERAhIDEwQUBRUGFgcXIREgCSAK/Q0IGAkZChoLGwwcDR0OHg8fIRIgCyAM/Q0AEAERAhIDEwQUBRUGFgcXIRMgCyAM/Q0IGAkZChoLGwwcDR0OHg8fIRQgDSAP/Q0AARARAgMSEwQFFBUGBxYXIRUgDSAP/Q0ICRgZCgsaGwwNHB0ODx4fIRYgDiAQ/Q0AARARAgMSEwQFFBUGBxYXIRcgDiAQ/Q0ICRgZCgsaGwwNHB0ODx4fIRggESAT/Q0AARARAgMSEwQFFBUGBxYXIRkgESAT/Q0ICRgZCgsaGwwNHB0ODx4fIRogEiAU/Q0AARARAgMSEwQFFBUGBxYXIRsgEiAU/Q0ICRgZCgsaGwwNHB0ODx4fIRwgASAVIBn9DQABAgMQERITBAUGBxQVFhf9CwQAIAEgFSAZ/Q0ICQoLGBkaGwwNDg8cHR4f/QsEECABIBYgGv0NAAECAxAREhMEBQYHFBUWF/0LBCAgASAWIBr9DQgJCgsYGRobDA0ODxwdHh/9CwQwIAEgFyAb/Q0AAQIDEBESEwQFBgcUFRYX/QsEQCABIBcgG/0NCAkKCxgZGhsMDQ4PHB0eH/0LBFAgASAYIBz9DQABAgMQERITBAUGBxQVFhf9CwRgIAEgGCAc/Q0ICQoLGBkaGwwNDg8cHR4f/QsEcCAAQRBqIQAgAUGAAWohAQwACwsLPQEBewJAA0AgACABTw0BIAD9AAQAIQIgACACQQH9rQEgAkEf/asBQR/9rAH9Uf0LBAAgAEEQaiEADAALCws9AQF7AkADQCAAIAFPDQEgAP0ABAAhAiAAIAJBAf3NASACQT/9ywFBP/3MAf1R/QsEACAAQRBqIQAMAAsLC04BAn8CQANAIAYgBE8NAUEAIQcDQCAFIAYgAmwgB2pqIAAgByABbCADIAZqamotAAA6AAAgB0EBaiEHIAcgAkkNAAsgBkEBaiEGDAALCwtIAgF/An4gACACQQJ0aiEEAkADQCAAIARPDQEgADUCACEGIAUgBnwgBiADGyEFIAEgBbo5AwAgAEEEaiEAIAFBCGohAQwACwsLSAIBfwJ+IAAgAkEDdGohBAJAA0AgACAETw0BIAApAwAhBiAFIAZ8IAYgAxshBSABIAW6OQMAIABBCGohACABQQhqIQEMAAsLC14DAX8BfAF/IAAgAkEDdGohBQJAA0AgACAFTw0BIAArAwAhBiAHIAYgBGNyIQcgBiEEIAEgBiADoPwCNgIAIABBCGohACABQQRqIQEMAAsLRAAAAAAAAPC/IAQgBxsL';

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
  offsets(src: number, dst: number, count: number, add: number, prev: number): number;
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
 * (each the running sum from the page's start when `delta`) written into out[at ..]; into an
 * Int32Array, as a chunk's offsets: each moved by `shift.add`, their order checked (see
 * OffsetShift). Returns false
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
  out: Float64Array | Int32Array,
  at: number,
  shift?: OffsetShift,
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
  const ints = numbers + to * 8;
  grow(m, ints + (out instanceof Int32Array ? (to - from) * 4 : 0));
  if (!inPlace) new Uint8Array(m.memory.buffer).set(src.subarray(0, pageBytes), 0);
  if (blocks) (size === 4 ? m.unsplit32 : m.unsplit64)(0, words, n, blocks);
  if (to > blocks * 16) m.tail(0, n, size, blocks * 16, to - blocks * 16, words + blocks * 16 * size);
  (size === 4 ? m.index32 : m.index64)(words, numbers, to, delta ? 1 : 0);
  if (out instanceof Float64Array) {
    out.set(new Float64Array(m.memory.buffer, numbers + from * 8, to - from), at);
    return true;
  }
  if (!shift) throw new Error('offsets need a shift');
  const last = m.offsets(numbers + from * 8, ints, to - from, shift.add, shift.prev);
  if (last < 0) shift.backwards = true;
  else shift.prev = last;
  out.set(new Int32Array(m.memory.buffer, ints, to - from), at);
  return true;
}
