import { createHash } from 'node:crypto';
import { checkRanges } from './coalesce.js';
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
    checkRanges(this.name, ranges, this.bytes.length);
    return ranges.map(([offset, length]) => this.bytes.slice(offset, offset + length));
  }

  async close(): Promise<void> {}
}
