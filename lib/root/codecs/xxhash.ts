import xxhashInit from 'xxhash-wasm';

type Hasher = Awaited<ReturnType<typeof xxhashInit>>;
let hasher: Promise<Hasher> | undefined;

/** xxHash64 (seed 0), the checksum ROOT stores in front of every LZ4 block. */
export async function xxhash64(data: Uint8Array): Promise<bigint> {
  hasher ??= xxhashInit();
  return (await hasher).h64Raw(data);
}
