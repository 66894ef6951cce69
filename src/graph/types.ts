/**
 * Basic types of the graph layer: element types, (possibly symbolic) shapes, tensor data
 * and the shape helpers every op's static shape inference uses.
 *
 * A dimension is a number (static) or a string naming a symbolic size ('B', 'T', 'past').
 * Symbolic dims exist for forward / decode graphs whose lengths vary per call; gradient
 * graphs must be fully static (unbroadcasting is decided at build time).
 */
import { WiseError } from '../util/errors.js';

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'uint8' | 'int8';
export type FloatType = 'float32' | 'float64';
export type Dim = number | string;
export type Shape = readonly Dim[];

/** Typed-array storage per dtype (bool is one byte per element, as in onnxruntime). */
export interface TypedArrayOf {
  float32: Float32Array;
  float64: Float64Array;
  int64: BigInt64Array;
  int32: Int32Array;
  bool: Uint8Array;
  /** quantized activations (router/quant.ts) */
  uint8: Uint8Array;
  /** quantized weights (router/quant.ts) */
  int8: Int8Array;
}
export type TypedArray = TypedArrayOf[DType];

/** A concrete tensor: what initializers hold and what the engine feeds / returns. */
export interface TensorData<D extends DType = DType> {
  readonly dtype: D;
  readonly dims: readonly number[];
  readonly data: TypedArrayOf[D];
}

export const isFloat = (t: DType): t is FloatType => t === 'float32' || t === 'float64';
export const isStatic = (s: Shape): s is readonly number[] => s.every((d) => typeof d === 'number');

/** Number of elements of a static shape (1 for a scalar []). */
export function numel(s: readonly number[]): number {
  let n = 1;
  for (const d of s) n *= d;
  return n;
}

export function shapeStr(s: Shape): string {
  return `[${s.join(',')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Normalizes a possibly negative axis for a tensor of rank `rank`. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new WiseError('WISE_GRAPH', `axis ${axis} out of range for rank ${rank}`, { axis, rank });
  }
  return a;
}

/** Numpy-style broadcast of two shapes (right-aligned); symbolic dims broadcast only with 1 or themselves. */
export function broadcastShapes(a: Shape, b: Shape): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else {
      throw new WiseError('WISE_SHAPE_MISMATCH', `cannot broadcast ${shapeStr(a)} with ${shapeStr(b)}`, {
        a: [...a],
        b: [...b],
      });
    }
  }
  return out;
}

/** Bytes per element, for memory accounting. */
export function dtypeBytes(t: DType): number {
  return t === 'float64' || t === 'int64' ? 8 : t === 'bool' || t === 'uint8' || t === 'int8' ? 1 : 4;
}

/** Allocates the typed array for `dtype` with `n` elements. */
export function allocTyped<D extends DType>(dtype: D, n: number): TypedArrayOf[D] {
  switch (dtype) {
    case 'float32': return new Float32Array(n) as TypedArrayOf[D];
    case 'float64': return new Float64Array(n) as TypedArrayOf[D];
    case 'int64': return new BigInt64Array(n) as TypedArrayOf[D];
    case 'int32': return new Int32Array(n) as TypedArrayOf[D];
    case 'int8': return new Int8Array(n) as TypedArrayOf[D];
    default: return new Uint8Array(n) as TypedArrayOf[D];
  }
}

/** Builds TensorData from plain numbers (or a typed array, converted when its type differs). */
export function tensorData<D extends DType>(
  dtype: D,
  dims: readonly number[],
  values: ArrayLike<number> | ArrayLike<bigint> | TypedArray,
): TensorData<D> {
  const n = numel(dims);
  if (values.length !== n) {
    throw new WiseError('WISE_SHAPE_MISMATCH', `tensor data has ${values.length} elements, dims ${shapeStr(dims)} need ${n}`, {
      dims: [...dims],
      length: values.length,
    });
  }
  const out = allocTyped(dtype, n);
  if (dtype === 'int64') {
    const o = out as BigInt64Array;
    for (let i = 0; i < n; i++) o[i] = BigInt(values[i] as number | bigint);
  } else {
    const o = out as Exclude<TypedArray, BigInt64Array>;
    for (let i = 0; i < n; i++) o[i] = Number(values[i] as number | bigint);
  }
  return { dtype, dims: [...dims], data: out };
}
