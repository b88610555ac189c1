import { FileProxy } from 'jsroot/io';
import type { ByteSource } from './source/types.js';

/**
 * Lets jsroot read metadata (keys, streamers, TTree objects) through our byte sources, so local,
 * HTTP and S3 files share one I/O path and one set of errors.
 */
export class ByteSourceProxy extends FileProxy {
  private fileSize = 0;
  /** the first error a read raised: jsroot may swallow rejections, the reader rethrows this one */
  failure: unknown;

  constructor(private readonly source: ByteSource) {
    super();
  }

  override async openFile(): Promise<boolean> {
    this.fileSize = await this.source.size();
    return true;
  }

  override getFileName(): string {
    return this.source.name;
  }

  override getFileSize(): number {
    return this.fileSize;
  }

  override async readBuffer(pos: number, len: number): Promise<DataView | null> {
    // a damaged file header can make jsroot ask with 64-bit (BigInt) positions: the source checks them as numbers
    const [bytes] = await this.guard(this.source.read([[Number(pos), Number(len)]]));
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  override async readBuffers(place: number[]): Promise<DataView[]> {
    const ranges: Array<[number, number]> = [];
    for (let i = 0; i < place.length; i += 2) ranges.push([Number(place[i]), Number(place[i + 1])]);
    const parts = await this.guard(this.source.read(ranges));
    return parts.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength));
  }

  override closeFile(): void {}

  private async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      this.failure ??= err;
      throw err;
    }
  }
}
