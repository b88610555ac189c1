import { createXXHash3, type IHasher } from 'hash-wasm';
import xxhashInit from 'xxhash-wasm';

type Hasher = Awaited<ReturnType<typeof xxhashInit>>;
let loading: Promise<Hasher> | undefined;
let ready: Hasher | undefined;

/** Loads the wasm hasher once; afterwards `xxhash64Sync` can be used. */
export async function loadXxhash(): Promise<void> {
  loading ??= xxhashInit().then((h) => {
    ready = h;
    return h;
  });
  await loading;
}

/** xxHash64 (seed 0), the checksum ROOT stores in front of every LZ4 block; undefined until loaded. */
export function xxhash64Sync(data: Uint8Array): bigint | undefined {
  return ready?.h64Raw(data);
}

let loading3: Promise<IHasher> | undefined;
let ready3: IHasher | undefined;

/** Loads the XXH3 hasher once; afterwards `xxh3Sync` can be used. */
export async function loadXxh3(): Promise<void> {
  loading3 ??= createXXHash3().then((h) => {
    ready3 = h;
    return h;
  });
  await loading3;
}

/** XXH3-64 (seed 0), RNTuple's checksum of its anchor, envelopes and pages; undefined until loaded. */
export function xxh3Sync(data: Uint8Array): bigint | undefined {
  if (!ready3) return undefined;
  const digest = ready3.init().update(data).digest('binary');
  return new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0, false);
}
