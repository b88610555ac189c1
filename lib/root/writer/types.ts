/**
 * Leaf type codes as ROOT spells them in a branch title (`name/F`, `Jet_pt[nJet]/F`): upper case signed,
 * lower case unsigned, `O` bool, `F`/`D` float32/float64.
 */
export type LeafType = 'O' | 'B' | 'b' | 'S' | 's' | 'I' | 'i' | 'L' | 'l' | 'F' | 'D';

/** One column chunk: one value per entry (flat) or the flattened values of all entries (jagged). */
export type Column = ArrayLike<number> | ArrayLike<bigint> | ArrayLike<boolean>;

export interface BranchOptions {
  /** name of an integer branch of the same tree, declared earlier, holding the per-entry length */
  counter?: string;
}

export interface LeafTypeInfo {
  /** ROOT class of the leaf: TLeafF, TLeafI, ... */
  leafClass: string;
  /** bytes per value on disk */
  size: number;
  unsigned: boolean;
  integer: boolean;
}

export const LEAF_TYPES: Readonly<Record<LeafType, LeafTypeInfo>> = {
  O: { leafClass: 'TLeafO', size: 1, unsigned: false, integer: true },
  B: { leafClass: 'TLeafB', size: 1, unsigned: false, integer: true },
  b: { leafClass: 'TLeafB', size: 1, unsigned: true, integer: true },
  S: { leafClass: 'TLeafS', size: 2, unsigned: false, integer: true },
  s: { leafClass: 'TLeafS', size: 2, unsigned: true, integer: true },
  I: { leafClass: 'TLeafI', size: 4, unsigned: false, integer: true },
  i: { leafClass: 'TLeafI', size: 4, unsigned: true, integer: true },
  L: { leafClass: 'TLeafL', size: 8, unsigned: false, integer: true },
  l: { leafClass: 'TLeafL', size: 8, unsigned: true, integer: true },
  F: { leafClass: 'TLeafF', size: 4, unsigned: false, integer: false },
  D: { leafClass: 'TLeafD', size: 8, unsigned: false, integer: false },
};

export function isLeafType(t: string): t is LeafType {
  return Object.hasOwn(LEAF_TYPES, t);
}

/** ROOT's boundary above which seeks need 64 bits (TFile::kStartBigFile). */
export const START_BIG_FILE = 2_000_000_000;

/** Offset of the top directory record: the file header is padded to this size (TFile::kBEGIN). */
export const BEGIN = 100;
