import { xxh3Sync } from '../codecs/xxhash.js';
import { CorruptFileError, UnsupportedRNTupleError } from '../errors.js';
import { Cursor } from './cursor.js';

/** A byte range in the file holding a page or an envelope. */
export interface Locator {
  offset: number;
  bytes: number;
}

export interface FieldRecord {
  id: number;
  parent: number;
  /** 0 leaf, 1 collection, 2 record, 3 variant, 4 streamer */
  role: number;
  flags: number;
  name: string;
  typeName: string;
  typeAlias: string;
  /** for repetitive fields (std::array, std::bitset): the number of items per entry */
  repetition: number;
  /** for projected fields: the field whose columns this one shows */
  source?: number;
}

export interface ColumnRecord {
  /** physical column id: position in the header's list, then the extension's */
  id: number;
  type: number;
  bits: number;
  field: number;
  representation: number;
  /** deferred columns (added while writing) hold zeros before this element */
  firstElement: number;
  min?: number;
  max?: number;
}

export interface AliasRecord {
  physical: number;
  field: number;
}

export interface Schema {
  fields: FieldRecord[];
  columns: ColumnRecord[];
  aliases: AliasRecord[];
}

export interface Header {
  name: string;
  description: string;
  writer: string;
  schema: Schema;
  checksum: bigint;
}

export interface ClusterGroup {
  minEntry: number;
  entrySpan: number;
  clusters: number;
  pageListLength: number;
  pageList: Locator;
}

export interface Footer {
  headerChecksum: bigint;
  extension: Schema;
  groups: ClusterGroup[];
}

export interface PageRef {
  elements: number;
  /** an XXH3 checksum of the stored bytes follows the page */
  checksum: boolean;
  locator: Locator;
}

export interface ColumnInCluster {
  pages: PageRef[];
  /** index of the column's first element in this cluster, counted over the whole RNTuple */
  elementOffset: number;
  /** a secondary representation, inactive in this cluster */
  suppressed: boolean;
  compression: number;
}

export interface Cluster {
  firstEntry: number;
  entries: number;
  /** by physical column id; columns added later in the file may be missing from early clusters */
  columns: ColumnInCluster[];
}

/** Envelope types of the format. */
const HEADER = 1;
const FOOTER = 2;
const PAGE_LIST = 3;
const TYPE_NAMES: Record<number, string> = { 1: 'header', 2: 'footer', 3: 'page list' };

/**
 * Checks an (uncompressed) envelope's type, length and XXH3 checksum and returns a cursor over its
 * payload. The checksum covers everything but itself.
 */
export function openEnvelope(bytes: Uint8Array, type: number, source: string, where: string): Cursor {
  const what = `${where}: ${TYPE_NAMES[type]} envelope`;
  const bad = (why: string): never => {
    throw new CorruptFileError(source, `${what} ${why}`);
  };
  if (bytes.length < 16) bad('is shorter than its preamble and checksum');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = v.getBigUint64(0, true);
  const id = Number(first & 0xffffn);
  const length = Number(first >> 16n);
  if (id !== type) bad(`has type ${id}, expected ${type}`);
  if (length !== bytes.length) bad(`says it is ${length} bytes long, but ${bytes.length} were read`);
  const expected = v.getBigUint64(bytes.length - 8, true);
  const actual = xxh3Sync(bytes.subarray(0, bytes.length - 8));
  if (actual === undefined) throw new Error('XXH3 is not loaded');
  if (actual !== expected) bad('fails its checksum');
  return new Cursor(bytes, 8, bytes.length - 8, source, what);
}

/** Feature flags: any bit set names a format feature newer than this reader (bit 63 says more words follow). */
function featureFlags(c: Cursor): bigint {
  let flags = 0n;
  for (let i = 0; i < 64; i++) {
    const word = c.i64big();
    flags |= BigInt.asUintN(63, word) << BigInt(63 * i);
    if (word >= 0n) return flags;
  }
  return c.fail('feature flags never end');
}

function fieldRecord(c: Cursor, id: number): FieldRecord {
  c.u32(); // field version
  c.u32(); // type version
  const parent = c.u32();
  const role = c.u16();
  const flags = c.u16();
  const name = c.string();
  const typeName = c.string();
  const typeAlias = c.string();
  c.string(); // description
  const repetition = flags & 0x01 ? c.u64('array size') : 0;
  const source = flags & 0x02 ? c.u32() : undefined;
  return { id, parent, role, flags, name, typeName, typeAlias, repetition, source };
}

function columnRecord(c: Cursor, id: number): ColumnRecord {
  const type = c.u16();
  const bits = c.u16();
  const field = c.u32();
  const flags = c.u16();
  const representation = c.u16();
  let firstElement = 0;
  if (flags & 0x01) {
    // negative: deferred and suppressed; the absolute value is still where its elements start
    firstElement = Math.abs(c.i64('first element index'));
  }
  const col: ColumnRecord = { id, type, bits, field, representation, firstElement };
  if (flags & 0x02) {
    col.min = c.f64();
    col.max = c.f64();
  }
  return col;
}

/** The four lists of a schema description; ids continue from `base`. */
function schemaLists(c: Cursor, base: Schema): Schema {
  const out: Schema = { fields: [], columns: [], aliases: [] };
  const fields = c.list(8);
  for (let i = 0; i < fields.count; i++)
    out.fields.push(fieldRecord(fields.items.record(), base.fields.length + i));
  const columns = c.list(8);
  for (let i = 0; i < columns.count; i++)
    out.columns.push(columnRecord(columns.items.record(), base.columns.length + i));
  const aliases = c.list(8);
  for (let i = 0; i < aliases.count; i++) {
    const a = aliases.items.record();
    out.aliases.push({ physical: a.u32(), field: a.u32() });
  }
  c.list(8); // extra type information: streamer infos of unsplit classes, which we do not read
  return out;
}

/** Any feature flag names a format feature newer than this reader: refused rather than misread. */
function refuseFeatures(flags: bigint, source: string, name: string): void {
  if (flags) {
    throw new UnsupportedRNTupleError(
      source,
      name,
      `it uses format features newer than this reader (feature flags 0x${flags.toString(16)})`,
    );
  }
}

export function parseHeader(bytes: Uint8Array, source: string, name: string): Header {
  const c = openEnvelope(bytes, HEADER, source, `RNTuple "${name}"`);
  refuseFeatures(featureFlags(c), source, name);
  c.string(); // the name again: the anchor's key names it already
  const description = c.string();
  const writer = c.string();
  const schema = schemaLists(c, { fields: [], columns: [], aliases: [] });
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { name, description, writer, schema, checksum: v.getBigUint64(bytes.length - 8, true) };
}

function locator(c: Cursor): Locator {
  const size = c.i32();
  if (size >= 0) return { bytes: size, offset: c.u64('page offset') };
  const type = (-size >>> 24) & 0x7f;
  if (type !== 1) c.fail(`a locator of unknown type ${type}`);
  const bytes = c.u64('page size');
  return { bytes, offset: c.u64('page offset') };
}

export function parseFooter(bytes: Uint8Array, header: Header, source: string, name: string): Footer {
  const c = openEnvelope(bytes, FOOTER, source, `RNTuple "${name}"`);
  refuseFeatures(featureFlags(c), source, name);
  const headerChecksum = c.u64big();
  if (headerChecksum !== header.checksum) c.fail('belongs to another header (checksums differ)');
  const ext = c.record();
  const extension =
    ext.remaining > 0 ? schemaLists(ext, header.schema) : { fields: [], columns: [], aliases: [] };
  const groups: ClusterGroup[] = [];
  const list = c.list(8);
  for (let i = 0; i < list.count; i++) {
    const g = list.items.record();
    const minEntry = g.u64('first entry');
    const entrySpan = g.u64('entry span');
    const clusters = g.u32();
    const pageListLength = g.u64('page list length');
    groups.push({ minEntry, entrySpan, clusters, pageListLength, pageList: locator(g) });
  }
  return { headerChecksum, extension, groups };
}

/** The clusters of one cluster group, with where each column's pages are. */
export function parsePageList(
  bytes: Uint8Array,
  header: Header,
  columnCount: number,
  source: string,
  where: string,
): Cluster[] {
  const c = openEnvelope(bytes, PAGE_LIST, source, where);
  if (c.u64big() !== header.checksum) c.fail('belongs to another header (checksums differ)');
  const summaries = c.list(8);
  const clusters: Cluster[] = [];
  for (let i = 0; i < summaries.count; i++) {
    const s = summaries.items.record();
    const firstEntry = s.u64('first entry');
    const word = s.u64big();
    if (word >> 56n) s.fail('a sharded cluster, which this reader does not support');
    clusters.push({ firstEntry, entries: Number(word & 0xffffffffffffffn), columns: [] });
  }
  const perCluster = c.list(12);
  if (perCluster.count !== clusters.length)
    c.fail(`${perCluster.count} page lists for ${clusters.length} clusters`);
  for (const cluster of clusters) {
    const cols = perCluster.items.list(20);
    if (cols.count > columnCount)
      cols.items.fail(`pages for ${cols.count} columns, the schema has ${columnCount}`);
    for (let k = 0; k < cols.count; k++) {
      const pl = cols.items.list(16);
      const pages: PageRef[] = [];
      for (let p = 0; p < pl.count; p++) {
        const n = pl.items.i32();
        pages.push({ elements: Math.abs(n), checksum: n < 0, locator: locator(pl.items) });
      }
      // suppressed columns write the lowest int64 (any negative value counts)
      const raw = pl.items.i64big();
      const suppressed = raw < 0n;
      if (raw > BigInt(Number.MAX_SAFE_INTEGER)) pl.items.fail(`element offset ${raw} is impossibly large`);
      const elementOffset = suppressed ? 0 : Number(raw);
      const compression = suppressed ? 0 : pl.items.u32();
      if (suppressed && pages.length) pl.items.fail('a suppressed column has pages');
      cluster.columns.push({ pages, elementOffset, suppressed, compression });
    }
  }
  return clusters;
}
