/**
 * Tensor {dtype, dims, data} (the graph layer's TensorData) and its conversion to and from
 * onnxruntime tensors. Conversions share the typed array (no copy).
 */
import * as ort from 'onnxruntime-node';
import { WiseError } from '../util/errors.js';
import { numel, shapeStr, tensorData, type DType, type TensorData, type TypedArray } from '../graph/index.js';

export type Tensor<D extends DType = DType> = TensorData<D>;

const ARRAY_OF: Readonly<Record<DType, new (n: number) => TypedArray>> = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  bool: Uint8Array,
  uint8: Uint8Array,
  int8: Int8Array,
};

/** Whether `data` is the typed array onnxruntime expects for `dtype`. */
export const arrayMatches = (dtype: DType, data: unknown): boolean => data instanceof ARRAY_OF[dtype];

/** Wraps a typed array (no copy) after checking its type and length. */
export function tensor<D extends DType>(dtype: D, dims: readonly number[], data: TensorData<D>['data']): Tensor<D> {
  if (!arrayMatches(dtype, data)) {
    throw new WiseError('WISE_DTYPE_MISMATCH', `tensor: ${data.constructor.name} is not the array type of ${dtype}`, { dtype });
  }
  if (data.length !== numel(dims)) {
    throw new WiseError('WISE_SHAPE_MISMATCH', `tensor: ${data.length} elements for dims ${shapeStr(dims)}`, { dims: [...dims] });
  }
  return { dtype, dims: [...dims], data };
}

/** Convenience constructors from plain numbers. */
export const f32 = (values: ArrayLike<number>, dims: readonly number[]): Tensor<'float32'> => tensorData('float32', dims, values);
export const f64 = (values: ArrayLike<number>, dims: readonly number[]): Tensor<'float64'> => tensorData('float64', dims, values);
export const i64 = (values: ArrayLike<number | bigint>, dims: readonly number[]): Tensor<'int64'> => tensorData('int64', dims, values as ArrayLike<number>);
export const bool = (values: ArrayLike<number | boolean>, dims: readonly number[]): Tensor<'bool'> =>
  tensorData('bool', dims, Array.from(values, (v) => (v ? 1 : 0)));

export function toOrt(t: Tensor): ort.Tensor {
  return new ort.Tensor(t.dtype, t.data as never, t.dims);
}

export function fromOrt(t: ort.Tensor): Tensor {
  const dtype = t.type as DType;
  if (!(dtype in ARRAY_OF)) throw new WiseError('WISE_ENGINE', `unsupported output tensor type ${t.type}`, { type: t.type });
  return { dtype, dims: [...t.dims], data: t.data as TypedArray };
}
