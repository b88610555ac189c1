import { createHash } from 'node:crypto';
import { CorruptFileError } from '../errors.js';
import type { ByteRange, ByteSource } from './types.js';

/** A file already in memory (an upload, a test fixture). Reads return copies the caller may modify. */
export class MemorySource implements ByteSource {
  constructor(
    readonly name: string,
    private readonly bytes: Uint8Array,
  ) {}

  async size(): Promise<number> {
    return this.bytes.length;
  }

  async fingerprint(): Promise<string> {
    return `sha256=${createHash('sha256').update(this.bytes).digest('hex')}`;
  }

  async read(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    return ranges.map(([offset, length]) => {
      if (!(offset >= 0 && length >= 0 && offset + length <= this.bytes.length)) {
        throw new CorruptFileError(
          this.name,
          `a record points to bytes ${offset}..${offset + length} beyond the file's end (${this.bytes.length} bytes)`,
        );
      }
      return this.bytes.slice(offset, offset + length);
    });
  }

  async close(): Promise<void> {}
}
