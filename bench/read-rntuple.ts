/**
 * The RNTuple line of bench:read: the tree's numeric branches written as an RNTuple (same events,
 * zlib level 4, ROOT's default split encodings and page checksums) into a temporary file, then read
 * as the tree is, against the floor of inflating the same pages.
 * bench:read runs it in a process of its own (`runRntupleLine`); run alone:
 *   node dist/bench/read-rntuple.js <file> <tree> [--step N] [--repeat K]
 * prints the line's JSON on stdout.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { inflateSync } from 'node:zlib';
import { inflateOptions, readFrames } from '../lib/root/codecs/decompress.js';
import type { EntrySource } from '../lib/root/entry-source.js';
import { openRoot } from '../lib/root/file.js';
import { iterate } from '../lib/root/iterate.js';
import { columnType, pageBytes } from '../lib/root/rntuple/columns.js';
import type { RNTuple } from '../lib/root/rntuple/rntuple.js';
import { RootFileWriter } from '../lib/root/writer/file-writer.js';
import type { RNTupleFieldSpec } from '../lib/root/writer/rntuple-writer.js';

/** Single-threaded reads (and floor passes) before timing. */
const WARM_READS = 5;

const WRITABLE = new Set(['int32', 'uint32', 'int64', 'float32', 'float64']);

async function writeCopy(tree: EntrySource, path: string): Promise<void> {
  const fields: RNTupleFieldSpec[] = tree
    .numericBranches()
    .filter((b) => b.dtype && WRITABLE.has(b.dtype) && b.shape !== 'fixed')
    .map((b) => ({
      name: b.name,
      dtype: b.dtype as RNTupleFieldSpec['dtype'],
      jagged: b.shape === 'jagged',
    }));
  const w = await RootFileWriter.open(path, { compression: 4 });
  const r = w.rntuple(tree.name, fields, { clusterEntries: 50_000 });
  for await (const c of iterate(tree, { branches: fields.map((f) => f.name), stepSize: 50_000 }))
    await r.append(c.columns, c.entryStop - c.entryStart);
  await w.close();
}

/**
 * Every page's stored bytes and frames, read before timing; the function returned inflates them
 * all on one thread. `tuned`: zlib called as the reader calls it (one output chunk of the page's
 * size), faster than node:zlib's defaults: the like-for-like floor, stricter than the default one.
 */
async function pageInflater(t: RNTuple): Promise<(tuned: boolean) => Promise<void>> {
  const pages = t.clusters.flatMap((c) =>
    c.columns.flatMap((col, k) => col.pages.map((p) => ({ p, col: t.schema.columns[k] }))),
  );
  const raws = await t.file.source.read(pages.map(({ p }) => [p.locator.offset, p.locator.bytes] as const));
  const bodies = raws.map((raw, i) => {
    const { p, col } = pages[i];
    const type = columnType(col);
    if (typeof type === 'string') throw new Error(type);
    const bytes = pageBytes(type, col.bits, p.elements);
    return { raw, frames: raw.length === bytes ? [] : readFrames(raw, bytes, 'floor') };
  });
  return async (tuned) => {
    for (const { raw, frames } of bodies)
      for (const f of frames) {
        const stream = raw.subarray(f.start, f.start + f.compressed);
        if (tuned) inflateSync(stream, inflateOptions(f.uncompressed, f.compressed));
        else inflateSync(stream);
      }
  };
}

/**
 * Wall time and the process's CPU time (user + system, s) of `work`. On a machine shared with other
 * jobs the wall time of a single-threaded read mostly measures waiting for a core; its CPU time does
 * not, so the single-threaded ratio is also given in CPU time.
 */
export async function clocked(work: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

async function readAll(
  t: EntrySource,
  step: number,
  parallel: boolean,
): Promise<{ wall: number; cpu: number }> {
  return clocked(async () => {
    for await (const _ of iterate(t, { stepSize: step, parallel })) {
      // reading is the work
    }
  });
}

/** Figures of the RNTuple copy of `tree`: events/s and the ratios to the page-inflating floor. */
export async function rntupleLine(
  tree: EntrySource,
  step: number,
  repeat: number,
): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-bench-rntuple-'));
  try {
    const path = join(dir, 'copy.root');
    await writeCopy(tree, path);
    const file = await openRoot(path);
    const t = (await file.entrySource(tree.name)) as RNTuple;
    // warm up both paths: the floors are native zlib calls, warm from the first, while the reader's
    // JavaScript takes several reads to be compiled (best of 5 unwarmed reads timed the compiler)
    await readAll(t, step, true);
    for (let i = 0; i < WARM_READS; i++) await readAll(t, step, false);
    const inflate = await pageInflater(t);
    // the floors warmed as well: their first passes run slower too (fresh allocator arenas), and
    // a best of 5 over cold floor passes flattered the reader
    for (let i = 0; i < WARM_READS; i++) {
      await inflate(false);
      await inflate(true);
    }
    const best = (a: { wall: number; cpu: number }, b: { wall: number; cpu: number }) => ({
      wall: Math.min(a.wall, b.wall),
      cpu: Math.min(a.cpu, b.cpu),
    });
    let floorTimes = { wall: Number.POSITIVE_INFINITY, cpu: Number.POSITIVE_INFINITY };
    let tunedFloor = floorTimes;
    let reader = floorTimes;
    // interleaved, so a change in the machine's load moves the floors and the reader alike
    for (let i = 0; i < repeat; i++) {
      floorTimes = best(floorTimes, await clocked(() => inflate(false)));
      tunedFloor = best(tunedFloor, await clocked(() => inflate(true)));
      reader = best(reader, await readAll(t, step, false));
    }
    const floor = floorTimes.wall;
    const single = reader.wall;
    const singleCpu = reader.cpu;
    let parallel = Number.POSITIVE_INFINITY;
    for (let i = 0; i < repeat; i++) parallel = Math.min(parallel, (await readAll(t, step, true)).wall);
    const r = (x: number, d = 4): number => Number(x.toFixed(d));
    const bytes = (await stat(path)).size;
    console.error(
      `RNTuple copy (${t.numericBranches().length} fields, ${t.clusters.length} clusters, ${bytes} bytes), best of ${repeat}:`,
    );
    console.error(`  inflate floor (node:zlib, 1 thread)  ${r(floor)} s`);
    console.error(
      `  same, one output chunk per page      ${r(tunedFloor.wall)} s (the reader's own zlib call)`,
    );
    console.error(`  reader, 1 thread                     ${r(single)} s  ratio ${r(single / floor, 3)}`);
    console.error(`  reader, worker threads (all cores)   ${r(parallel)} s  ratio ${r(parallel / floor, 3)}`);
    console.error(
      `  CPU time, 1 thread: reader ${r(singleCpu)} s, floor ${r(floorTimes.cpu)} s  ratio ${r(singleCpu / floorTimes.cpu, 3)}`,
    );
    console.error(
      `  CPU time, 1 thread: reader over the reader's own zlib call ${r(tunedFloor.cpu)} s  ratio ${r(singleCpu / tunedFloor.cpu, 3)}`,
    );
    await file.close();
    return {
      events: t.entries,
      seconds: r(parallel),
      events_per_s: Math.round(t.entries / parallel),
      inflate_floor_seconds: r(floor),
      ratio_to_floor: r(parallel / floor, 3),
      single_thread_seconds: r(single),
      single_thread_ratio_to_floor: r(single / floor, 3),
      single_thread_cpu_ratio_to_floor: r(singleCpu / floorTimes.cpu, 3),
      tuned_floor_seconds: r(tunedFloor.wall),
      single_thread_cpu_ratio_to_tuned_floor: r(singleCpu / tunedFloor.cpu, 3),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The RNTuple line measured in a child process: the floors and the reader then share a heap holding
 * only the RNTuple's data, not the TTree line's as well (a read's garbage collections cost more in a
 * bigger heap, and node:zlib's default floor, which allocates and joins 16 KiB pieces, moved 2x with
 * it). Both the floors and the reader run in that same process, so this is like for like, not a
 * weakening of the floor.
 */
export async function runRntupleLine(
  path: string,
  tree: string,
  step: number,
  repeat: number,
): Promise<Record<string, number>> {
  const child = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), path, tree, '--step', String(step), '--repeat', String(repeat)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`the RNTuple bench line exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, number>;
}

/** The read benches' command line: a file, a tree, and how many entries per step and reads to take the best of. */
export function readBenchArgs(usage: string): {
  path: string;
  treeName: string;
  step: number;
  repeat: number;
} {
  const { positionals, values } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { step: { type: 'string', default: '100000' }, repeat: { type: 'string', default: '5' } },
  });
  const [path, treeName] = positionals;
  if (!path || !treeName) {
    console.error(`usage: ${usage} <file> <tree> [--step N] [--repeat K]`);
    process.exit(2);
  }
  return { path, treeName, step: Number(values.step), repeat: Number(values.repeat) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { path, treeName, step, repeat } = readBenchArgs('node dist/bench/read-rntuple.js');
  const file = await openRoot(path);
  const tree = await file.tree(treeName);
  const line = await rntupleLine(tree, step, repeat);
  await file.close();
  console.log(JSON.stringify(line));
}
