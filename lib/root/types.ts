/** Numeric element types a branch can hold, named as NumPy does. */
export type DType =
  | 'bool'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float32'
  | 'float64';

export type TypedValues =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/**
 * How entries of a branch map onto its values:
 * - scalar: one value per entry;
 * - fixed: `innerSize` values per entry (C array `x[3]`, or `x[3][2]` flattened);
 * - jagged: a variable number per entry (counted leaf `x[n]`, or std::vector<T>), given by offsets.
 */
export type BranchShape = 'scalar' | 'fixed' | 'jagged';

/** Decoded values of one branch over a range of entries: one typed array, never one object per entry. */
export interface Column {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: BranchShape;
  /** values of all entries, flattened (for `fixed`, entries × innerSize) */
  readonly values: TypedValues;
  /** for `jagged`: entries + 1 offsets into values, offsets[0] = 0 */
  readonly offsets?: Int32Array;
  /** for `fixed`: the per-entry dimensions, e.g. [3] or [3, 2] */
  readonly inner?: readonly number[];
}

export const DTYPE_SIZE: Readonly<Record<DType, number>> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  float32: 4,
  float64: 8,
};
