import { type JsrootFile, openFile } from 'jsroot/io';
import { MlaasError } from '../errors.js';
import type { BranchInfo } from './branch-info.js';
import { decompressRecord } from './codecs/decompress.js';
import { type ChunkPlan, type EntryBranch, type EntrySource, skippedOf } from './entry-source.js';
import {
  BranchNotFoundError,
  CorruptFileError,
  NotARootFileError,
  TreeNotFoundError,
  UnsupportedRNTupleError,
} from './errors.js';
import { type Chunk, treeChunks } from './iterate.js';
import { ByteSourceProxy } from './jsroot-proxy.js';
import { openRNTuple } from './rntuple/rntuple.js';
import { LocalSource } from './source/local.js';
import type { ByteSource } from './source/types.js';
import { describeBranches, type JTree } from './tree.js';

const ALGORITHMS: Record<number, string> = { 0: 'zlib', 1: 'zlib', 2: 'lzma', 3: 'old', 4: 'lz4', 5: 'zstd' };

/** A key's record: `nbytes` at `seek`, the object after `keylen` bytes of key, `objlen` once uncompressed. */
export interface KeyRecord {
  name: string;
  cycle: number;
  seek: number;
  nbytes: number;
  keylen: number;
  objlen: number;
}

export interface KeyInfo {
  name: string;
  className: string;
  cycle: number;
  kind: 'TTree' | 'RNTuple' | 'other';
}

/** Opens a ROOT file: a ByteSource, or a local path (remote specs go through source/open.ts first). */
export async function openRoot(source: ByteSource | string): Promise<RootFile> {
  const src = typeof source === 'string' ? new LocalSource(source) : source;
  const size = await src.size();
  const [magic] = size >= 4 ? await src.read([[0, 4]]) : [new Uint8Array(0)];
  if (String.fromCharCode(...magic) !== 'root') throw new NotARootFileError(src.name);
  const proxy = new ByteSourceProxy(src);
  const file = await guarded(src, proxy, 'the file header or key list cannot be read', () => openFile(proxy));
  return new RootFile(src, proxy, file);
}

/** Runs a jsroot call, turning its failures into our typed errors (the source's own error first). */
async function guarded<T>(
  src: ByteSource,
  proxy: ByteSourceProxy,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    if (proxy.failure) throw proxy.failure;
    if (err instanceof MlaasError) throw err;
    const why = err instanceof Error ? err.message : String(err);
    throw new CorruptFileError(src.name, `${what} (${why})`, { cause: err });
  }
  if (proxy.failure) throw proxy.failure;
  if (result === null || result === undefined || result === false) throw new CorruptFileError(src.name, what);
  return result;
}

export class RootFile {
  constructor(
    readonly source: ByteSource,
    private readonly proxy: ByteSourceProxy,
    private readonly file: JsrootFile,
  ) {}

  get name(): string {
    return this.source.name;
  }

  /** ROOT version that wrote the file, e.g. 62006 */
  get version(): number {
    return this.file.fVersion % 1000000;
  }

  /** The file's default compression, e.g. {algorithm: 'zlib', level: 4} */
  get compression(): { algorithm: string; level: number } {
    const c = this.file.fCompress;
    const level = c % 100;
    return { algorithm: level === 0 ? 'none' : (ALGORITHMS[Math.floor(c / 100)] ?? `unknown(${c})`), level };
  }

  keys(): KeyInfo[] {
    const seen = new Map<string, KeyInfo>();
    for (const k of this.file.fKeys) {
      const kind =
        k.fClassName === 'TTree' || k.fClassName === 'TNtuple' || k.fClassName === 'TNtupleD'
          ? 'TTree'
          : k.fClassName.endsWith('RNTuple')
            ? 'RNTuple'
            : 'other';
      const prev = seen.get(k.fName);
      if (!prev || prev.cycle < k.fCycle)
        seen.set(k.fName, { name: k.fName, className: k.fClassName, cycle: k.fCycle, kind });
    }
    return [...seen.values()];
  }

  treeNames(): string[] {
    return this.keys()
      .filter((k) => k.kind === 'TTree')
      .map((k) => k.name);
  }

  rntupleNames(): string[] {
    return this.keys()
      .filter((k) => k.kind === 'RNTuple')
      .map((k) => k.name);
  }

  /** A TTree or an RNTuple by name: what a workflow's `branch` and `--tree` name. */
  async entrySource(name: string): Promise<EntrySource> {
    const key = this.keys().find((k) => k.name === name);
    if (key?.kind === 'RNTuple') return openRNTuple(this, name, this.keyRecord(name, key.cycle));
    return this.tree(name);
  }

  /** Every key of the top directory (all cycles) and where its record lies. */
  keyRecords(): KeyRecord[] {
    // jsroot gives 64-bit fields of a damaged key as BigInt: numbers, checked by whoever reads them
    return this.file.fKeys.map((k) => ({
      name: k.fName,
      cycle: Number(k.fCycle),
      seek: Number(k.fSeekKey),
      nbytes: Number(k.fNbytes),
      keylen: Number(k.fKeylen),
      objlen: Number(k.fObjlen),
    }));
  }

  private keyRecord(name: string, cycle: number): KeyRecord {
    return this.keyRecords().find((k) => k.name === name && k.cycle === cycle)!;
  }

  async tree(name: string): Promise<Tree> {
    const key = this.keys().find((k) => k.name === name);
    if (key?.kind === 'RNTuple')
      throw new UnsupportedRNTupleError(this.name, name, 'it is not a TTree (read it through entrySource)');
    if (key?.kind !== 'TTree')
      throw new TreeNotFoundError(this.name, name, this.treeNames(), this.rntupleNames());
    await this.verifyRecords();
    const jkey = this.file.fKeys.find((k) => k.fName === name && k.fCycle === key.cycle);
    if (jkey) await this.verifyRecord(jkey.fSeekKey, jkey.fNbytes, `the TTree "${name}"`);
    const obj = await guarded(this.source, this.proxy, `the TTree "${name}" cannot be read`, () =>
      this.file.readObject(name, key.cycle),
    );
    const t = obj as JTree;
    if (!t.fBranches?.arr)
      throw new CorruptFileError(this.name, `the object "${name}" is not a readable TTree`);
    let branches: BranchInfo[];
    try {
      branches = describeBranches(t, this.name);
    } catch (err) {
      if (err instanceof MlaasError) throw err;
      throw new CorruptFileError(this.name, `the branches of "${name}" are damaged`, { cause: err });
    }
    return new Tree(this, t.fName, t.fTitle, Number(t.fEntries), branches);
  }

  private streamersChecked: Promise<void> | undefined;

  /** The streamer list is read by jsroot on first use; check it once like any other record. */
  private verifyRecords(): Promise<void> {
    const f = this.file as JsrootFile & { fSeekInfo?: number; fNbytesInfo?: number };
    this.streamersChecked ??=
      f.fSeekInfo && f.fNbytesInfo
        ? this.verifyRecord(f.fSeekInfo, f.fNbytesInfo, 'the streamer list')
        : Promise.resolve();
    return this.streamersChecked;
  }

  /**
   * jsroot's own inflater does not check zlib's checksum, so a damaged TTree record would be parsed
   * into garbage (and garbage lengths). Decompressing it once here with checked codecs turns such
   * damage into a CorruptFileError before jsroot sees it.
   */
  private async verifyRecord(seek: number, nbytes: number, what: string): Promise<void> {
    const [raw] = await this.source.read([[seek, nbytes]]);
    if (raw.length < 18) throw new CorruptFileError(this.name, `${what} has a truncated key`);
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const objlen = v.getInt32(6);
    const keylen = v.getInt16(14);
    if (v.getInt32(0) !== nbytes || keylen <= 0 || keylen >= nbytes || objlen < nbytes - keylen) {
      throw new CorruptFileError(this.name, `${what} has an inconsistent key`);
    }
    await decompressRecord(raw.subarray(keylen), objlen, this.name);
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}

export class Tree implements EntrySource {
  readonly kind = 'TTree';
  private readonly byName: Map<string, BranchInfo>;

  constructor(
    readonly file: RootFile,
    readonly name: string,
    readonly title: string,
    readonly entries: number,
    readonly branches: readonly BranchInfo[],
  ) {
    this.byName = new Map(branches.map((b) => [b.name, b]));
  }

  branch(name: string): BranchInfo {
    const b = this.byName.get(name);
    if (!b) throw new BranchNotFoundError(this.file.name, this.name, name, this.byName.keys());
    return b;
  }

  /** Every branch that can be read as numbers, in file order. */
  numericBranches(): BranchInfo[] {
    return this.branches.filter((b) => !b.unsupported);
  }

  /** Branches skipped by "all numeric branches", with the reason. */
  skippedBranches(): Array<{ name: string; typeName: string; reason: string }> {
    return skippedOf(this.branches);
  }

  chunks(branches: readonly EntryBranch[], plan: ChunkPlan): AsyncGenerator<Chunk> {
    // the branches came from this tree's own list (iterate selects them through branch())
    return treeChunks(this, branches as BranchInfo[], plan);
  }
}
