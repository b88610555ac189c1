import { createXXHash3, type IHasher } from 'hash-wasm';
import xxhashInit from 'xxhash-wasm';
import { xxh3MatchesLESimd } from './xxh3-simd.js';

/** A wasm module loaded once on first use; `ready` is set once it has loaded. */
function once<T>(init: () => Promise<T>): { load(): Promise<void>; ready?: T } {
  let loading: Promise<T> | undefined;
  const box: { load(): Promise<void>; ready?: T } = {
    async load() {
      loading ??= init().then((v) => {
        box.ready = v;
        return v;
      });
      await loading;
    },
  };
  return box;
}

const xxh64 = once(xxhashInit);
const xxh3 = once<IHasher>(createXXHash3);

/** Loads the wasm hasher once; afterwards `xxhash64Sync` can be used. */
export const loadXxhash = (): Promise<void> => xxh64.load();

/** xxHash64 (seed 0), the checksum ROOT stores in front of every LZ4 block; undefined until loaded. */
export function xxhash64Sync(data: Uint8Array): bigint | undefined {
  return xxh64.ready?.h64Raw(data);
}

/** Loads the XXH3 hasher once; afterwards `xxh3Sync` can be used. */
export const loadXxh3 = (): Promise<void> => xxh3.load();

/** XXH3-64 (seed 0), RNTuple's checksum of its anchor, envelopes and pages; undefined until loaded. */
export function xxh3Sync(data: Uint8Array): bigint | undefined {
  if (!xxh3.ready) return undefined;
  const digest = xxh3.ready.init().update(data).digest('binary');
  return new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0, false);
}

/**
 * Whether `data`'s XXH3-64 equals the 8 little-endian bytes `stored` (RNTuple pages): the same
 * check as comparing xxh3Sync's value, without a DataView and a BigInt per page. False until loaded.
 */
export function xxh3MatchesLE(data: Uint8Array, stored: Uint8Array): boolean {
  const simd = xxh3MatchesLESimd(data, stored);
  if (simd !== undefined) return simd;
  if (!xxh3.ready) return false;
  // the digest is the hash's canonical (big-endian) form
  const d = xxh3.ready.init().update(data).digest('binary');
  for (let i = 0; i < 8; i++) if (d[7 - i] !== stored[i]) return false;
  return true;
}
