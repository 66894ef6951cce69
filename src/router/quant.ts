/**
 * 8-bit routing scores (wise.route_score_dtype 'int8', our addition): every memory's
 * δ_k = A(x)·Δ_kᵀ computed for *scoring only* by an integer MatMul, which onnxruntime runs
 * about 2–3× faster than float32 on CPUs with VNNI (docs/bench-edit.md), so that scoring many
 * memories costs less per memory. The output a chosen memory adds stays exact float32
 * (router.ts gathers that memory's float block).
 *
 * Weights (host, once per memory set): the stacked deltas S (ff, N) are quantized per column,
 * symmetric: scale_j = max_i |S_ij| / 127, Q_ij = round(S_ij / scale_j) ∈ [−127, 127] (int8).
 *
 * Activations (graph, per token row r of A (…, ff)), symmetric: rowScale_r = max |a_r| / 127,
 * q_r = round(a_r / rowScale_r) + 128 ∈ [1, 255] (uint8, zero point 128). Per row, not per
 * tensor: activations differ in range from token to token, and one scale for the batch would
 * make a token's score depend on its batch-mates. Symmetric, because onnxruntime takes only a
 * scalar zero point for A (and SiLU·up activations, llama's, are two-sided anyway).
 *
 * Product: MatMulIntegerToFloat (onnxruntime contrib op) gives scale_j · Σ_i (q_ri − 128) Q_ij
 * in one kernel (exact integer sums, scaled once); rowScale_r multiplies that afterwards, or
 * only the norms computed from it (score.ts), a pass fewer over the (…, N) tensor.
 */
import { ops, type Value } from '../graph/index.js';

/** Per-column int8 quantization of a row-major (rows, cols) matrix. */
export interface QuantizedColumns {
  /** (rows, cols) int8, row-major */
  q: Int8Array;
  /** (cols,) float32: column j of the matrix ≈ q[:, j] × scale[j] */
  scale: Float32Array;
}

/** Per-column int8 quantization of a row-major (rows, cols) matrix; an all-zero column gets scale 1 and zeros. */
export function quantizeMatrix(m: Float32Array, rows: number, cols: number): QuantizedColumns {
  const out: QuantizedColumns = { q: new Int8Array(rows * cols), scale: new Float32Array(cols) };
  const amax = new Float32Array(cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0, row = i * cols; j < cols; j++) {
      const v = Math.abs(m[row + j]!);
      if (v > amax[j]!) amax[j] = v;
    }
  }
  const inv = new Float32Array(cols);
  for (let j = 0; j < cols; j++) {
    out.scale[j] = amax[j]! > 0 ? amax[j]! / 127 : 1;
    inv[j] = 1 / out.scale[j]!;
  }
  for (let i = 0; i < rows; i++) {
    for (let j = 0, row = i * cols; j < cols; j++) out.q[row + j] = Math.max(-127, Math.min(127, Math.round(m[row + j]! * inv[j]!)));
  }
  return out;
}

/**
 * a (…, k) float · S (k, n) from S's quantized form (q (k, n) int8, scale (n,) float):
 * y (…, n) float and rowScale (…, 1), with a·S ≈ y × rowScale.
 */
export function quantizedProduct(a: Value, q: Value, scale: Value): { y: Value; rowScale: Value } {
  const g = a.graph;
  const rowScale = ops.max(ops.div(ops.reduceMax(ops.max(a, ops.neg(a)), [-1], true), 127), 1e-30); // (…, 1); a zero row stays 0
  const qa = ops.cast(ops.add(ops.round(ops.div(a, rowScale)), 128), 'uint8'); // |a / rowScale| ≤ 127
  return { y: ops.matmulIntegerToFloat(qa, q, g.scalar(1, a.dtype), scale, g.scalar(128, 'uint8')), rowScale };
}

/** a (…, k) float · S (k, n) ≈ the float product, from S's quantized form (graph values q, scale). */
export function quantizedMatmul(a: Value, q: Value, scale: Value): Value {
  const { y, rowScale } = quantizedProduct(a, q, scale);
  return ops.mul(y, rowScale);
}
