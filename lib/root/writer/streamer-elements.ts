/** Streamer elements: how each data member of a class is described in a TStreamerInfo. */

export type Element =
  | { kind: 'base'; name: string; title: string; type: number; checksum: number; version: number }
  | { kind: 'basic'; name: string; title: string; type: number; typeName: string }
  | { kind: 'string'; name: string; title: string }
  | { kind: 'object' | 'pointer'; name: string; title: string; typeName: string }
  | { kind: 'any'; name: string; title: string; typeName: string; size: number }
  | { kind: 'basicPointer'; name: string; title: string; type: number; typeName: string; count: Counter }
  | { kind: 'stl'; name: string; title: string; typeName: string; stlType: number; ctype: number };

export interface Counter {
  name: string;
  className: string;
  version: number;
}

export interface ClassInfo {
  version: number;
  checksum: number;
  elements: () => Element[];
}

/** TStreamerElement fType codes (TVirtualStreamerInfo::EReadWrite) used below. */
export const T = {
  char: 1,
  short: 2,
  int: 3,
  float: 5,
  counter: 6,
  double: 8,
  uchar: 11,
  uint: 13,
  bits: 15,
  long64: 16,
  bool: 18,
  offsetP: 40,
  base: 0,
  object: 61,
  any: 62,
  pointer: 64,
  string: 65,
  tobject: 66,
  tnamed: 67,
  stl: 500,
} as const;

const BASIC_SIZE: Record<number, number> = {
  1: 1,
  2: 2,
  3: 4,
  5: 4,
  6: 4,
  8: 8,
  11: 1,
  13: 4,
  15: 4,
  16: 8,
  18: 1,
};

export const CHECKSUM = {
  TObject: 2417737773,
  TNamed: 3753331260,
  TCollection: 1474546588,
  TSeqCollection: 4234951622,
  TAttLine: 2483504457,
  TAttFill: 4292422290,
  TAttMarker: 689802220,
  TBranch: 278366892,
  TLeaf: 1830715730,
};

// Factories, not constants: every TStreamerInfo must own distinct element objects, or the buffer
// would write a reference to another record's element instead of a copy.
export const base = (name: keyof typeof CHECKSUM, title: string, version: number): Element => ({
  kind: 'base',
  name,
  title,
  type: name === 'TObject' ? T.tobject : name === 'TNamed' ? T.tnamed : T.base,
  checksum: CHECKSUM[name],
  version,
});
export const basic = (name: string, title: string, type: number, typeName: string): Element => ({
  kind: 'basic',
  name,
  title,
  type,
  typeName,
});
export const str = (name: string, title: string): Element => ({ kind: 'string', name, title });
export const obj = (name: string, title: string, typeName: string): Element => ({
  kind: 'object',
  name,
  title,
  typeName,
});
export const ptr = (name: string, title: string, typeName: string): Element => ({
  kind: 'pointer',
  name,
  title,
  typeName,
});
export const any = (name: string, title: string, typeName: string, size: number): Element => ({
  kind: 'any',
  name,
  title,
  typeName,
  size,
});
export const counted = (
  name: string,
  what: string,
  type: number,
  typeName: string,
  count: Counter,
): Element => ({
  kind: 'basicPointer',
  name,
  title: `[${count.name}] ${what}`,
  type: T.offsetP + type,
  typeName,
  count,
});

export const l64 = (name: string, title: string) => basic(name, title, T.long64, 'Long64_t');
export const i32 = (name: string, title: string) => basic(name, title, T.int, 'int');
export const short = (name: string, title: string) => basic(name, title, T.short, 'short');
export const maxBaskets: Counter = { name: 'fMaxBaskets', className: 'TBranch', version: 13 };
export const clusterRanges: Counter = { name: 'fNClusterRange', className: 'TTree', version: 20 };

export const leafRange = (type: number, typeName: string) => (): Element[] => [
  base('TLeaf', 'leaf base', 2),
  basic('fMinimum', 'smallest value when a range is set', type, typeName),
  basic('fMaximum', 'largest value when a range is set', type, typeName),
];

export function elementShape(e: Element): { type: number; size: number; typeName: string } {
  switch (e.kind) {
    case 'base':
      return { type: e.type, size: 0, typeName: 'BASE' };
    case 'basic':
      return { type: e.type, size: BASIC_SIZE[e.type], typeName: e.typeName };
    case 'string':
      return { type: T.string, size: 24, typeName: 'TString' };
    case 'object':
      return { type: T.object, size: 64, typeName: e.typeName };
    case 'pointer':
      return { type: T.pointer, size: 8, typeName: e.typeName };
    case 'any':
      return { type: T.any, size: e.size, typeName: e.typeName };
    case 'basicPointer':
      return { type: e.type, size: 8, typeName: e.typeName };
    case 'stl':
      return { type: T.stl, size: 24, typeName: e.typeName };
  }
}
