/**
 * Read throughput against the decompression floor, measured in one run:
 *   npm run bench:read -- <file> <tree> [--step N] [--repeat K]
 * The floor is inflating every basket of the file (every zlib frame of it) with node:zlib alone (no
 * decoding, one thread); a second, stricter floor calls zlib the way the reader does (one output
 * chunk per frame);
 * the reader then reads every numeric branch in steps of 100 k, single-threaded and with both cores.
 * The same for an RNTuple copy of the tree comes first, in a child process (bench/read-rntuple.ts);
 * last, the same read from disk, over HTTP and over XRootD from local servers (read-remote.ts).
 * Prints, last, one JSON line with the figures.
 */
import { inflateSync } from 'node:zlib';
import { decompressRecord, type Frame, inflateOptions, readFrames } from '../lib/root/codecs/decompress.js';
import type { Tree } from '../lib/root/file.js';
import { openRoot } from '../lib/root/file.js';
import { iterate } from '../lib/root/iterate.js';
import { remoteReads } from './read-remote.js';
import { clocked, readBenchArgs, runRntupleLine } from './read-rntuple.js';

const { path, treeName, step, repeat } = readBenchArgs('npm run bench:read --');

interface Body {
  body: Uint8Array;
  objlen: number;
  /** empty when the basket is stored uncompressed */
  frames: Frame[];
}

/** Compressed bodies of every basket and their frames, read before timing so the floor measures inflation only. */
async function basketBodies(tree: Tree): Promise<Body[]> {
  const refs = tree.numericBranches().flatMap((b) => b.baskets.filter((r) => !r.embedded));
  const raws = await tree.file.source.read(refs.map((r) => [r.seek, r.bytes] as const));
  return raws.map((raw) => {
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const body = raw.subarray(v.getInt16(14));
    const objlen = v.getInt32(6);
    return { body, objlen, frames: body.length === objlen ? [] : readFrames(body, objlen, path) };
  });
}

/**
 * `tuned`: one output chunk per frame, as the reader itself calls zlib; else node:zlib's defaults.
 * Every frame of every basket: ROOT splits a large basket into several zlib streams (a jagged
 * branch's values and its entry offsets, for instance), and each must be inflated.
 */
async function floor(bodies: Body[], tuned: boolean): Promise<number> {
  const t0 = performance.now();
  let inflated = 0;
  let expected = 0;
  for (const { body, objlen, frames } of bodies) {
    if (!frames.length) continue;
    expected += objlen;
    if (frames.some((f) => f.tag !== 'ZL')) {
      inflated += (await decompressRecord(body, objlen, path, false)).length; // another codec: the whole record
      continue;
    }
    for (const f of frames) {
      const stream = body.subarray(f.start, f.start + f.compressed);
      const out = tuned
        ? inflateSync(stream, inflateOptions(f.uncompressed, f.compressed))
        : inflateSync(stream);
      inflated += out.length;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  // the floor must do all the inflating the reader does: every byte every basket holds
  if (inflated !== expected)
    throw new Error(`the floor inflated ${inflated} bytes, the baskets hold ${expected}`);
  return seconds;
}

async function readAll(tree: Tree, parallel: boolean): Promise<{ seconds: number; events: number }> {
  const t0 = performance.now();
  let events = 0;
  for await (const chunk of iterate(tree, { stepSize: step, parallel }))
    events += chunk.entryStop - chunk.entryStart;
  return { seconds: (performance.now() - t0) / 1000, events };
}

const best = async (fn: () => Promise<number>): Promise<number> => {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeat; i++) min = Math.min(min, await fn());
  return min;
};

// first, in a process of its own, while this one is idle: after the TTree line below, this
// process's own garbage collections (of that line's heap) ran on the cores the child was timing on
const rntuple = await runRntupleLine(path, treeName, step, repeat);
const file = await openRoot(path);
const tree = await file.tree(treeName);
const bodies = await basketBodies(tree);
await readAll(tree, true); // warm the page cache and the JIT
const floorSeconds = await best(() => floor(bodies, false));
const tunedFloorSeconds = await best(() => floor(bodies, true));
const single = await best(async () => (await readAll(tree, false)).seconds);
const floorCpu = await best(async () => (await clocked(() => floor(bodies, false))).cpu);
const singleCpu = await best(async () => (await clocked(() => readAll(tree, false))).cpu);
const parallel = await best(async () => (await readAll(tree, true)).seconds);
const events = tree.entries;
await file.close();

const r = (x: number, d = 4): number => Number(x.toFixed(d));
console.error(
  `${path} (${tree.numericBranches().length} branches, ${bodies.length} baskets), best of ${repeat}:`,
);
console.error(`  inflate floor (node:zlib, 1 thread)  ${r(floorSeconds)} s`);
console.error(
  `  same, one output chunk per frame     ${r(tunedFloorSeconds)} s (the reader's own zlib call)`,
);
console.error(`  reader, 1 thread                     ${r(single)} s  ratio ${r(single / floorSeconds, 3)}`);
console.error(
  `  reader, worker threads (all cores)   ${r(parallel)} s  ratio ${r(parallel / floorSeconds, 3)}`,
);
console.error(
  `  CPU time, 1 thread: reader ${r(singleCpu)} s, floor ${r(floorCpu)} s  ratio ${r(singleCpu / floorCpu, 3)}`,
);
console.error('  the same read from disk, over HTTP and over XRootD (local servers), interleaved:');
const remote = await remoteReads(path, treeName, repeat, (t) => readAll(t, true));
console.log(
  JSON.stringify({
    events,
    seconds: r(parallel),
    events_per_s: Math.round(events / parallel),
    inflate_floor_seconds: r(floorSeconds),
    ratio_to_floor: r(parallel / floorSeconds, 3),
    single_thread_seconds: r(single),
    single_thread_ratio_to_floor: r(single / floorSeconds, 3),
    single_thread_cpu_ratio_to_floor: r(singleCpu / floorCpu, 3),
    tuned_floor_seconds: r(tunedFloorSeconds),
    ratio_to_tuned_floor: r(parallel / tunedFloorSeconds, 3),
    single_thread_ratio_to_tuned_floor: r(single / tunedFloorSeconds, 3),
    ...remote,
    rntuple,
  }),
);
