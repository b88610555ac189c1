import { InvalidInputError } from '../errors.js';
import { type BasketJob, decodeGroup, fetchGroup, readGroups } from './basket-groups.js';
import type { BranchInfo } from './branch-info.js';
import type { ChunkPlan, EntryBranch, EntrySource } from './entry-source.js';
import { CorruptFileError, UnsupportedBranchError } from './errors.js';
import type { Tree } from './file.js';
import { allocValues, type DecodedBasket } from './interpret.js';
import type { Column, TypedValues } from './types.js';

export interface IterateOptions {
  /** branch names; omitted = every numeric branch (others are skipped, see Tree.skippedBranches) */
  branches?: readonly string[];
  entryStart?: number;
  entryStop?: number;
  /** at most this many entries per chunk (default 100,000) */
  stepSize?: number;
  /** inflate on worker threads (every core); the values are identical either way (default true) */
  parallel?: boolean;
  /** chunks read and decoded ahead of the one being consumed (default 2); memory grows with it */
  readAhead?: number;
}

export interface Chunk {
  entryStart: number;
  entryStop: number;
  columns: Record<string, Column>;
}

function checkEntry(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 0)
    throw new InvalidInputError(`${name} must be a whole number >= 0, got ${v}`);
  return v;
}

/** Which branches a caller asked for, refusing the ones that cannot be read as numbers. */
export function selectBranches(source: EntrySource, names?: readonly string[]): EntryBranch[] {
  if (!names) return source.numericBranches();
  return names.map((n) => {
    const b = source.branch(n);
    if (b.unsupported) throw new UnsupportedBranchError(source.file.name, b.name, b.typeName, b.unsupported);
    return b;
  });
}

interface BranchState {
  info: BranchInfo;
  decoded: DecodedBasket[];
  next: number; // index of the first basket not yet decoded
}

interface Job extends BasketJob {
  st: BranchState;
}

/** The baskets chunk [start, stop) needs that no earlier chunk decoded (advances each branch's cursor). */
function plan(states: BranchState[], start: number, stop: number): Job[] {
  const jobs: Job[] = [];
  for (const st of states) {
    const refs = st.info.baskets;
    while (st.next < refs.length && refs[st.next].entryStart < stop) {
      if (refs[st.next].entryStop > start) jobs.push({ st, info: st.info, ref: refs[st.next] });
      st.next++;
    }
  }
  return jobs;
}

/** Cuts entries [start, stop) out of the decoded baskets of one branch: views when one basket covers them. */
function assemble(st: BranchState, start: number, stop: number, tree: Tree): Column {
  const info = st.info;
  const per = (info.inner ?? [1]).reduce((a, b) => a * b, 1);
  const pieces: Array<{ values: TypedValues; offsets?: Int32Array }> = [];
  for (const d of st.decoded) {
    if (d.entryStop <= start || d.entryStart >= stop) continue;
    const a = Math.max(start, d.entryStart) - d.entryStart;
    const b = Math.min(stop, d.entryStop) - d.entryStart;
    if (d.offsets) {
      const off = d.offsets.subarray(a, b + 1);
      pieces.push({ values: d.values.subarray(off[0], off[off.length - 1]), offsets: off });
    } else {
      pieces.push({ values: d.values.subarray(a * per, b * per) });
    }
  }
  const covered = pieces.reduce((n, p) => n + (p.offsets ? p.offsets.length - 1 : p.values.length / per), 0);
  if (covered !== stop - start) {
    throw new InvalidInputError(
      `branch "${info.name}" of tree "${tree.name}" has ${info.entries} entries but the tree has ${tree.entries}: cannot read entries ${start}..${stop}`,
    );
  }
  let values: TypedValues;
  if (pieces.length === 1) values = pieces[0].values;
  else {
    values = allocValues(
      info.dtype!,
      pieces.reduce((n, p) => n + p.values.length, 0),
    );
    let at = 0;
    for (const p of pieces) {
      (values as Float64Array).set(p.values as Float64Array, at);
      at += p.values.length;
    }
  }
  const base = { name: info.name, dtype: info.dtype!, values };
  if (info.shape !== 'jagged')
    return info.shape === 'fixed'
      ? { ...base, shape: 'fixed', inner: info.inner }
      : { ...base, shape: 'scalar' };
  const offsets = new Int32Array(stop - start + 1);
  let e = 0;
  let shift = 0;
  for (const p of pieces) {
    const o = p.offsets!;
    for (let i = 1; i < o.length; i++) offsets[++e] = shift + o[i] - o[0];
    shift += o[o.length - 1] - o[0];
  }
  return { ...base, shape: 'jagged', offsets, inner: info.inner };
}

/**
 * Streams a TTree or an RNTuple in chunks of at most `stepSize` entries. Memory holds the decoded
 * data of the current chunk and the compressed bytes of the next ones, never the whole file.
 */
export async function* iterate(source: EntrySource, options: IterateOptions = {}): AsyncGenerator<Chunk> {
  const branches = selectBranches(source, options.branches);
  const start = checkEntry('entryStart', options.entryStart, 0);
  const stop = Math.min(checkEntry('entryStop', options.entryStop, source.entries), source.entries);
  const step = checkEntry('stepSize', options.stepSize, 100_000);
  if (step < 1) throw new InvalidInputError('stepSize must be at least 1');
  const parallel = options.parallel ?? true;
  const readAhead = checkEntry('readAhead', options.readAhead, 2);
  yield* source.chunks(branches, { start, stop, step, parallel, readAhead });
}

/** A TTree's chunks: baskets planned, read and decoded ahead of the caller. */
export async function* treeChunks(
  tree: Tree,
  branches: readonly BranchInfo[],
  { start, stop, step, parallel, readAhead }: ChunkPlan,
): AsyncGenerator<Chunk> {
  const states: BranchState[] = branches.map((info) => ({
    info,
    decoded: [],
    next: Math.max(
      0,
      info.baskets.findIndex((r) => r.entryStop > start),
    ),
  }));
  // Chunks are planned, read and decoded ahead of the caller (two by default): the next chunks'
  // bytes arrive and inflate on worker threads while this one is assembled and consumed. Inserting
  // after the whole chunk decoded keeps one chunk's failure from leaving half its baskets behind.
  const prepare = (cs: number): Promise<void> => {
    const jobs = plan(states, cs, Math.min(cs + step, stop));
    // group by group: the first baskets decode while later bytes are still being read
    const done = Promise.all(
      readGroups(jobs).map(async (group) => {
        const decoded = await decodeGroup(tree, group, await fetchGroup(tree, group), parallel);
        await Promise.all(
          decoded.map((d, i) =>
            group[i].info.shape === 'jagged' && !d.offsets
              ? generateOffsets(tree, group[i].info, d)
              : undefined,
          ),
        );
        return { group, decoded };
      }),
    ).then((parts) => {
      for (const { group, decoded } of parts)
        for (let i = 0; i < group.length; i++) insertSorted(group[i].st.decoded, decoded[i]);
    });
    // a chunk that fails after the caller stopped iterating must not become an unhandled rejection
    done.catch(() => {});
    return done;
  };
  const queue: Promise<void>[] = [];
  let planned = start;
  const fill = (): void => {
    while (queue.length <= readAhead && planned < stop) {
      queue.push(prepare(planned));
      planned += step;
    }
  };
  fill();
  for (let cs = start; cs < stop; cs += step) {
    const ce = Math.min(cs + step, stop);
    await queue.shift();
    fill();
    const columns: Record<string, Column> = {};
    for (const st of states) {
      st.decoded = st.decoded.filter((d) => d.entryStop > cs);
      columns[st.info.name] = assemble(st, cs, ce, tree);
    }
    yield { entryStart: cs, entryStop: ce, columns };
  }
}

/**
 * ROOT 6.12+ may leave a counted branch's entry offsets out of its baskets: each entry then holds
 * as many values as its counter says, times the fixed inner dimensions.
 */
async function generateOffsets(tree: Tree, info: BranchInfo, d: DecodedBasket): Promise<void> {
  const counter = tree.branch(info.counter!);
  if (counter.unsupported || counter.shape !== 'scalar') {
    throw new CorruptFileError(
      tree.file.name,
      `branch "${info.name}" left out its entry offsets, and its counter "${counter.name}" cannot give them`,
    );
  }
  const { columns } = await readColumns(tree, {
    branches: [counter.name],
    entryStart: d.entryStart,
    entryStop: d.entryStop,
    parallel: false,
  });
  const counts = columns[counter.name].values;
  const per = (info.inner ?? [1]).reduce((a, b) => a * b, 1);
  const offsets = new Int32Array(d.entryStop - d.entryStart + 1);
  for (let i = 0; i < counts.length; i++) {
    const c = Number(counts[i]);
    if (c < 0) throw new CorruptFileError(tree.file.name, `counter "${counter.name}" holds ${c}`);
    offsets[i + 1] = offsets[i] + c * per;
  }
  if (counts.length !== offsets.length - 1 || offsets[offsets.length - 1] !== d.values.length) {
    throw new CorruptFileError(
      tree.file.name,
      `basket of branch "${info.name}" at entry ${d.entryStart} holds ${d.values.length} values, its counter "${counter.name}" says ${offsets[offsets.length - 1]}`,
    );
  }
  d.offsets = offsets;
}

/** Chunks prepared ahead may finish out of order; baskets stay sorted by entry. */
function insertSorted(list: DecodedBasket[], d: DecodedBasket): void {
  let i = list.length;
  while (i > 0 && list[i - 1].entryStart > d.entryStart) i--;
  list.splice(i, 0, d);
}

/** Reads entries [entryStart, entryStop) of the given branches in one chunk. */
export async function readColumns(
  source: EntrySource,
  options: Omit<IterateOptions, 'stepSize'> = {},
): Promise<Chunk> {
  const start = options.entryStart ?? 0;
  const stop = Math.min(options.entryStop ?? source.entries, source.entries);
  for await (const chunk of iterate(source, { ...options, stepSize: Math.max(1, stop - start) }))
    return chunk;
  const columns: Record<string, Column> = {};
  for (const b of selectBranches(source, options.branches)) {
    columns[b.name] = {
      name: b.name,
      dtype: b.dtype!,
      shape: b.shape,
      values: allocValues(b.dtype!, 0),
      ...(b.shape === 'jagged' ? { offsets: new Int32Array(1) } : {}),
    };
  }
  return { entryStart: start, entryStop: start, columns };
}
