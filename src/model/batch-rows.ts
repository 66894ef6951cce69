/**
 * Row selection on batch-major tensors, for batched decoding (causal-lm.ts `generateMany`):
 * when some sequences of a batch end, the others go on with only their rows of the KV cache
 * (B, kv, P, D), of the key mask (B, P) and of the prefill's extra outputs (route (B), …).
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
  const out = allocTyped(t.dtype, keep.length * row);
  keep.forEach((r, j) => (out as { set(a: ArrayLike<unknown>, o: number): void }).set(t.data.subarray(r * row, (r + 1) * row) as ArrayLike<unknown>, j * row));
  return { dtype: t.dtype, dims: [keep.length, ...t.dims.slice(1)], data: out } as TensorData;
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
