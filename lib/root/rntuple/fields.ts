import { cppToDType } from '../branch-info.js';
import type { EntryBranch } from '../entry-source.js';
import type { DType } from '../types.js';
import { type ColumnType, columnType } from './columns.js';
import type { ColumnRecord, FieldRecord, Schema } from './envelopes.js';

/** The columns behind one field: per representation index, its columns in order. */
export interface ColumnSet {
  field: string;
  reps: ColumnRecord[][];
  types: ColumnType[][];
}

/** How one output branch is read from columns. */
export type ReadPlan =
  /** `per` values per entry (more than one inside std::array / std::bitset) */
  | { kind: 'scalar'; values: ColumnSet; per: number }
  /** a collection of numbers: the index column gives each entry's end offset in its cluster */
  | { kind: 'jagged'; index: ColumnSet; values: ColumnSet; per: number }
  /** ROOT::RNTupleCardinality: the number of items of a collection */
  | { kind: 'count'; index: ColumnSet };

/** One readable (or skipped) output of an RNTuple, in the shape the TTree reader gives branches. */
export interface FieldBranch extends EntryBranch {
  /** the name, unique in the RNTuple (see `uniqueNames`) */
  name: string;
  inner?: number[];
  plan?: ReadPlan;
  /** where the last name segment starts and the base classes it was reached through */
  seg?: { at: number; bases: string[] };
}

/** Deepest field nesting followed; deeper schemas are refused rather than recursed into. */
const MAX_DEPTH = 64;
/** Most values per entry of a fixed-size array (all dimensions together). */
const MAX_PER_ENTRY = 1 << 20;

const FIELD_TYPES: Record<string, DType> = {
  bool: 'bool',
  char: 'int8',
  'std::byte': 'uint8',
  'std::int8_t': 'int8',
  'std::uint8_t': 'uint8',
  'std::int16_t': 'int16',
  'std::uint16_t': 'uint16',
  'std::int32_t': 'int32',
  'std::uint32_t': 'uint32',
  'std::int64_t': 'int64',
  'std::uint64_t': 'uint64',
  float: 'float32',
  double: 'float64',
};

interface Context {
  /** the collection whose items the fields being visited are (one level only) */
  index?: ColumnSet;
  /** fixed dimensions of enclosing std::array / std::bitset fields */
  inner: number[];
  /** the collection's type, shown for its items (`std::vector<float>` rather than `float`) */
  typeName?: string;
  /** base classes passed through since the last name segment (outermost first) */
  bases: string[];
  /** where the last name segment starts and the base classes it was reached through */
  seg?: { at: number; bases: string[] };
}

/** Maps an RNTuple schema to output branches, named like uproot names fields (`parent.member`). */
export function describeFields(schema: Schema): FieldBranch[] {
  const { fields } = schema;
  const children = new Map<number, FieldRecord[]>();
  for (const f of fields) {
    if (f.parent === f.id) continue;
    if (f.parent >= fields.length || f.parent === undefined) continue;
    const list = children.get(f.parent) ?? [];
    list.push(f);
    children.set(f.parent, list);
  }
  const byField = new Map<number, ColumnRecord[]>();
  for (const c of schema.columns) {
    const list = byField.get(c.field) ?? [];
    list.push(c);
    byField.set(c.field, list);
  }
  const out: FieldBranch[] = [];

  /** The columns a field's data lives in (a projected field shows its source field's). */
  const columnsOf = (f: FieldRecord): ColumnSet | undefined => {
    let src = f;
    for (let hops = 0; src.source !== undefined && hops < MAX_DEPTH; hops++) src = fields[src.source] ?? src;
    const cols = byField.get(src.id);
    if (!cols?.length) return undefined;
    const reps: ColumnRecord[][] = [];
    for (const c of cols) {
      reps[c.representation] ??= [];
      reps[c.representation].push(c);
    }
    if (reps.some((r) => r === undefined) || reps.some((r) => r.length !== reps[0].length)) return undefined;
    const types = reps.map((r) => r.map((c) => columnType(c)));
    for (const r of types)
      for (const t of r) if (typeof t === 'string') return { field: f.name, reps, types: [] };
    return { field: f.name, reps, types: types as ColumnType[][] };
  };
  /** Why a column set cannot hold this kind of data, or undefined when it can. */
  const unreadable = (set: ColumnSet | undefined, want: 'number' | 'index'): string | undefined => {
    if (!set) return 'it has no columns this reader understands';
    if (!set.types.length) {
      for (const r of set.reps)
        for (const c of r) {
          const t = columnType(c);
          if (typeof t === 'string') return t;
        }
    }
    if (set.reps[0].length !== 1)
      return 'it is stored in several columns (strings and objects are not numbers)';
    for (const [t] of set.types) {
      const isIndex = t.dtype === 'index';
      if (want === 'index' ? !isIndex : isIndex || t.dtype === 'switch' || t.name === 'Byte')
        return `its ${t.name} column does not hold ${want === 'index' ? 'collection offsets' : 'numbers'}`;
    }
    return undefined;
  };

  /** the name segment of the field being visited, kept for skipped fields too */
  let seg: Context['seg'];
  const skip = (name: string, f: FieldRecord, why: string): undefined => {
    const typeName = f.typeName || 'untyped';
    out.push({ name, title: f.typeName, typeName, shape: 'scalar', unsupported: why, seg });
  };

  const visit = (f: FieldRecord, name: string, ctx: Context, depth: number): undefined => {
    seg = ctx.seg;
    if (depth > MAX_DEPTH) return skip(name, f, `fields nested more than ${MAX_DEPTH} deep`);
    const kids = children.get(f.id) ?? [];
    switch (f.role) {
      case 0:
        return leaf(f, name, ctx, kids, depth);
      case 1: {
        if (ctx.index) return skip(name, f, 'collections inside collections are not supported');
        if (ctx.inner.length) return skip(name, f, 'collections inside fixed-size arrays are not supported');
        const index = columnsOf(f);
        const why = unreadable(index, 'index');
        if (why) return skip(name, f, why);
        const inner: Context = { index: index!, inner: [], bases: [], seg: ctx.seg };
        if (kids.length === 1 && kids[0].name === '_0')
          return visit(kids[0], name, { ...inner, typeName: f.typeName }, depth + 1);
        if (!kids.length) return skip(name, f, 'a collection without items');
        for (const k of kids)
          visit(k, `${name}.${k.name}`, { ...inner, seg: { at: name.length + 1, bases: [] } }, depth + 1);
        return;
      }
      case 2: {
        if (!kids.length) {
          // an empty base class adds nothing; an empty struct is shown, with why it is not read
          if (/^:_\d+$/.test(f.name)) return;
          return skip(name, f, 'a record without members holds no values');
        }
        for (const k of kids) {
          // base classes (":_0") add no level to names; tuple members "_0" are called "0", as in uproot
          if (/^:_\d+$/.test(k.name)) {
            visit(k, name, { ...ctx, typeName: undefined, bases: [...ctx.bases, k.typeName] }, depth + 1);
          } else {
            const seg = { at: name.length + 1, bases: ctx.bases };
            const n = `${name}.${k.name.replace(/^_(\d+)$/, '$1')}`;
            visit(k, n, { ...ctx, typeName: undefined, bases: [], seg }, depth + 1);
          }
        }
        return;
      }
      case 3:
        return skip(name, f, 'a std::variant holds a different type in each entry');
      case 4:
        return skip(name, f, 'objects stored with the ROOT streamer are not split into numbers');
      default:
        return skip(name, f, `field role ${f.role} is newer than this reader`);
    }
  };

  const leaf = (
    f: FieldRecord,
    name: string,
    ctx: Context,
    kids: FieldRecord[],
    depth: number,
  ): undefined => {
    if (f.repetition > 0) {
      const inner = { ...ctx, inner: [...ctx.inner, f.repetition] };
      if (inner.inner.reduce((a, b) => a * b, 1) > MAX_PER_ENTRY)
        return skip(name, f, `fixed-size arrays of more than ${MAX_PER_ENTRY} values per entry are not read`);
      // std::array<T, N> has its items in one subfield; std::bitset<N> holds bits itself
      if (kids.length === 1) return visit(kids[0], name, inner, depth + 1);
      return numeric(f, name, inner);
    }
    const card = /^ROOT::RNTupleCardinality<std::uint(32|64)_t>$/.exec(f.typeName);
    if (card) {
      if (ctx.index || ctx.inner.length)
        return skip(name, f, 'cardinalities of nested collections are not supported');
      const index = columnsOf(f);
      const why = unreadable(index, 'index');
      if (why) return skip(name, f, why);
      out.push({
        name,
        title: f.typeName,
        typeName: f.typeName,
        dtype: card[1] === '32' ? 'uint32' : 'uint64',
        shape: 'scalar',
        plan: { kind: 'count', index: index! },
      });
      return;
    }
    // std::atomic<T> and enums keep their value in a single subfield
    if (!columnsOf(f) && kids.length === 1) return visit(kids[0], name, ctx, depth + 1);
    return numeric(f, name, ctx);
  };

  const numeric = (f: FieldRecord, name: string, ctx: Context): undefined => {
    const values = columnsOf(f);
    const why = unreadable(values, 'number');
    if (why) return skip(name, f, why);
    const set = values!;
    const dtype = FIELD_TYPES[f.typeName] ?? cppToDType(f.typeName) ?? commonType(set.types);
    if (!dtype) return skip(name, f, 'its values are not numbers');
    const per = ctx.inner.reduce((a, b) => a * b, 1);
    const inner = ctx.inner.length ? ctx.inner : undefined;
    const typeName = ctx.typeName ?? f.typeName;
    const base = { name, title: typeName, typeName, dtype, inner, seg: ctx.seg };
    if (ctx.index)
      out.push({ ...base, shape: 'jagged', plan: { kind: 'jagged', index: ctx.index, values: set, per } });
    else out.push({ ...base, shape: inner ? 'fixed' : 'scalar', plan: { kind: 'scalar', values: set, per } });
  };

  for (const f of fields) if (f.parent === f.id) visit(f, f.name, { inner: [], bases: [] }, 0);
  return uniqueNames(out);
}

/**
 * A class that inherits the same base twice (through two parents) has two members of each name:
 * like uproot, they are told apart by the classes they were inherited through, outermost first
 * (`Child::base_a1`, `MultiParent::base_a1`), with as few classes as it takes.
 */
function uniqueNames(out: FieldBranch[]): FieldBranch[] {
  const groups = new Map<string, FieldBranch[]>();
  for (const b of out) groups.set(b.name, [...(groups.get(b.name) ?? []), b]);
  for (const group of groups.values()) {
    if (group.length < 2 || group.some((b) => !b.seg)) continue;
    let common = 0;
    while (
      group.every((b) => b.seg!.bases.length > common && b.seg!.bases[common] === group[0].seg!.bases[common])
    )
      common++;
    const original = group.map((b) => b.name);
    const longest = Math.max(...group.map((b) => b.seg!.bases.length - common));
    for (let n = 1; n <= longest; n++) {
      const names = group.map((b, i) => {
        const { at, bases } = b.seg!;
        const prefix = bases.slice(common, common + n);
        return prefix.length
          ? `${original[i].slice(0, at)}${prefix.join('::')}::${original[i].slice(at)}`
          : original[i];
      });
      group.forEach((b, i) => {
        b.name = names[i];
      });
      if (new Set(names).size === names.length) break;
    }
  }
  return out;
}

/** A field without a known C++ type (an untyped record's member) takes its columns' type. */
function commonType(types: ColumnType[][]): DType | undefined {
  const t = types[0]?.[0]?.dtype;
  return t && t !== 'index' && t !== 'switch' && types.every(([u]) => u.dtype === t) ? t : undefined;
}
