export { type RootFileOptions, RootFileWriter, type TreeOptions } from './file-writer.js';
export { DEFAULT_BASKET_ENTRIES, TreeWriter } from './tree-writer.js';
export type { BranchOptions, Column, LeafType } from './types.js';
