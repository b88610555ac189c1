import { InvalidInputError } from '../../errors.js';
import type { ChunkPlan } from '../entry-source.js';
import { CorruptFileError } from '../errors.js';
import { allocValues } from '../interpret.js';
import type { Chunk } from '../iterate.js';
import type { Column, TypedValues } from '../types.js';
import type { ColumnSet, FieldBranch } from './fields.js';
import { type OffsetShift, shiftInto } from './index-columns.js';
import { PageStore, type Want } from './pages.js';
import type { RNTuple } from './rntuple.js';

/** The part of one cluster a chunk covers: entries [a, b) of cluster k. */
interface Span {
  k: number;
  a: number;
  b: number;
}

/** Copies src[from, to) into out at `at`, converting when the column's type differs from the field's. */
function put(out: TypedValues, at: number, src: TypedValues, from: number, to: number): void {
  if (out.constructor === src.constructor) {
    (out as Float64Array).set((src as Float64Array).subarray(from, to), at);
  } else if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = from; i < to; i++) out[at + i - from] = BigInt(Math.trunc(Number(src[i])));
  } else {
    const o = out as Float64Array;
    for (let i = from; i < to; i++) o[at + i - from] = Number(src[i]);
  }
}

/**
 * Writes the elements of `w` into out[at ..], zeros where the column has no data (deferred columns).
 * With `shift`, index values as a chunk's offsets (see OffsetShift).
 */
function fill(store: PageStore, w: Want, out: TypedValues, at: number, shift?: OffsetShift): void {
  const zeros = store.active(w.k, w.set) ? Math.min(Math.max(0, -w.p0), w.p1 - w.p0) : w.p1 - w.p0;
  if (zeros > 0 && shift) shiftInto(new Float64Array(zeros), 0, zeros, out as Int32Array, at, shift);
  else if (zeros > 0)
    (out as Float64Array).fill(typeof out[0] === 'bigint' ? (0n as never) : 0, at, at + zeros);
  store.copy(w, out, at, put, shift);
}

/** An RNTuple's chunks: pages fetched for the entries each chunk needs, the next chunk's read ahead. */
export async function* rntupleChunks(
  t: RNTuple,
  branches: readonly FieldBranch[],
  plan: ChunkPlan,
): AsyncGenerator<Chunk> {
  const where = `RNTuple "${t.name}"`;
  const store = new PageStore(t.clusters, t.file.source, where, plan.parallel, t.readBuffers);
  const scratch = { f64: new Float64Array(0) };
  for (let cs = plan.start; cs < plan.stop; cs += plan.step) {
    const ce = Math.min(cs + plan.step, plan.stop);
    // the next chunk's entry-indexed pages (most of its bytes) are fetched while this one's are
    // inflated, and kept compressed (single-threaded) or inflated (workers) until it needs them; a
    // failure there is reported by the chunk that needs them
    const ahead =
      plan.readAhead > 0 && ce < plan.stop
        ? () => {
            try {
              store
                .load(entryWants(t, store, branches, ce, Math.min(ce + plan.step, plan.stop)).flat())
                .catch(() => {});
            } catch {
              // reported when that chunk is read
            }
          }
        : () => {};
    const chunk = await readChunk(t, store, scratch, branches, cs, ce, ahead);
    store.retire();
    yield chunk;
  }
}

function spansOf(t: RNTuple, cs: number, ce: number): Span[] {
  const cl = t.clusters;
  let lo = 0;
  let hi = cl.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cl[mid].firstEntry + cl[mid].entries <= cs) lo = mid + 1;
    else hi = mid;
  }
  const spans: Span[] = [];
  for (let k = lo; k < cl.length && cl[k].firstEntry < ce; k++) {
    const c = cl[k];
    if (c.entries === 0) continue;
    spans.push({ k, a: Math.max(cs, c.firstEntry), b: Math.min(ce, c.firstEntry + c.entries) });
  }
  return spans;
}

/** The element ranges of columns indexed by entry (scalar values, collection offsets) a chunk needs, per branch. */
function entryWants(
  t: RNTuple,
  store: PageStore,
  branches: readonly FieldBranch[],
  cs: number,
  ce: number,
): Want[][] {
  const spans = spansOf(t, cs, ce);
  const source = t.file.source.name;
  /** Entries [a, b) of a column with `per` elements per entry, as positions in its pages. */
  const entryWant = (s: Span, set: ColumnSet, per: number, a: number): Want => {
    const c = t.clusters[s.k];
    const act = store.active(s.k, set);
    const base = act ? act.info.elementOffset : 0;
    if (
      act &&
      (base < c.firstEntry * per || base + store.size(s.k, set) !== (c.firstEntry + c.entries) * per)
    ) {
      throw new CorruptFileError(
        source,
        `RNTuple "${t.name}", field "${set.field}", cluster ${s.k}: its elements do not match the cluster's entries`,
      );
    }
    return { k: s.k, set, p0: a * per - base, p1: s.b * per - base };
  };
  return branches.map((br) => {
    const plan = br.plan!;
    if (plan.kind === 'scalar') return spans.map((s) => entryWant(s, plan.values, plan.per, s.a));
    return spans.map((s) => entryWant(s, plan.index, 1, s.a > t.clusters[s.k].firstEntry ? s.a - 1 : s.a));
  });
}

async function readChunk(
  t: RNTuple,
  store: PageStore,
  scratch: { f64: Float64Array },
  branches: readonly FieldBranch[],
  cs: number,
  ce: number,
  ahead: () => void,
): Promise<Chunk> {
  const spans = spansOf(t, cs, ce);
  // first the columns indexed by entry (values of scalar fields, offsets of collections) ...
  const wants = entryWants(t, store, branches, cs, ce);
  await store.load(wants.flat());
  // branch order, whatever order the columns are filled in
  const columns: Record<string, Column> = Object.fromEntries(
    branches.map((b) => [b.name, undefined as never]),
  );
  // ... the offsets of collections before the values of scalar fields: the items the offsets lead
  // to (and the next chunk's pages) are then read from the file while the scalar fields' pages are
  // inflated, instead of after them with nothing to do meanwhile
  const jagged: Array<{ br: FieldBranch; wants: Want[]; offsets: Int32Array }> = [];
  branches.forEach((br, i) => {
    const plan = br.plan!;
    if (plan.kind === 'scalar') return;
    if (plan.kind === 'jagged') {
      jagged.push({ br, ...itemWants(t, store, br, wants[i], spans) });
      return;
    }
    // the index column's values only lead to the counts: read into a scratch array reused from
    // branch to branch and chunk to chunk (a fresh one per branch cost its page faults each time)
    const need = wants[i].reduce((n, w) => n + w.p1 - w.p0, 0);
    if (scratch.f64.length < need) scratch.f64 = new Float64Array(need);
    let at = 0;
    const idx = wants[i].map((w) => {
      const v = scratch.f64.subarray(at, at + w.p1 - w.p0);
      at += v.length;
      fill(store, w, v, 0);
      return v;
    });
    columns[br.name] = counts(br, idx, spans, t);
  });
  const items = store.load(jagged.flatMap((x) => x.wants));
  // a rejection is awaited below, after the scalar fields: not unhandled meanwhile
  items.catch(() => {});
  ahead();
  branches.forEach((br, i) => {
    const plan = br.plan!;
    if (plan.kind !== 'scalar') return;
    const values = allocValues(br.dtype!, (ce - cs) * plan.per);
    let at = 0;
    for (const w of wants[i]) {
      fill(store, w, values, at);
      at += w.p1 - w.p0;
    }
    columns[br.name] =
      plan.per > 1
        ? { name: br.name, dtype: br.dtype!, shape: 'fixed', values, inner: br.inner }
        : { name: br.name, dtype: br.dtype!, shape: 'scalar', values };
  });
  // ... then the items of the collections, now that they are read
  await items;
  jagged.forEach(({ br, wants, offsets }) => {
    const plan = br.plan as Extract<FieldBranch['plan'], { kind: 'jagged' }>;
    const values = allocValues(br.dtype!, offsets[offsets.length - 1] * plan.per);
    let at = 0;
    for (const w of wants) {
      fill(store, w, values, at);
      at += w.p1 - w.p0;
    }
    columns[br.name] = { name: br.name, dtype: br.dtype!, shape: 'jagged', values, offsets, inner: br.inner };
  });
  return { entryStart: cs, entryStop: ce, columns };
}

/**
 * Offsets of a collection's entries in the chunk and the ranges of its items to read: the index
 * column holds each entry's end, relative to its cluster (the entry before the chunk gives the
 * start). Its pages are decoded straight into the offsets (see OffsetShift): decoded into numbers
 * first and converted by a JavaScript loop, they cost 9 ns an entry.
 */
function itemWants(
  t: RNTuple,
  store: PageStore,
  br: FieldBranch,
  index: readonly Want[],
  spans: Span[],
): { wants: Want[]; offsets: Int32Array } {
  const plan = br.plan as Extract<FieldBranch['plan'], { kind: 'jagged' }>;
  const n = spans.reduce((m, s) => m + s.b - s.a, 0);
  // every element is written below: no zero-filled (freshly mapped) memory needed
  const offsets = allocValues('int32', n + 1) as Int32Array;
  offsets[0] = 0;
  const wants: Want[] = [];
  const before = new Float64Array(1);
  let e = 0;
  let total = 0;
  spans.forEach((s, i) => {
    const w = index[i];
    const hasPrev = s.a > t.clusters[s.k].firstEntry;
    if (hasPrev) fill(store, { ...w, p1: w.p0 + 1 }, before, 0);
    const start = hasPrev ? before[0] : 0;
    const ends = hasPrev ? { ...w, p0: w.p0 + 1 } : w;
    const shift: OffsetShift = { add: total - start, prev: start, backwards: false };
    fill(store, ends, offsets, e + 1, shift);
    if (shift.backwards) {
      throw new CorruptFileError(
        t.file.source.name,
        `RNTuple "${t.name}", field "${br.name}", cluster ${s.k}: collection offsets go backwards`,
      );
    }
    e += ends.p1 - ends.p0;
    total = shift.prev + shift.add;
    if (total * plan.per > 0x7fffffff) {
      throw new InvalidInputError(
        `field "${br.name}" of RNTuple "${t.name}" holds more than 2^31 values in one chunk; read fewer entries per chunk`,
      );
    }
    wants.push({ k: s.k, set: plan.values, p0: start * plan.per, p1: shift.prev * plan.per });
  });
  return { wants, offsets };
}

/** ROOT::RNTupleCardinality: each entry's number of items, from the collection's offsets. */
function counts(br: FieldBranch, idx: Float64Array[], spans: Span[], t: RNTuple): Column {
  const n = spans.reduce((m, s) => m + s.b - s.a, 0);
  const values = allocValues(br.dtype!, n);
  let e = 0;
  spans.forEach((s, i) => {
    const v = idx[i];
    const hasPrev = s.a > t.clusters[s.k].firstEntry;
    let prev = hasPrev ? v[0] : 0;
    for (let j = hasPrev ? 1 : 0; j < v.length; j++) {
      const d = v[j] - prev;
      prev = v[j];
      if (values instanceof BigUint64Array) values[e++] = BigInt(Math.max(0, d));
      else values[e++] = Math.max(0, d);
    }
  });
  return { name: br.name, dtype: br.dtype!, shape: 'scalar', values };
}
