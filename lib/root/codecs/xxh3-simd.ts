/**
 * XXH3-64 of RNTuple pages by WebAssembly SIMD (xxh3.wat). Checking the 14.5 MB of pages of the
 * bench's RNTuple took hash-wasm's scalar code 2.8 ms, this 1.9 ms (0.9 ms once the pages are in
 * the cache: the rest is copying them into the module's memory). Inputs of up to 240 bytes use
 * other formulas: those, and engines without SIMD, are left to hash-wasm (`xxh3MatchesLESimd`
 * answers undefined).
 */

import { simdModule } from './simd-module.js';

/** wat2wasm lib/root/codecs/xxh3.wat, base64 */
export const XXH3_WASM =
  'AGFzbQEAAAABEwNgAn5+AX5gAn9/AX5gAn9/AX8DBAMAAQIFAwEAAQcUAgZtZW1vcnkCAAdtYXRjaGVzAAIK7Q4DdgEEfiAAQv////8PgyABQv////8Pg34hAiAAQiCIIAFC/////w+DfiEDIABC/////w+DIAFCIIh+IQQgAkIgiCADQv////8Pg3wgBHwhBSAFQiCGIAJC/////w+DhCADQiCIIAVCIIh8IABCIIggAUIgiH58hQvhDQMGewN/AX79DD2ussIAAAAAh8rrhbF5N54hAv0MT+vUJz2ussL5eTeesWdWFiED/QxjrrLCd8rrhXfK64UAAAAAIQT9DMVnVhYv69QnsXk3ngAAAAAhBSAAIAFBAWtBgHhxaiEIAkADQCAAIAhPDQFBACEKA0AgAP0ABAAhBiAGIAr9AAQA/VEhByACIAcgB/0NAAECAwgJCgsAAQIDCAkKCyAHIAf9DQQFBgcMDQ4PBAUGBwwNDg/93gEgBiAG/Q0ICQoLDA0ODwABAgMEBQYH/c4B/c4BIQIgAP0ABBAhBiAGIAr9AAQQ/VEhByADIAcgB/0NAAECAwgJCgsAAQIDCAkKCyAHIAf9DQQFBgcMDQ4PBAUGBwwNDg/93gEgBiAG/Q0ICQoLDA0ODwABAgMEBQYH/c4B/c4BIQMgAP0ABCAhBiAGIAr9AAQg/VEhByAEIAcgB/0NAAECAwgJCgsAAQIDCAkKCyAHIAf9DQQFBgcMDQ4PBAUGBwwNDg/93gEgBiAG/Q0ICQoLDA0ODwABAgMEBQYH/c4B/c4BIQQgAP0ABDAhBiAGIAr9AAQw/VEhByAFIAcgB/0NAAECAwgJCgsAAQIDCAkKCyAHIAf9DQQFBgcMDQ4PBAUGBwwNDg/93gEgBiAG/Q0ICQoLDA0ODwABAgMEBQYH/c4B/c4BIQUgAEHAAGohACAKQQhqIQogCkGAAUkNAAsgAiACQS/9zQH9USECIAJBAP0ABIAB/VH9DLF5N54AAAAAsXk3ngAAAAD91QEhAiADIANBL/3NAf1RIQMgA0EA/QAEkAH9Uf0MsXk3ngAAAACxeTeeAAAAAP3VASEDIAQgBEEv/c0B/VEhBCAEQQD9AASgAf1R/QyxeTeeAAAAALF5N54AAAAA/dUBIQQgBSAFQS/9zQH9USEFIAVBAP0ABLAB/VH9DLF5N54AAAAAsXk3ngAAAAD91QEhBQwACwsgCCABQQFrQf8HcUFAcWohCUEAIQoCQANAIAAgCU8NASAA/QAEACEGIAYgCv0ABAD9USEHIAIgByAH/Q0AAQIDCAkKCwABAgMICQoLIAcgB/0NBAUGBwwNDg8EBQYHDA0OD/3eASAGIAb9DQgJCgsMDQ4PAAECAwQFBgf9zgH9zgEhAiAA/QAEECEGIAYgCv0ABBD9USEHIAMgByAH/Q0AAQIDCAkKCwABAgMICQoLIAcgB/0NBAUGBwwNDg8EBQYHDA0OD/3eASAGIAb9DQgJCgsMDQ4PAAECAwQFBgf9zgH9zgEhAyAA/QAEICEGIAYgCv0ABCD9USEHIAQgByAH/Q0AAQIDCAkKCwABAgMICQoLIAcgB/0NBAUGBwwNDg8EBQYHDA0OD/3eASAGIAb9DQgJCgsMDQ4PAAECAwQFBgf9zgH9zgEhBCAA/QAEMCEGIAYgCv0ABDD9USEHIAUgByAH/Q0AAQIDCAkKCwABAgMICQoLIAcgB/0NBAUGBwwNDg8EBQYHDA0OD/3eASAGIAb9DQgJCgsMDQ4PAAECAwQFBgf9zgH9zgEhBSAAQcAAaiEAIApBCGohCgwACwsgCCABQQFrQf8HcWpBP2shACAA/QAEACEGIAZB+QD9AAQA/VEhByACIAcgB/0NAAECAwgJCgsAAQIDCAkKCyAHIAf9DQQFBgcMDQ4PBAUGBwwNDg/93gEgBiAG/Q0ICQoLDA0ODwABAgMEBQYH/c4B/c4BIQIgAP0ABBAhBiAGQfkA/QAEEP1RIQcgAyAHIAf9DQABAgMICQoLAAECAwgJCgsgByAH/Q0EBQYHDA0ODwQFBgcMDQ4P/d4BIAYgBv0NCAkKCwwNDg8AAQIDBAUGB/3OAf3OASEDIAD9AAQgIQYgBkH5AP0ABCD9USEHIAQgByAH/Q0AAQIDCAkKCwABAgMICQoLIAcgB/0NBAUGBwwNDg8EBQYHDA0OD/3eASAGIAb9DQgJCgsMDQ4PAAECAwQFBgf9zgH9zgEhBCAA/QAEMCEGIAZB+QD9AAQw/VEhByAFIAcgB/0NAAECAwgJCgsAAQIDCAkKCyAHIAf9DQQFBgcMDQ4PBAUGBwwNDg/93gEgBiAG/Q0ICQoLDA0ODwABAgMEBQYH/c4B/c4BIQUgAa1Ch5Wvr5i23puef34hCyALIAL9HQBBACkDC4UgAv0dAUEAKQMThRAAfCELIAsgA/0dAEEAKQMbhSAD/R0BQQApAyOFEAB8IQsgCyAE/R0AQQApAyuFIAT9HQFBACkDM4UQAHwhCyALIAX9HQBBACkDO4UgBf0dAUEAKQNDhRAAfCELIAsgC0IliIUhCyALQvnz3fGZ8pmrFn4hCyALIAtCIIiFCxEAIAAgARABIAAgAWopAwBRCwvHAQEAQQALwAG4/mw5I6RLvnwBgSz3Ia0c3tRt6YOQl9tyQKSkt7NnH8t55k7MwOV4glrQfcz/ciG4CEZ090MkjuA1kOaBOiZMPChSu5HDAMuI0GWLG1Muo3FkSJeiDflOOBnvRqnerNio+nY/45w0P/ncu8fHC08dilHgS820WTHIn37J2XhzZOrFrIM00+vDxYGg//oTY+sXDd1Rt/DaSdMWVSYp1GieKxa+WH1HofyP+LjRetAxzkXLOo+VFgQor9f7yrtLQH4=';

/** Where inputs are copied to in the module's memory (the secret lies below). */
const INPUT = 1024;
/** Longest input hashed here, so the module's memory stays small (pages are far smaller). */
const MAX_INPUT = 16 * 1024 * 1024;

interface Xxh3 {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  matches(p: number, len: number): number;
}

// null without SIMD in this engine: hash-wasm hashes everything
const instance = simdModule<Xxh3>(XXH3_WASM);

/**
 * Whether the XXH3-64 of `data` equals the 8 little-endian bytes `stored`; undefined when this
 * module does not hash such an input (240 bytes or fewer, very large, or no SIMD).
 */
export function xxh3MatchesLESimd(data: Uint8Array, stored: Uint8Array): boolean | undefined {
  const copy = xxh3CheckedCopy(data, stored);
  return copy === undefined ? undefined : copy !== false;
}

/**
 * As `xxh3MatchesLESimd`, but a match answers the copy of `data` hashed in the module's memory
 * (valid until the next call here): a page inflated from there right after is read from the
 * cache, not from memory a second time.
 */
export function xxh3CheckedCopy(data: Uint8Array, stored: Uint8Array): Uint8Array | false | undefined {
  const n = data.length;
  if (n <= 240 || n > MAX_INPUT || stored.length !== 8) return undefined;
  const m = instance();
  if (!m) return undefined;
  const need = INPUT + n + 8;
  if (m.memory.buffer.byteLength < need)
    m.memory.grow(Math.ceil((need - m.memory.buffer.byteLength) / 65536));
  const mem = new Uint8Array(m.memory.buffer);
  mem.set(data, INPUT);
  mem.set(stored, INPUT + n);
  return m.matches(INPUT, n) === 1 && mem.subarray(INPUT, INPUT + n);
}
