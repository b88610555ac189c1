import type { BranchShape, DType } from './types.js';

/** How the bytes of one entry are laid out in a basket. */
export type Encoding =
  | { kind: 'plain' } // big-endian values, back to back
  | { kind: 'vector' } // std::vector<T>: per entry a 10-byte header (byte count, version, size) then values
  | { kind: 'double32'; min: number; max: number; nbits: number } // Double32_t with a [min,max,nbits] range
  | { kind: 'float16'; min: number; max: number; nbits: number };

/** Where one basket lives: on disk, or embedded in the TBranch record (files not closed cleanly). */
export interface BasketRef {
  entryStart: number;
  entryStop: number;
  seek: number;
  bytes: number;
  embedded?: { data: Uint8Array; byteOffsets?: Int32Array };
}

export interface BranchInfo {
  name: string;
  title: string;
  /** the type as a physicist reads it: `float`, `int32[nJet]`, `float[3]`, `std::vector<double>` */
  typeName: string;
  /** undefined when the branch cannot be read as numbers; `unsupported` says why */
  dtype?: DType;
  unsupported?: string;
  shape: BranchShape;
  /** fixed per-entry dimensions (`x[3][2]` → [3, 2]), also the inner part of `x[n][3]` */
  inner?: number[];
  /** name of the branch that counts a jagged branch's items */
  counter?: string;
  /** on-disk size of one value */
  itemSize: number;
  encoding: Encoding;
  entries: number;
  baskets: BasketRef[];
}

interface LeafDesc {
  dtype?: DType;
  itemSize: number;
  cppName: string;
}

const LEAF_TYPES: Record<string, [DType, DType, number, string]> = {
  TLeafO: ['bool', 'bool', 1, 'bool'],
  TLeafB: ['int8', 'uint8', 1, 'int8'],
  TLeafS: ['int16', 'uint16', 2, 'int16'],
  TLeafI: ['int32', 'uint32', 4, 'int32'],
  TLeafL: ['int64', 'uint64', 8, 'int64'],
  TLeafG: ['int64', 'uint64', 8, 'long'],
  TLeafF: ['float32', 'float32', 4, 'float'],
  TLeafD: ['float64', 'float64', 8, 'double'],
};

/** C++ element names of std::vector<T> and TLeafElement types, mapped to dtypes. */
const CPP_TYPES: Record<string, DType> = {
  bool: 'bool',
  Bool_t: 'bool',
  char: 'int8',
  Char_t: 'int8',
  'unsigned char': 'uint8',
  UChar_t: 'uint8',
  short: 'int16',
  Short_t: 'int16',
  'unsigned short': 'uint16',
  UShort_t: 'uint16',
  int: 'int32',
  Int_t: 'int32',
  'unsigned int': 'uint32',
  UInt_t: 'uint32',
  long: 'int64',
  Long_t: 'int64',
  'long long': 'int64',
  Long64_t: 'int64',
  'unsigned long': 'uint64',
  'unsigned long long': 'uint64',
  ULong_t: 'uint64',
  ULong64_t: 'uint64',
  float: 'float32',
  Float_t: 'float32',
  double: 'float64',
  Double_t: 'float64',
};

export function leafDesc(typename: string, unsigned: boolean): LeafDesc | undefined {
  const t = LEAF_TYPES[typename];
  if (!t) return undefined;
  const dtype = unsigned ? t[1] : t[0];
  return { dtype, itemSize: t[2], cppName: unsigned && t[3].startsWith('int') ? `u${t[3]}` : t[3] };
}

export function cppToDType(name: string): DType | undefined {
  return CPP_TYPES[name.trim()];
}

/** Dimensions in a leaf title: `x[3][2]` → {counter: undefined, dims: [3, 2]}; `x[n][3]` → {counter: 'n', dims: [3]}. */
export function parseDims(title: string): { counter?: string; dims: number[] } {
  const name = title.split('/')[0];
  const dims: number[] = [];
  let counter: string | undefined;
  for (const m of name.matchAll(/\[([^\]]+)\]/g)) {
    const n = Number(m[1]);
    if (Number.isInteger(n)) dims.push(n);
    else counter = m[1];
  }
  return { counter, dims };
}

/** Double32_t/Float16_t range spec from a title: `x/d[0,10,12]` or `x[3]/d[-1, 1]`. */
export function parseRange(title: string): { min: number; max: number; nbits: number } | undefined {
  const m = /\[\s*([^,\]]+)\s*,\s*([^,\]]+)\s*(?:,\s*(\d+)\s*)?\]\s*$/.exec(title.split('/')[1] ?? '');
  if (!m) return undefined;
  const num = (s: string): number => {
    const v = s.replace(/pi/gi, String(Math.PI));
    // only simple arithmetic of pi appears in practice (2*pi, pi/2); anything else is rejected
    if (!/^[-+*/.\d\seE]+$/.test(v)) return Number.NaN;
    const parts = v.split(/([*/])/).map((p) => p.trim());
    let acc = Number(parts[0]);
    for (let i = 1; i + 1 < parts.length; i += 2)
      acc = parts[i] === '*' ? acc * Number(parts[i + 1]) : acc / Number(parts[i + 1]);
    return acc;
  };
  const min = num(m[1]);
  const max = num(m[2]);
  const nbits = m[3] ? Number(m[3]) : 32;
  if (!Number.isFinite(min) || !Number.isFinite(max)) return undefined;
  return { min, max, nbits };
}
