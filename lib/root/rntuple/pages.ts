import { decompressFramesSync, decompressMany, decompressRecord, joinParts } from '../codecs/decompress.js';
import { xxh3MatchesLE } from '../codecs/xxhash.js';
import { CorruptFileError } from '../errors.js';
import type { TypedValues } from '../types.js';
import type { ReadBuffers } from './buffer-pool.js';
import { type ColumnType, copiesInto, copyElements, decodePage, pageBytes } from './columns.js';
import type { Cluster, ColumnInCluster, ColumnRecord } from './envelopes.js';
import type { ColumnSet } from './fields.js';
import { copiesIndex, copyIndex, type OffsetShift, shiftInto } from './index-columns.js';
import { type Lazy, LazyPages, type Page } from './lazy-pages.js';

/** Largest page read, uncompressed (ROOT writes pages of at most 1 MiB by default). */
export const MAX_PAGE = 64 * 1024 * 1024;
/** Most elements in one page (a page of bits or 1-bit quantized floats is the densest). */
export const MAX_PAGE_ELEMENTS = 1 << 26;

/** The representation of a field that holds its data in one cluster. */
export interface Active {
  col: ColumnRecord;
  type: ColumnType;
  info: ColumnInCluster;
  /** element index where each page starts, relative to the cluster's first element; last = total */
  starts: number[];
}

/** Elements [p0, p1) of a field's column in cluster k, positions counted from the column's first page. */
export interface Want {
  k: number;
  set: ColumnSet;
  /** negative positions lie before a deferred column's first element: they read as zeros */
  p0: number;
  p1: number;
}

/**
 * Decoded pages of the clusters being read. A chunk asks for element ranges, `load` fetches and
 * decodes the pages they need in one read (neighbouring pages merged by the byte source), `copy`
 * puts the elements where the chunk wants them, and `retire` forgets every page the next chunk
 * cannot need: memory follows the chunk, not the cluster.
 */
export class PageStore {
  /** pages by cluster:column:page */
  private readonly decoded = new Map<string, Page>();
  /** pages being fetched and decompressed (a chunk read ahead), so no page is fetched twice */
  private readonly loading = new Map<string, Promise<void>>();
  /** per cluster and physical column: the furthest element the current chunk used */
  private readonly reach = new Map<string, number>();
  private readonly actives = new WeakMap<ColumnSet, Array<Active | null | undefined>>();
  /** single-threaded: zlib pages inflated when copied, into recycled buffers */
  private readonly lazy: LazyPages;
  constructor(
    private readonly clusters: readonly Cluster[],
    private readonly source: {
      name: string;
      read(
        r: ReadonlyArray<readonly [number, number]>,
        alloc?: (bytes: number) => Uint8Array,
      ): Promise<Uint8Array[]>;
      freshBuffers?: boolean;
    },
    private readonly where: string,
    private readonly parallel: boolean,
    /** where read buffers whose pages are all inflated or copied go, for the next reads */
    private readonly buffers: ReadBuffers,
  ) {
    this.lazy = new LazyPages(source.name, (b) => buffers.give(b));
  }

  private error(field: string, k: number, why: string): CorruptFileError {
    return new CorruptFileError(this.source.name, `${this.where}, field "${field}", cluster ${k}: ${why}`);
  }

  private fail(field: string, k: number, why: string): never {
    throw this.error(field, k, why);
  }

  /** The column representation active in cluster k, or null when the column has no data there (zeros). */
  active(k: number, set: ColumnSet): Active | null {
    let list = this.actives.get(set);
    if (!list) {
      list = [];
      this.actives.set(set, list);
    }
    const known = list[k];
    if (known !== undefined) return known;
    const cluster = this.clusters[k];
    let found: Active | null = null;
    let present = false;
    set.reps.forEach((cols, r) => {
      const col = cols[0];
      const info = cluster.columns[col.id];
      if (!info) return;
      present = true;
      if (info.suppressed || found) return;
      const starts = [0];
      for (const p of info.pages) starts.push(starts[starts.length - 1] + p.elements);
      found = { col, type: set.types[r][0], info, starts };
    });
    if (present && !found) this.fail(set.field, k, 'every representation of its column is suppressed');
    list[k] = found;
    return found;
  }

  /** Elements the active column holds in cluster k. */
  size(k: number, set: ColumnSet): number {
    const a = this.active(k, set);
    return a ? a.starts[a.starts.length - 1] : 0;
  }

  private pagesOf(w: Want, a: Active): number[] {
    const out: number[] = [];
    const from = Math.max(0, w.p0);
    if (w.p1 <= from) return out;
    if (w.p1 > a.starts[a.starts.length - 1]) {
      this.fail(
        w.set.field,
        w.k,
        `needs element ${w.p1 - 1} but its pages hold ${a.starts[a.starts.length - 1]}`,
      );
    }
    for (let p = 0; p < a.info.pages.length; p++)
      if (a.starts[p + 1] > from && a.starts[p] < w.p1) out.push(p);
    return out;
  }

  /** Fetches and decompresses every page these ranges need that is not there yet (or on its way). */
  async load(wants: readonly Want[]): Promise<void> {
    const todo: Array<{ key: string; k: number; a: Active; p: number; field: string }> = [];
    const waits = new Set<Promise<void>>();
    const seen = new Set<string>();
    for (const w of wants) {
      const a = this.active(w.k, w.set);
      if (!a) continue;
      for (const p of this.pagesOf(w, a)) {
        const key = `${w.k}:${a.col.id}:${p}`;
        const pending = this.loading.get(key);
        if (pending) waits.add(pending);
        else if (!this.decoded.has(key) && !seen.has(key)) {
          seen.add(key);
          todo.push({ key, k: w.k, a, p, field: w.set.field });
        }
      }
    }
    if (todo.length) {
      const done = this.fetch(todo).finally(() => {
        for (const t of todo) this.loading.delete(t.key);
      });
      for (const t of todo) this.loading.set(t.key, done);
      waits.add(done);
    }
    await Promise.all(waits);
  }

  private async fetch(
    todo: Array<{ key: string; k: number; a: Active; p: number; field: string }>,
  ): Promise<void> {
    const sizes = todo.map(({ a, p, k, field }) => {
      const page = a.info.pages[p];
      const n = pageBytes(a.type, a.col.bits, page.elements);
      if (n > MAX_PAGE || page.elements > MAX_PAGE_ELEMENTS)
        this.fail(field, k, `a page claims ${page.elements} elements in ${n} bytes (at most ${MAX_PAGE})`);
      return n;
    });
    const lent: ArrayBuffer[] = [];
    const raws = await this.source.read(
      todo.map(({ a, p }) => {
        const l = a.info.pages[p].locator;
        return [l.offset, l.bytes + (a.info.pages[p].checksum ? 8 : 0)] as const;
      }),
      (n) => this.lend(n, lent),
    );
    let bytes: Uint8Array[];
    let stored: Uint8Array[];
    const pooled = new Set<number>();
    const lazy: Array<Lazy | undefined> = [];
    if (this.parallel) {
      stored = raws.map((raw, i) => this.verified(raw, todo[i]));
      try {
        bytes = await decompressMany(stored, sizes, this.source.name, true);
      } catch (err) {
        throw this.undecodable(todo, err);
      }
    } else {
      // zlib pages are inflated when their elements are copied (see Page.lazy); others page by
      // page, each right after its checksum while its bytes are still in the cache
      stored = [];
      bytes = [];
      for (let i = 0; i < raws.length; i++) {
        // a zlib page's checksum is checked when it is inflated, from the bytes just checked
        const { a, p, k, field } = todo[i];
        const page = a.info.pages[p];
        const end = page.locator.bytes;
        const check = page.checksum
          ? {
              sum: raws[i].subarray(end, end + 8),
              corrupt: () => this.error(field, k, `page ${p} fails its checksum`),
            }
          : undefined;
        lazy[i] = this.lazy.defer(check ? raws[i].subarray(0, end) : raws[i], sizes[i], lent, check);
        if (lazy[i]) {
          stored.push(lazy[i]!.body);
          bytes.push(lazy[i]!.body);
          continue;
        }
        const body = this.verified(raws[i], todo[i]);
        stored.push(body);
        try {
          const parts = decompressFramesSync(body, sizes[i], this.source.name);
          bytes.push(
            parts
              ? joinParts(parts, sizes[i])
              : await decompressRecord(body, sizes[i], this.source.name, false),
          );
        } catch (err) {
          throw this.undecodable([todo[i]], err);
        }
      }
    }
    todo.forEach(({ key, a, p }, i) => {
      if (lazy[i]) {
        this.decoded.set(key, { end: a.starts[p + 1], pooled: false, lazy: lazy[i] });
        return;
      }
      // pages stored uncompressed are views of the read buffer: keep a copy unless it is fresh
      // (a lent buffer is not: it is read into again)
      const owned = bytes[i] !== stored[i] || (lent.length === 0 && this.source.freshBuffers === true);
      let page = bytes[i];
      if (!owned) {
        page = this.lazy.copy(page);
        pooled.add(i);
      }
      this.decoded.set(key, { bytes: page, end: a.starts[p + 1], pooled: pooled.has(i) });
    });
    // read buffers no lazy page lies in: every page of theirs was inflated or copied
    for (const b of lent) if (!this.lazy.holding(b)) this.buffers.give(b);
  }

  /** A read buffer of n bytes, recorded in `lent`. */
  private lend(n: number, lent: ArrayBuffer[]): Uint8Array {
    const buf = this.buffers.take(n);
    lent.push(buf);
    return new Uint8Array(buf, 0, n);
  }

  private undecodable(todo: ReadonlyArray<{ field: string }>, err: unknown): CorruptFileError {
    const fields = [...new Set(todo.map((t) => `"${t.field}"`))].join(', ');
    const why = err instanceof Error ? err.message : String(err);
    return new CorruptFileError(this.source.name, `${this.where}, a page of ${fields}: ${why}`, {
      cause: err,
    });
  }

  /** The page's stored bytes once its checksum (when it has one) matches. */
  private verified(raw: Uint8Array, { a, p, k, field }: { a: Active; p: number; k: number; field: string }) {
    const page = a.info.pages[p];
    if (!page.checksum) return raw;
    const body = raw.subarray(0, page.locator.bytes);
    const stored = raw.subarray(page.locator.bytes, page.locator.bytes + 8);
    if (!xxh3MatchesLE(body, stored)) throw this.error(field, k, `page ${p} fails its checksum`);
    return body;
  }

  /**
   * Writes the elements of a range (loaded before) into out[at ..]: straight from the page bytes
   * when the column's type is the field's, else decoded and converted by `put`. Positions before
   * the column's first element are left to the caller (zeros). With `shift`, `out` receives a
   * collection's offsets from its index column (see OffsetShift).
   */
  copy(
    w: Want,
    out: TypedValues,
    at: number,
    put: (out: TypedValues, at: number, values: TypedValues, from: number, to: number) => void,
    shift?: OffsetShift,
  ): void {
    const a = this.active(w.k, w.set);
    if (!a) return;
    const reachKey = `${w.k}:${a.col.id}`;
    this.reach.set(reachKey, Math.max(this.reach.get(reachKey) ?? 0, w.p1));
    const direct = copiesInto(a.type, out);
    // an Int32Array takes index values only as offsets
    const index = copiesIndex(a.type, out) && (shift !== undefined || out instanceof Float64Array);
    for (const p of this.pagesOf(w, a)) {
      const page = this.decoded.get(`${w.k}:${a.col.id}:${p}`)!;
      const n = a.info.pages[p].elements;
      const from = Math.max(w.p0, a.starts[p]) - a.starts[p];
      const to = Math.min(w.p1, a.starts[p + 1]) - a.starts[p];
      const pos = at + a.starts[p] + from - w.p0;
      // a page copied whole, straight into `out`, is not needed again: inflated into the scratch
      const whole = (direct || index) && from === 0 && to === n;
      const simd = a.type.split && (a.type.size === 4 || a.type.size === 8);
      const bytes = this.lazy.bytesOf(page, whole, simd, (err) => this.undecodable([w.set], err));
      if (direct && bytes.length >= n * a.type.size) {
        copyElements(bytes, n, a.type, from, to, out, pos);
        continue;
      }
      if (index && bytes.length >= n * a.type.size) {
        copyIndex(bytes, n, a.type, from, to, out, pos, shift);
        continue;
      }
      try {
        page.values ??= decodePage(bytes, n, a.type, a.col, true);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        this.fail(w.set.field, w.k, `page ${p} cannot be decoded (${why})`);
      }
      if (shift) shiftInto(page.values as Float64Array, from, to, out as Int32Array, pos, shift);
      else put(out, pos, page.values, from, to);
    }
  }

  /**
   * Forgets the pages this chunk used up: the next one starts where it ended. Pages it did not
   * touch were read ahead for the next chunk and stay.
   */
  retire(): void {
    for (const [key, page] of this.decoded) {
      const reach = this.reach.get(key.slice(0, key.lastIndexOf(':')));
      if (reach !== undefined && page.end <= reach) {
        this.decoded.delete(key);
        this.lazy.retired(page);
      }
    }
    this.reach.clear();
  }
}
