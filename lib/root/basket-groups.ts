import { decodeBasket, decodeBasketSync, finishZlibBasket, type ZlibBasket, zlibBasket } from './basket.js';
import type { BasketRef, BranchInfo } from './branch-info.js';
import { inflateManyOnWorker, packFrames } from './codecs/inflate-pool.js';
import { CorruptFileError } from './errors.js';
import type { Tree } from './file.js';
import { type DecodedBasket, interpretBasket } from './interpret.js';

/** One basket a chunk needs. */
export interface BasketJob {
  info: BranchInfo;
  ref: BasketRef;
}

/**
 * Compressed bytes per read group: big enough that a remote source makes few requests, small
 * enough that decoding starts soon after the first bytes arrive and groups spread over workers.
 */
const GROUP_BYTES = 1024 * 1024;

/** Splits a chunk's baskets into groups of neighbouring bytes, in file order (embedded ones on their own). */
export function readGroups<J extends BasketJob>(jobs: readonly J[]): J[][] {
  const embedded = jobs.filter((j) => j.ref.embedded);
  const onDisk = jobs.filter((j) => !j.ref.embedded).sort((a, b) => a.ref.seek - b.ref.seek);
  const groups: J[][] = embedded.length ? [embedded] : [];
  let cur: J[] = [];
  let bytes = 0;
  for (const j of onDisk) {
    if (cur.length && bytes + j.ref.bytes > GROUP_BYTES) {
      groups.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(j);
    bytes += j.ref.bytes;
  }
  if (cur.length) groups.push(cur);
  return groups;
}

/** Reads the compressed baskets of a group in one call, so the source can merge them into one request. */
export async function fetchGroup(tree: Tree, jobs: readonly BasketJob[]): Promise<Uint8Array[]> {
  const onDisk = jobs.filter((j) => !j.ref.embedded);
  const raws = await tree.file.source.read(onDisk.map((j) => [j.ref.seek, j.ref.bytes] as const));
  let i = 0;
  return jobs.map((j) => (j.ref.embedded ? new Uint8Array(0) : raws[i++]));
}

/** Decodes a group's baskets; `parallel` inflates its zlib baskets on a worker thread. */
export function decodeGroup(
  tree: Tree,
  jobs: readonly BasketJob[],
  raws: Uint8Array[],
  parallel: boolean,
): Promise<DecodedBasket[]> {
  const name = tree.file.source.name;
  if (!parallel) {
    // synchronously where the codec allows: no promise per basket on the hot path
    const sync = jobs.map((j, i) => decodeBasketSync(raws[i], j.ref, j.info, name));
    if (sync.every((r) => r))
      return Promise.resolve(
        sync.map((r, i) => interpretBasket(r!, jobs[i].info, name, !jobs[i].ref.embedded)),
      );
  }
  return decodeOnWorker(jobs, raws, parallel, name, tree.file.source.freshBuffers === true);
}

async function decodeOnWorker(
  jobs: readonly BasketJob[],
  raws: Uint8Array[],
  parallel: boolean,
  name: string,
  fresh: boolean,
): Promise<DecodedBasket[]> {
  const frames: Array<ZlibBasket | undefined> = jobs.map((j, i) =>
    parallel && !j.ref.embedded ? zlibBasket(raws[i], j.info, name) : undefined,
  );
  const zl = jobs.map((_, i) => i).filter((i) => frames[i]);
  const { buf, items, counts, moved } = packFrames(
    zl.map((i) => raws[i]),
    zl.map((i) => ({ base: frames[i]!.header.keylen, frames: frames[i]!.frames })),
    fresh,
  );
  // when the group's buffer moves to a worker, the others decode from their own copy
  const others = Promise.all(
    jobs.map((j, i) =>
      frames[i]
        ? undefined
        : decodeBasket(
            moved && !j.ref.embedded ? new Uint8Array(raws[i]) : raws[i],
            j.ref,
            j.info,
            name,
            parallel,
          ),
    ),
  );
  others.catch(() => {}); // reported below, unless the worker's failure is reported first
  const inflated = zl.length ? await inflateManyOnWorker(buf, items, counts) : [];
  const out = new Array<DecodedBasket>(jobs.length);
  zl.forEach((i, k) => {
    const r = inflated[k];
    if (r instanceof Error)
      throw new CorruptFileError(name, `cannot decompress a ZL frame (${r.message})`, { cause: r });
    const raw = finishZlibBasket(r, frames[i]!, jobs[i].ref, jobs[i].info, name);
    out[i] = interpretBasket(raw, jobs[i].info, name, true);
  });
  const rest = await others;
  rest.forEach((raw, i) => {
    if (raw) out[i] = interpretBasket(raw, jobs[i].info, name, !jobs[i].ref.embedded);
  });
  return out;
}
