import { decompressRecord } from '../codecs/decompress.js';
import { loadXxh3, loadXxhash, xxh3Sync } from '../codecs/xxhash.js';
import { type ChunkPlan, type EntryBranch, type EntrySource, skippedOf } from '../entry-source.js';
import { BranchNotFoundError, CorruptFileError, UnsupportedRNTupleError } from '../errors.js';
import type { KeyRecord, RootFile } from '../file.js';
import type { Chunk } from '../iterate.js';
import { ReadBuffers } from './buffer-pool.js';
import {
  type Cluster,
  type Footer,
  type Header,
  type Locator,
  parseFooter,
  parseHeader,
  parsePageList,
  type Schema,
} from './envelopes.js';
import { describeFields, type FieldBranch } from './fields.js';
import { rntupleChunks } from './read.js';

/** Largest header, footer or page list envelope read (uncompressed); real ones are kilobytes. */
export const MAX_ENVELOPE = 256 * 1024 * 1024;

/** The RNTuple anchor: format version and where the header and footer envelopes are. */
export interface Anchor {
  version: [number, number, number, number];
  header: Locator & { length: number };
  footer: Locator & { length: number };
}

/** Reads and checks the anchor object (big-endian, streamed like any TFile object). */
async function readAnchor(file: RootFile, name: string, key: KeyRecord): Promise<Anchor> {
  const source = file.source.name;
  const bad = (why: string): never => {
    throw new CorruptFileError(source, `the anchor of RNTuple "${name}" ${why}`);
  };
  if (key.keylen <= 0 || key.keylen >= key.nbytes || key.objlen > 4096) bad('has an impossible key');
  const [raw] = await file.source.read([[key.seek, key.nbytes]]);
  const obj = await decompressRecord(raw.subarray(key.keylen), key.objlen, source);
  // byte count and class version, then 4 × 16-bit version, 7 × 64-bit fields, the XXH3 checksum
  if (obj.length < 6 + 64 + 8) bad('is truncated');
  const v = new DataView(obj.buffer, obj.byteOffset, obj.byteLength);
  const fields = obj.subarray(6, 6 + 64);
  const sum = xxh3Sync(fields);
  if (sum !== v.getBigUint64(6 + 64, false)) bad('fails its checksum');
  const u64 = (at: number): number => {
    const x = v.getBigUint64(6 + at, false);
    if (x > BigInt(Number.MAX_SAFE_INTEGER)) bad('holds an impossible size or offset');
    return Number(x);
  };
  const version: Anchor['version'] = [0, 2, 4, 6].map((o) => v.getUint16(6 + o, false)) as Anchor['version'];
  if (version[0] !== 1) {
    throw new UnsupportedRNTupleError(
      source,
      name,
      `it was written in RNTuple format ${version.join('.')}; this reader understands format 1.x (ROOT 6.34 and later)`,
    );
  }
  return {
    version,
    header: { offset: u64(8), bytes: u64(16), length: u64(24) },
    footer: { offset: u64(32), bytes: u64(40), length: u64(48) },
  };
}

/** Reads one envelope and undoes its compression (sizes checked before anything is allocated). */
async function readEnvelope(file: RootFile, loc: Locator, length: number, what: string): Promise<Uint8Array> {
  const source = file.source.name;
  if (length > MAX_ENVELOPE || loc.bytes > length || length < 16) {
    throw new CorruptFileError(source, `${what} claims ${length} bytes (${loc.bytes} stored)`);
  }
  const [raw] = await file.source.read([[loc.offset, loc.bytes]]);
  return decompressRecord(raw, length, source);
}

/** Opens an RNTuple: anchor, header, footer and every page list, all checked. */
export async function openRNTuple(file: RootFile, name: string, key: KeyRecord): Promise<RNTuple> {
  await Promise.all([loadXxh3(), loadXxhash()]);
  const where = `RNTuple "${name}"`;
  const anchor = await readAnchor(file, name, key);
  const header = parseHeader(
    await readEnvelope(file, anchor.header, anchor.header.length, `the header of ${where}`),
    file.source.name,
    name,
  );
  const footer = parseFooter(
    await readEnvelope(file, anchor.footer, anchor.footer.length, `the footer of ${where}`),
    header,
    file.source.name,
    name,
  );
  const schema: Schema = {
    fields: [...header.schema.fields, ...footer.extension.fields],
    columns: [...header.schema.columns, ...footer.extension.columns],
    aliases: [...header.schema.aliases, ...footer.extension.aliases],
  };
  const clusters = await readClusters(file, where, header, footer, schema.columns.length);
  checkSchema(schema, file.source.name, where);
  return new RNTuple(file, name, header.description, { anchor, header, footer }, clusters, schema);
}

async function readClusters(
  file: RootFile,
  where: string,
  header: Header,
  footer: Footer,
  columns: number,
): Promise<Cluster[]> {
  const source = file.source.name;
  const lists = await Promise.all(
    footer.groups.map(async (g, i) => {
      const bytes = await readEnvelope(file, g.pageList, g.pageListLength, `page list ${i} of ${where}`);
      const clusters = parsePageList(bytes, header, columns, source, `${where}, cluster group ${i}`);
      if (clusters.length !== g.clusters) {
        throw new CorruptFileError(
          source,
          `${where}: cluster group ${i} says it has ${g.clusters} clusters, its page list ${clusters.length}`,
        );
      }
      return clusters;
    }),
  );
  const all = lists.flat().sort((a, b) => a.firstEntry - b.firstEntry);
  let next = 0;
  for (const c of all) {
    if (c.firstEntry !== next) {
      throw new CorruptFileError(
        source,
        `${where}: its clusters do not cover entries ${next}..${c.firstEntry}`,
      );
    }
    next += c.entries;
  }
  return all;
}

/** Field parents and column fields must point at fields that exist. */
function checkSchema(schema: Schema, source: string, where: string): void {
  const n = schema.fields.length;
  for (const f of schema.fields) {
    if (f.parent >= n || (f.source !== undefined && f.source >= n)) {
      throw new CorruptFileError(source, `${where}: field "${f.name}" refers to a field that does not exist`);
    }
  }
  for (const c of [...schema.columns, ...schema.aliases]) {
    if (c.field >= n) throw new CorruptFileError(source, `${where}: a column belongs to no field`);
  }
}

export class RNTuple implements EntrySource {
  readonly kind = 'RNTuple';
  readonly entries: number;
  readonly branches: readonly FieldBranch[];
  private readonly byName: Map<string, FieldBranch>;
  /**
   * Read buffers recycled by every pass over this RNTuple (epochs, repeated reads): the 4 largest,
   * 64 MiB at most, stay allocated while it is open
   */
  readonly readBuffers = new ReadBuffers(4, 64 * 1024 * 1024);

  constructor(
    readonly file: RootFile,
    readonly name: string,
    readonly title: string,
    /** the metadata envelopes as read */
    readonly meta: { anchor: Anchor; header: Header; footer: Footer },
    readonly clusters: readonly Cluster[],
    readonly schema: Schema,
  ) {
    this.entries = clusters.reduce((n, c) => n + c.entries, 0);
    this.branches = describeFields(schema);
    this.byName = new Map(this.branches.map((b) => [b.name, b]));
  }

  /** The writer, e.g. "ROOT v6.34.00" */
  get writer(): string {
    return this.meta.header.writer;
  }

  /** The format version the file was written in, e.g. [1, 0, 0, 0] */
  get version(): readonly number[] {
    return this.meta.anchor.version;
  }

  branch(name: string): FieldBranch {
    const b = this.byName.get(name);
    if (!b) throw new BranchNotFoundError(this.file.name, this.name, name, this.byName.keys());
    return b;
  }

  numericBranches(): FieldBranch[] {
    return this.branches.filter((b) => !b.unsupported && !hidden(b.name));
  }

  skippedBranches(): Array<{ name: string; typeName: string; reason: string }> {
    return skippedOf(this.branches);
  }

  chunks(branches: readonly EntryBranch[], plan: ChunkPlan): AsyncGenerator<Chunk> {
    return rntupleChunks(this, branches as FieldBranch[], plan);
  }
}

/**
 * Top-level fields whose names start with "_" are ROOT's own (the importer's `_collection0` holds
 * what its projected fields `nMuon`, `Muon_pt`, ... show): readable by name, not read by default.
 */
export function hidden(name: string): boolean {
  return name.startsWith('_');
}
