import { type FileHandle, open } from 'node:fs/promises';
import { basename } from 'node:path';
import { InvalidInputError } from '../../errors.js';
import { RootBuffer, tstringLength } from './buffer.js';
import { compressFrames, compressionSetting } from './compress.js';
import { datime, type KeyHeader, keyLength, newUuid, writeKeyHeader } from './key.js';
import { type RNTupleFieldSpec, type RNTupleOptions, RNTupleWriter } from './rntuple-writer.js';
import { streamerClasses, writeStreamerInfoList } from './streamers.js';
import { writeTree } from './tree-meta.js';
import { DEFAULT_BASKET_ENTRIES, type RecordSink, TreeWriter } from './tree-writer.js';
import { BEGIN, START_BIG_FILE } from './types.js';

export interface RootFileOptions {
  /** zlib level 0-9 for baskets and metadata; 0 stores everything uncompressed (default 4) */
  compression?: number;
  /** title of the file (its top directory) */
  title?: string;
  /** creation time recorded in the file (default now) */
  date?: Date;
}

export interface TreeOptions {
  title?: string;
  /** entries per basket, and so per cluster (default 8000) */
  basketEntries?: number;
}

/** The ROOT release whose file layout and class versions this writer produces (6.22/06). */
const FILE_VERSION = 62206;
/** TDirectoryFile's record after its TNamed part; small and 64-bit layouts take the same room. */
const DIRECTORY_BYTES = 60;
const OBJECTS_COMPRESSED_ABOVE = 256;

/**
 * Writes a ROOT file holding TTrees of numeric branches. Baskets go to the file as they fill; the
 * trees, streamer records, key list, free-segment list and header are written by `close`.
 *
 *   const file = await RootFileWriter.open('out.root');
 *   const tree = file.tree('Events').branch('nJet', 'I').branch('Jet_pt', 'F', { counter: 'nJet' });
 *   await tree.append({ nJet: Int32Array.of(2, 0), Jet_pt: Float32Array.of(41, 17) });
 *   await file.close();
 */
export class RootFileWriter implements RecordSink {
  readonly level: number;
  readonly compress: number;
  readonly datime: number;
  private readonly fileName: string;
  private readonly title: string;
  private readonly uuid = newUuid();
  private readonly trees: TreeWriter[] = [];
  private readonly rntuples: RNTupleWriter[] = [];
  private end: number;
  private closed = false;
  private failure: unknown;

  private constructor(
    private readonly fh: FileHandle,
    path: string,
    options: RootFileOptions,
  ) {
    this.level = options.compression ?? 4;
    this.compress = compressionSetting(this.level);
    this.datime = datime(options.date ?? new Date());
    this.fileName = basename(path);
    this.title = options.title ?? '';
    this.end = BEGIN + this.topRecordLength().nbytes;
  }

  /** Creates (or truncates) the file at `path`. */
  static async open(path: string, options: RootFileOptions = {}): Promise<RootFileWriter> {
    const level = options.compression ?? 4;
    if (!Number.isInteger(level) || level < 0 || level > 9) {
      throw new InvalidInputError(`compression level ${level} is not an integer from 0 to 9`);
    }
    const fh = await open(path, 'w');
    const w = new RootFileWriter(fh, path, options);
    // Claim the header and top directory now; close() writes their final content.
    await fh.write(new Uint8Array(w.end), 0, w.end, 0);
    return w;
  }

  /** Starts a new tree in the top directory. */
  tree(name: string, options: TreeOptions = {}): TreeWriter {
    if (this.closed) throw new InvalidInputError(`${this.fileName} is already closed`);
    if (!/^[^\s/]+$/.test(name)) throw new InvalidInputError(`"${name}" is not a usable tree name`);
    if (this.trees.some((t) => t.name === name)) {
      throw new InvalidInputError(`${this.fileName} already has a tree ${name}`);
    }
    const entries = options.basketEntries ?? DEFAULT_BASKET_ENTRIES;
    if (!Number.isInteger(entries) || entries < 1) {
      throw new InvalidInputError(`basketEntries must be a positive integer, not ${entries}`);
    }
    const t = new TreeWriter(name, options.title ?? '', entries, this);
    this.trees.push(t);
    return t;
  }

  /** Starts an RNTuple of numeric fields in the top directory (written by `close`'s end). */
  rntuple(name: string, fields: readonly RNTupleFieldSpec[], options: RNTupleOptions = {}): RNTupleWriter {
    if (this.closed) throw new InvalidInputError(`${this.fileName} is already closed`);
    if (!/^[^\s/.]+$/.test(name) || [...this.trees, ...this.rntuples].some((t) => t.name === name))
      throw new InvalidInputError(`"${name}" is not a usable, new RNTuple name`);
    const r = new RNTupleWriter(this, name, fields, options);
    this.rntuples.push(r);
    return r;
  }

  /** @internal for the tree writers: claims `bytes` at the end of the file */
  reserve(bytes: number): number {
    const at = this.end;
    this.end += bytes;
    return at;
  }

  /** @internal for the tree writers */
  async write(at: number, parts: Uint8Array[]): Promise<void> {
    try {
      await this.fh.writev(parts, at);
    } catch (err) {
      this.failure ??= err;
      throw err;
    }
  }

  /** Writes one keyed object (TKey header then the object, compressed when worth it). */
  private async writeKeyed(
    className: string,
    name: string,
    title: string,
    body: (b: RootBuffer) => void,
    compressible = true,
  ): Promise<KeyHeader> {
    const big = this.end > START_BIG_FILE;
    const keylen = keyLength(className, name, title, big);
    const b = new RootBuffer(keylen);
    body(b);
    const object = b.finish();
    const packed =
      compressible && object.length > OBJECTS_COMPRESSED_ABOVE ? compressFrames(object, this.level) : null;
    const data = packed ?? object;
    const seekKey = this.reserve(keylen + data.length);
    const key: KeyHeader = {
      nbytes: keylen + data.length,
      objlen: object.length,
      datime: this.datime,
      keylen,
      cycle: 1,
      seekKey,
      seekPdir: BEGIN,
      className,
      name,
      title,
      big,
    };
    const h = new RootBuffer(0, keylen);
    writeKeyHeader(h, key);
    await this.write(seekKey, [h.finish(), data]);
    return key;
  }

  /** Key header, name and title of the top directory record at fBEGIN. */
  private topRecordLength(): { keylen: number; nbytesName: number; nbytes: number } {
    const keylen = keyLength('TFile', this.fileName, this.title, false);
    const nbytesName = keylen + tstringLength(this.fileName) + tstringLength(this.title);
    return { keylen, nbytesName, nbytes: nbytesName + DIRECTORY_BYTES };
  }

  /** Writes every tree's last baskets and the file's metadata, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.failure) throw this.failure;
      const keys: KeyHeader[] = [];
      const leafClasses: string[] = [];
      for (const t of this.trees) {
        const meta = await t.finish();
        leafClasses.push(...t.leafClasses);
        keys.push(await this.writeKeyed('TTree', t.name, t.title, (b) => writeTree(b, meta)));
      }
      for (const r of this.rntuples) {
        const anchor = await r.finish();
        keys.push(await this.writeKeyed('ROOT::RNTuple', r.name, '', (b) => b.bytes(anchor), false));
      }
      const info = await this.writeKeyed('TList', 'StreamerInfo', 'Doubly linked list', (b) =>
        writeStreamerInfoList(b, streamerClasses(leafClasses)),
      );
      const bigKeys = this.end > START_BIG_FILE;
      const keyList = await this.writeKeyed(
        'TFile',
        this.fileName,
        this.title,
        (b) => {
          b.i32(keys.length);
          for (const k of keys) writeKeyHeader(b, k);
          if (bigKeys) b.i64(0); // ROOT reserves 8 more bytes in large files
        },
        false,
      );
      const free = await this.writeFree();
      await this.writeHeader(keyList, info, free);
    } finally {
      await this.fh.close();
    }
  }

  /** The free-segment list: one segment from the end of the file to ROOT's running limit. */
  private async writeFree(): Promise<KeyHeader> {
    const big = this.end > START_BIG_FILE;
    const keylen = keyLength('TFile', this.fileName, this.title, big);
    let objlen = 10;
    let first = 0;
    let last = 0;
    for (let pass = 0; pass < 2; pass++) {
      first = this.end + keylen + objlen;
      last = START_BIG_FILE;
      // ROOT pushes the segment's end by 1e9 bytes whenever the file outgrows it.
      while (first > last) last += 1e9;
      objlen = last > START_BIG_FILE ? 18 : 10;
    }
    return this.writeKeyed(
      'TFile',
      this.fileName,
      this.title,
      (b) => {
        if (objlen === 18) b.i16(1001).i64(first).i64(last);
        else b.i16(1).i32(first).i32(last);
      },
      false,
    );
  }

  private async writeHeader(keyList: KeyHeader, info: KeyHeader, free: KeyHeader): Promise<void> {
    const end = this.end;
    const big = end > START_BIG_FILE;
    const top = this.topRecordLength();

    const h = new RootBuffer(0, BEGIN);
    h.bytes(new TextEncoder().encode('root'))
      .i32(FILE_VERSION + (big ? 1_000_000 : 0))
      .i32(BEGIN);
    if (big) h.i64(end).i64(free.seekKey);
    else h.i32(end).i32(free.seekKey);
    h.i32(free.nbytes)
      .i32(1)
      .i32(top.nbytesName)
      .u8(big ? 8 : 4)
      .i32(this.compress);
    if (big) h.i64(info.seekKey);
    else h.i32(info.seekKey);
    h.i32(info.nbytes).bytes(this.uuid);
    h.bytes(new Uint8Array(BEGIN - h.length));

    const d = new RootBuffer(0, top.nbytes);
    writeKeyHeader(d, {
      nbytes: top.nbytes,
      objlen: top.nbytes - top.keylen,
      datime: this.datime,
      keylen: top.keylen,
      cycle: 1,
      seekKey: BEGIN,
      seekPdir: 0,
      className: 'TFile',
      name: this.fileName,
      title: this.title,
      big: false,
    });
    d.tstring(this.fileName).tstring(this.title);
    const bigDir = keyList.seekKey > START_BIG_FILE;
    d.i16(bigDir ? 1005 : 5)
      .u32(this.datime)
      .u32(this.datime)
      .i32(keyList.nbytes)
      .i32(top.nbytesName);
    if (bigDir) d.i64(BEGIN).i64(0).i64(keyList.seekKey);
    else d.i32(BEGIN).i32(0).i32(keyList.seekKey);
    d.bytes(this.uuid);
    if (!bigDir) d.bytes(new Uint8Array(12)); // room to grow into the 64-bit layout

    await this.write(0, [h.finish(), d.finish()]);
  }
}
