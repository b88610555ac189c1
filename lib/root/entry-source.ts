import type { RootFile } from './file.js';
import type { Chunk } from './iterate.js';
import type { BranchShape, DType } from './types.js';

/** One branch of a TTree or field of an RNTuple, as the layers above see it. */
export interface EntryBranch {
  readonly name: string;
  readonly title: string;
  /** the type as a physicist reads it: `float`, `int32[nJet]`, `std::vector<double>` */
  readonly typeName: string;
  /** undefined when the branch cannot be read as numbers; `unsupported` says why */
  readonly dtype?: DType;
  readonly unsupported?: string;
  readonly shape: BranchShape;
  readonly inner?: readonly number[];
  /** the branch counting a TTree jagged branch's items */
  readonly counter?: string;
}

/** Entry range and pacing of one read, already checked. */
export interface ChunkPlan {
  start: number;
  stop: number;
  step: number;
  parallel: boolean;
  readAhead: number;
}

/**
 * Entries stored by columns: a TTree or an RNTuple. The dataset layer, statistics and the command
 * line read through this interface only, so a workflow's `branch` may name either.
 */
export interface EntrySource {
  readonly kind: 'TTree' | 'RNTuple';
  readonly file: RootFile;
  readonly name: string;
  readonly title: string;
  readonly entries: number;
  readonly branches: readonly EntryBranch[];
  /** the branch of this name, or BranchNotFoundError with the nearest names */
  branch(name: string): EntryBranch;
  /** every branch that can be read as numbers, in file order */
  numericBranches(): EntryBranch[];
  /** branches skipped by "all numeric branches", with the reason */
  skippedBranches(): Array<{ name: string; typeName: string; reason: string }>;
  /** the chunks of `plan` for these branches (already selected and checked by `iterate`) */
  chunks(branches: readonly EntryBranch[], plan: ChunkPlan): AsyncGenerator<Chunk>;
}

/** The branches "all numeric branches" leaves out, with the reason (for `skippedBranches`). */
export function skippedOf(
  branches: readonly EntryBranch[],
): Array<{ name: string; typeName: string; reason: string }> {
  return branches
    .filter((b) => b.unsupported)
    .map((b) => ({ name: b.name, typeName: b.typeName, reason: b.unsupported! }));
}
