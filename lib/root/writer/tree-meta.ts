import type { RootBuffer } from './buffer.js';
import { LEAF_TYPES, type LeafType } from './types.js';

/** What a TLeaf records; `counter` is the leaf holding the per-entry length of a jagged leaf. */
export interface LeafMeta {
  name: string;
  title: string;
  type: LeafType;
  counter: LeafMeta | null;
  /** set on counter leaves, whose fMaximum ROOT uses to size its read buffers */
  isRange: boolean;
  maximum: number;
}

/** What a TBranch with one leaf records, baskets included. */
export interface BranchMeta {
  name: string;
  title: string;
  compress: number;
  basketSize: number;
  entryOffsetLen: number;
  entries: number;
  totBytes: number;
  zipBytes: number;
  basketBytes: readonly number[];
  /** first entry of each basket, then the entry count: one more element than there are baskets */
  basketEntry: readonly number[];
  basketSeek: readonly number[];
  leaf: LeafMeta;
}

export interface TreeMeta {
  name: string;
  title: string;
  entries: number;
  totBytes: number;
  zipBytes: number;
  /** entries per cluster (positive), as readers take it to find cluster boundaries */
  autoFlush: number;
  branches: readonly BranchMeta[];
}

// fBits as ROOT writes them: kIsOnHeap | kNotDeleted plus each class's own flags
// (TTree: kMustCleanup; TBranch: kDoNotUseBufferMap; a collection owning its elements: kIsOwner).
const ON_HEAP = 0x03000000;
const TREE_BITS = ON_HEAP | 0x8;
const BRANCH_BITS = ON_HEAP | 0x00400000;
const OWNER_BITS = ON_HEAP | 0x00004000;
const IOFEATURES_CHECKSUM = 446770960;

function ioFeatures(b: RootBuffer): void {
  // ROOT::TIOFeatures has no ClassDef, so ROOT writes version 0 and the class checksum.
  const at = b.reserveCount();
  b.i16(0).u32(IOFEATURES_CHECKSUM).u8(0);
  b.closeCount(at);
}

/** A TObjArray streamed in place (a TStreamerObject member, not behind a pointer). */
function objArray(b: RootBuffer, bits: number, n: number, item: (i: number) => void): void {
  b.versioned(3, (b) => {
    b.tobject(bits).tstring('').i32(n).i32(0);
    for (let i = 0; i < n; i++) item(i);
  });
}

function leafRange(b: RootBuffer, type: LeafType, min: number, max: number): void {
  switch (type) {
    case 'O':
    case 'B':
    case 'b':
      b.i8(min).i8(max);
      break;
    case 'S':
    case 's':
      b.i16(min).i16(max);
      break;
    case 'I':
    case 'i':
      b.i32(min).i32(max);
      break;
    case 'L':
    case 'l':
      b.i64(min).i64(max);
      break;
    case 'F':
      b.f32(min).f32(max);
      break;
    case 'D':
      b.f64(min).f64(max);
      break;
  }
}

function writeLeaf(b: RootBuffer, leaf: LeafMeta): void {
  const info = LEAF_TYPES[leaf.type];
  b.object(info.leafClass, leaf, (b) =>
    b.versioned(1, (b) => {
      b.versioned(2, (b) => {
        b.tnamed(leaf.name, leaf.title, ON_HEAP).i32(1).i32(info.size).i32(0);
        b.u8(leaf.isRange ? 1 : 0).u8(info.unsigned ? 1 : 0);
        // The counter leaf was streamed earlier in this buffer, so this is a back-reference.
        if (leaf.counter) writeLeaf(b, leaf.counter);
        else b.u32(0);
      });
      leafRange(b, leaf.type, 0, leaf.maximum);
    }),
  );
}

function counted(b: RootBuffer, values: readonly number[], n: number, wide: boolean): void {
  b.u8(1);
  for (let i = 0; i < n; i++) {
    const v = values[i] ?? 0;
    if (wide) b.i64(v);
    else b.i32(v);
  }
}

function writeBranch(b: RootBuffer, br: BranchMeta): void {
  const baskets = br.basketBytes.length;
  // ROOT's TBranch::Streamer writes tables of at least 10 slots, the basket being filled included.
  const maxBaskets = Math.max(baskets + 1, 10);
  b.object('TBranch', br, (b) =>
    b.versioned(13, (b) => {
      b.tnamed(br.name, br.title, BRANCH_BITS);
      b.versioned(2, (b) => b.i16(0).i16(1001));
      b.i32(br.compress).i32(br.basketSize).i32(br.entryOffsetLen).i32(baskets).i64(br.entries);
      ioFeatures(b);
      b.i32(0).i32(maxBaskets).i32(0).i64(br.entries).i64(0).i64(br.totBytes).i64(br.zipBytes);
      objArray(b, ON_HEAP, 0, () => {});
      objArray(b, ON_HEAP, 1, () => writeLeaf(b, br.leaf));
      // Baskets already on disk appear as empty slots, one per written basket plus the open one.
      objArray(b, ON_HEAP, baskets + 1, () => b.u32(0));
      counted(b, br.basketBytes, maxBaskets, false);
      counted(b, br.basketEntry, maxBaskets, true);
      counted(b, br.basketSeek, maxBaskets, true);
      b.tstring('');
    }),
  );
}

/** Streams a TTree (class version 20) whose baskets are all on disk. */
export function writeTree(b: RootBuffer, t: TreeMeta): void {
  b.versioned(20, (b) => {
    b.tnamed(t.name, t.title, TREE_BITS);
    b.versioned(2, (b) => b.i16(602).i16(1).i16(1));
    b.versioned(2, (b) => b.i16(0).i16(1001));
    b.versioned(2, (b) => b.i16(1).i16(1).f32(1));
    // fEntries, fTotBytes, fZipBytes, then fSavedBytes and fFlushedBytes, which only bookkeep
    // autosaves and auto-flushes while ROOT itself is filling (0 in a tree it wrote with Write())
    b.i64(t.entries).i64(t.totBytes).i64(t.zipBytes).i64(0).i64(0);
    // fWeight, fTimerInterval, fScanField, fUpdate, fDefaultEntryOffsetLen, fNClusterRange
    b.f64(1).i32(0).i32(25).i32(0).i32(1000).i32(0);
    // fMaxEntries, fMaxEntryLoop, fMaxVirtualSize, fAutoSave, fAutoFlush, fEstimate
    b.i64(1e12).i64(1e12).i64(0).i64(-300_000_000).i64(t.autoFlush).i64(1_000_000);
    b.u8(0).u8(0); // no cluster ranges: fClusterRangeEnd and fClusterSize are null
    ioFeatures(b);
    objArray(b, OWNER_BITS, t.branches.length, (i) => writeBranch(b, t.branches[i]));
    objArray(b, ON_HEAP, t.branches.length, (i) => writeLeaf(b, t.branches[i].leaf));
    b.u32(0); // fAliases
    b.i32(0).i32(0); // fIndexValues, fIndex: empty TArrayD, TArrayI
    b.u32(0).u32(0).u32(0).u32(0); // fTreeIndex, fFriends, fUserInfo, fBranchRef
  });
}
