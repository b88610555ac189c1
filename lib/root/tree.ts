import {
  type BasketRef,
  type BranchInfo,
  cppToDType,
  leafDesc,
  parseDims,
  parseRange,
} from './branch-info.js';
import { CorruptFileError } from './errors.js';
import { DTYPE_SIZE } from './types.js';

/** The fields of jsroot's TTree/TBranch/TLeaf objects that the reader relies on. */
interface JLeaf {
  _typename: string;
  fName: string;
  fTitle: string;
  fLen: number;
  fLenType: number;
  fIsUnsigned?: boolean;
  fLeafCount?: JLeaf | null;
  fType?: number;
}
interface JBasket {
  fKeylen: number;
  fNevBuf: number;
  fLast: number;
  fEntryOffset?: ArrayLike<number>;
  fBufferRef?: { arr: DataView };
}
export interface JBranch {
  _typename: string;
  fName: string;
  fTitle: string;
  fEntries: number;
  fWriteBasket: number;
  fEntryOffsetLen: number;
  fBasketBytes: ArrayLike<number>;
  fBasketEntry: ArrayLike<number>;
  fBasketSeek: ArrayLike<number>;
  fBaskets?: { arr: Array<JBasket | null> };
  fBranches: { arr: JBranch[] };
  fLeaves: { arr: JLeaf[] };
  fClassName?: string;
  fStreamerType?: number;
  fType?: number;
}
export interface JTree {
  _typename: string;
  fName: string;
  fTitle: string;
  fEntries: number;
  fBranches: { arr: JBranch[] };
}

/** Basket locations of a branch, including the last basket if it is embedded in the branch record. */
function basketRefs(b: JBranch, source: string): BasketRef[] {
  const refs: BasketRef[] = [];
  const n = b.fWriteBasket;
  if (n < 0 || n > b.fBasketSeek.length || n >= b.fBasketEntry.length + 1) {
    throw new CorruptFileError(
      source,
      `branch "${b.fName}" lists ${n} baskets but has room for ${b.fBasketSeek.length}`,
    );
  }
  for (let i = 0; i < n; i++) {
    const entryStart = Number(b.fBasketEntry[i]);
    const entryStop = i + 1 < b.fBasketEntry.length ? Number(b.fBasketEntry[i + 1]) : b.fEntries;
    refs.push({ entryStart, entryStop, seek: Number(b.fBasketSeek[i]), bytes: Number(b.fBasketBytes[i]) });
  }
  const last = refs.length ? refs[refs.length - 1].entryStop : 0;
  // Baskets still in memory when the tree was saved are stored inside the branch record itself.
  for (const bk of b.fBaskets?.arr ?? []) {
    if (!bk || bk.fNevBuf <= 0) continue;
    const start = refs.length ? refs[refs.length - 1].entryStop : last;
    // a basket whose entries are all empty carries no buffer at all
    const arr = bk.fBufferRef?.arr;
    const data = arr
      ? new Uint8Array(arr.buffer, arr.byteOffset, Math.max(0, bk.fLast - bk.fKeylen))
      : new Uint8Array(0);
    const offs = bk.fEntryOffset ? Int32Array.from(bk.fEntryOffset, (o) => o - bk.fKeylen) : undefined;
    let byteOffsets: Int32Array | undefined;
    if (offs || (!arr && b.fEntryOffsetLen > 0)) {
      byteOffsets = new Int32Array(bk.fNevBuf + 1);
      if (offs) byteOffsets.set(offs.subarray(0, bk.fNevBuf));
      byteOffsets[bk.fNevBuf] = data.length;
    }
    refs.push({
      entryStart: start,
      entryStop: start + bk.fNevBuf,
      seek: 0,
      bytes: 0,
      embedded: { data, byteOffsets },
    });
  }
  return refs;
}

function describeLeafBranch(
  b: JBranch,
  base: Omit<BranchInfo, 'typeName' | 'shape' | 'itemSize' | 'encoding'>,
): BranchInfo {
  const leaves = b.fLeaves.arr;
  const unsupported = (typeName: string, why: string): BranchInfo => ({
    ...base,
    typeName,
    shape: 'scalar',
    itemSize: 0,
    encoding: { kind: 'plain' },
    unsupported: why,
  });
  if (leaves.length !== 1)
    return unsupported(b.fTitle, 'branches with several leaves (leaf lists) are not supported');
  const leaf = leaves[0];
  const { counter, dims } = parseDims(leaf.fTitle || b.fTitle);
  const inner = dims.length ? dims : undefined;
  const shape = leaf.fLeafCount || counter ? 'jagged' : inner ? 'fixed' : 'scalar';
  const counterName = leaf.fLeafCount?.fName ?? counter;
  const dimText = `${counterName ? `[${counterName}]` : ''}${dims.map((d) => `[${d}]`).join('')}`;
  if (leaf._typename === 'TLeafD32' || leaf._typename === 'TLeafF16') {
    const range = parseRange(leaf.fTitle || b.fTitle);
    const is32 = leaf._typename === 'TLeafD32';
    const typeName = `${is32 ? 'Double32_t' : 'Float16_t'}${dimText}`;
    const dtype = is32 ? 'float64' : 'float32';
    // no range: Double32_t is stored as a float, Float16_t as a 12-bit-mantissa float
    const enc = range ?? { min: 0, max: 0, nbits: is32 ? 0 : 12 };
    const truncated = enc.min === enc.max && enc.nbits !== 0;
    return {
      ...base,
      typeName,
      dtype,
      shape,
      inner,
      counter: counterName,
      itemSize: truncated ? 3 : 4,
      encoding: { kind: is32 ? 'double32' : 'float16', ...enc },
    };
  }
  if (leaf._typename === 'TLeafC') return unsupported(`char*${dimText}`, 'it holds strings, not numbers');
  if (leaf._typename === 'TLeafElement') {
    return unsupported(b.fTitle, 'this member of an object branch is not a plain numeric leaf');
  }
  const desc = leafDesc(leaf._typename, Boolean(leaf.fIsUnsigned));
  if (!desc?.dtype) return unsupported(`${leaf._typename}${dimText}`, 'its leaf type is not numeric');
  if (desc.itemSize !== leaf.fLenType && leaf.fLenType !== 0) {
    return unsupported(`${desc.cppName}${dimText}`, `its leaf stores ${leaf.fLenType}-byte values`);
  }
  return {
    ...base,
    typeName: `${desc.cppName}${dimText}`,
    dtype: desc.dtype,
    shape,
    inner,
    counter: counterName,
    itemSize: desc.itemSize,
    encoding: { kind: 'plain' },
  };
}

function describeElementBranch(
  b: JBranch,
  base: Omit<BranchInfo, 'typeName' | 'shape' | 'itemSize' | 'encoding'>,
): BranchInfo {
  const cls = (b.fClassName ?? '').replace(/\s+/g, ' ').trim();
  const vec = /^(?:std::)?vector<\s*([^<>]+?)\s*>$/.exec(cls);
  const dtype = vec ? cppToDType(vec[1]) : undefined;
  if (vec && dtype && b.fBranches.arr.length === 0) {
    return {
      ...base,
      typeName: `std::vector<${vec[1]}>`,
      dtype,
      shape: 'jagged',
      itemSize: DTYPE_SIZE[dtype],
      encoding: { kind: 'vector' },
    };
  }
  return {
    ...base,
    typeName: cls || b.fTitle,
    shape: 'scalar',
    itemSize: 0,
    encoding: { kind: 'plain' },
    unsupported: vec
      ? `std::vector of ${vec[1]} is not a vector of numbers`
      : 'object branches are not supported',
  };
}

/** Describes every branch of a tree (sub-branches included, by their full names). */
export function describeBranches(tree: JTree, source: string): BranchInfo[] {
  const out: BranchInfo[] = [];
  const visit = (b: JBranch): void => {
    const base = {
      name: b.fName,
      title: b.fTitle,
      entries: Number(b.fEntries),
      baskets: basketRefs(b, source),
    };
    if (b._typename === 'TBranch') out.push(describeLeafBranch(b, base));
    else if (b._typename === 'TBranchElement' || b._typename === 'TBranchSTL')
      out.push(describeElementBranch(b, base));
    else
      out.push({
        ...base,
        typeName: b._typename,
        shape: 'scalar',
        itemSize: 0,
        encoding: { kind: 'plain' },
        unsupported: `${b._typename} branches are not supported`,
      });
    for (const sub of b.fBranches.arr) visit(sub);
  };
  for (const b of tree.fBranches.arr) visit(b);
  return out;
}
