/**
 * The WISE activation score of a side memory, as a graph piece.
 *
 * Per token t: d_t = ‖A(x)_t (W′ − W)ᵀ‖₂ (the paper's Eq. 3; `delta` is A(x)(W′−W)ᵀ, (B, T, d)).
 * Per sequence: the mean of d_t over non-padding tokens (EasyEdit averages over padding too,
 * which makes a sequence's score depend on its batch); sequences longer than `maxMean`
 * tokens use the max over tokens instead (EasyEdit's rule at inference).
 * The norm is sqrt(Σ δ² + 1e-12): the tiny floor keeps the gradient finite where W′ = W.
 */
import { ops, type Value } from '../graph/index.js';

/** Per-token norms (B, T) of delta (B, T, d). */
export function tokenNorms(delta: Value): Value {
  return ops.sqrt(ops.add(ops.reduceSum(ops.mul(delta, delta), [-1]), 1e-12));
}

/**
 * Sequence scores (B,) from per-token norms (B, T) and a token mask (B, T) of 1/0 floats.
 * `useMax` (B,) bool selects the max over real tokens instead of the mean (long sequences);
 * omit it in gradient graphs (training rows are short).
 */
export function sequenceScore(norms: Value, tokenMask: Value, useMax?: Value | 'always'): Value {
  if (useMax === 'always') return ops.reduceMax(ops.mul(norms, tokenMask), [-1]);
  const count = ops.max(ops.reduceSum(tokenMask, [-1]), 1); // (B,)
  const mean = ops.div(ops.reduceSum(ops.mul(norms, tokenMask), [-1]), count); // (B,)
  if (!useMax) return mean;
  const mx = ops.reduceMax(ops.mul(norms, tokenMask), [-1]); // norms ≥ 0, so masked entries (0) never win
  return ops.where(useMax, mx, mean);
}

/**
 * Every memory's δ_k and score at once from the stacked deltas (router/stack.ts):
 * a (B, T, ff) · stack (ff, M·d) → deltas (B, T, M, d), scores (B, M) as sequenceScore
 * computes them per memory (tokenMask (B, T), useMax (B,) bool).
 */
export function stackedScores(a: Value, stack: Value, M: number, d: number, tokenMask: Value, useMax: Value): { deltas: Value; scores: Value } {
  const [B, T] = a.shape;
  const deltas = ops.reshape(ops.matmul(a, stack), [B!, T!, M, d]);
  const norms = ops.transpose(tokenNorms(deltas), [0, 2, 1]); // (B, M, T)
  return { deltas, scores: sequenceScore(norms, ops.unsqueeze(tokenMask, [1]), ops.unsqueeze(useMax, [1])) };
}
