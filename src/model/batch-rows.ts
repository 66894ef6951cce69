/**
 * Row selection on batch-major tensors, for batched decoding (decode-batch.ts): when some
 * sequences of a batch end, the others go on with only their rows of the KV cache (B, kv, P, D),
 * of the key mask (B, P) and of the prefill's extra outputs (route (B), …); when two batches
 * join, their rows are concatenated after the shorter cache is padded on the left.
 * Pure data movement, no I/O.
 */
import { allocTyped, type TensorData } from '../graph/index.js';
import { WiseError } from '../util/errors.js';

/** Rows `keep` (indices into dim 0, in order) of a tensor whose first dim is the batch. */
export function takeRows(t: TensorData, keep: readonly number[]): TensorData {
  const B = Number(t.dims[0]);
  if (t.dims.length === 0 || !keep.every((r) => Number.isInteger(r) && r >= 0 && r < B)) {
    throw new WiseError('WISE_SHAPE_MISMATCH', `takeRows: rows [${keep.join(', ')}] of a tensor of shape [${t.dims.join(', ')}]`);
  }
  const row = B === 0 ? 0 : t.data.length / B; // elements per row
  const out = allocTyped(t.dtype, keep.length * row) as unknown as Settable;
  keep.forEach((r, j) => out.set(t.data.subarray(r * row, (r + 1) * row) as ArrayLike<unknown>, j * row));
  return { dtype: t.dtype, dims: [keep.length, ...t.dims.slice(1)], data: out } as unknown as TensorData;
}

/** takeRows on every tensor of a record. */
export function takeRowsAll(ts: Record<string, TensorData>, keep: readonly number[]): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const [k, t] of Object.entries(ts)) out[k] = takeRows(t, keep);
  return out;
}

/** Rows `keep` of a row-major (B, W) number array. */
export function takeMaskRows(mask: readonly number[], width: number, keep: readonly number[]): number[] {
  const out: number[] = [];
  for (const r of keep) for (let t = 0; t < width; t++) out.push(mask[r * width + t]!);
  return out;
}

/** Rows of `a` then rows of `b` (same dtype and trailing dims). */
export function concatRows(a: TensorData, b: TensorData): TensorData {
  if (a.dtype !== b.dtype || a.dims.length !== b.dims.length || a.dims.slice(1).some((d, i) => d !== b.dims[i + 1])) {
    throw new WiseError('WISE_SHAPE_MISMATCH', `concatRows: ${a.dtype}[${a.dims.join(', ')}] and ${b.dtype}[${b.dims.join(', ')}]`);
  }
  const out = allocTyped(a.dtype, a.data.length + b.data.length) as unknown as Settable;
  out.set(a.data as ArrayLike<unknown>, 0);
  out.set(b.data as ArrayLike<unknown>, a.data.length);
  return { dtype: a.dtype, dims: [Number(a.dims[0]) + Number(b.dims[0]), ...a.dims.slice(1)], data: out } as unknown as TensorData;
}

/**
 * A float32 KV cache (B, kv, P0, D) padded on the left of its position axis to (B, kv, P, D) with
 * zeros: the key mask hides the new columns, so they only align rows that started at different times.
 */
export function padPast(t: TensorData, P: number): TensorData {
  const [B, H, P0, D] = t.dims.map(Number) as [number, number, number, number];
  if (t.dtype !== 'float32' || t.dims.length !== 4 || P < P0) throw new WiseError('WISE_SHAPE_MISMATCH', `padPast: ${t.dtype}[${t.dims.join(', ')}] to ${P} positions`);
  const src = t.data as Float32Array;
  const out = new Float32Array(B * H * P * D);
  for (let bh = 0; bh < B * H; bh++) out.set(src.subarray(bh * P0 * D, (bh + 1) * P0 * D), (bh * P + (P - P0)) * D);
  return { dtype: 'float32', dims: [B, H, P, D], data: out };
}

/**
 * Columns at the start of a row-major (B, P) key mask that are padding (0) in every row: the cache
 * positions that no row attends to any more, once the rows that needed them have left the batch.
 */
export function sharedPadding(mask: readonly number[], B: number): number {
  if (B === 0) return 0;
  const P = mask.length / B;
  let t = 0;
  for (; t < P; t++) {
    let used = false;
    for (let r = 0; r < B && !used; r++) used = mask[r * P + t] !== 0;
    if (used) break;
  }
  return t;
}

/**
 * A float32 KV cache (B, kv, P, D) without its first `drop` positions: (B, kv, P − drop, D). With
 * sharedPadding, this keeps a batch that rows keep joining and leaving from growing its cache (and
 * every step's attention) by one position per step for as long as it runs.
 */
export function trimPast(t: TensorData, drop: number): TensorData {
  const [B, H, P, D] = t.dims.map(Number) as [number, number, number, number];
  if (t.dtype !== 'float32' || t.dims.length !== 4 || !Number.isInteger(drop) || drop < 0 || drop > P) throw new WiseError('WISE_SHAPE_MISMATCH', `trimPast: ${drop} positions off ${t.dtype}[${t.dims.join(', ')}]`);
  if (drop === 0) return t;
  const src = t.data as Float32Array;
  const Q = P - drop;
  const out = new Float32Array(B * H * Q * D);
  for (let bh = 0; bh < B * H; bh++) out.set(src.subarray((bh * P + drop) * D, (bh + 1) * P * D), bh * Q * D);
  return { dtype: 'float32', dims: [B, H, Q, D], data: out };
}

interface Settable {
  set(a: ArrayLike<unknown>, offset: number): void;
}
