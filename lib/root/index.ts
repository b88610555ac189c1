import { openRoot as openFromSource, type RootFile } from './file.js';
import { type OpenSourceOptions, openSource } from './source/open.js';
import type { ByteSource } from './source/types.js';

export type { BranchInfo } from './branch-info.js';
export type { EntryBranch, EntrySource } from './entry-source.js';
export * from './errors.js';
export { type KeyInfo, RootFile, Tree } from './file.js';
export { type Chunk, type IterateOptions, iterate, readColumns, selectBranches } from './iterate.js';
export { RNTuple } from './rntuple/rntuple.js';
export type { ByteSource } from './source/types.js';
export {
  type BranchStats,
  jsonNumber,
  parseStatsJson,
  statsToJson,
  type TreeStats,
  treeStats,
} from './stats.js';
export type { Column, DType, TypedValues } from './types.js';

/** Opens a ROOT file from a local path, an http(s) or root(s) URL, or s3://bucket/key (or an existing byte source). */
export function openRoot(spec: string | ByteSource, options?: OpenSourceOptions): Promise<RootFile> {
  return openFromSource(typeof spec === 'string' ? openSource(spec, options) : spec);
}
