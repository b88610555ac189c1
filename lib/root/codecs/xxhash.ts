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
