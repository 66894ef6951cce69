/**
 * Task arithmetic (Ilharco et al. 2023, mlfoundations/task_vectors `apply_to`):
 * merged = λ·Σ_i w_i Δ_i. Negative weights are allowed (negation forgets a task).
 * mergekit `task_arithmetic` with normalize off; λ default 1 (mergekit; tune ≈ 0.3–0.4
 * for summed task vectors).
 *
 * Learned-mask hook (types.ts `LearnedMask`): with `options.mask` the result is
 * Concrete task arithmetic, λ·(m ⊙ Σ_i w_i Δ_i)/mean(m) (tanganke/subspace_fusion),
 * which is exact here because TA is linear. Learning m is not part of this module.
 *
 * Shapes: Δ_i N entries; per block a Float64 accumulator of blockLength(cols) entries,
 * so the sum is rounded to Float32 once.
 */
import { z } from 'zod';
import { defineMethod } from './registry.js';
import { blockLength, colsOf, type LearnedMask, type Matrix } from './types.js';

const schema = z.strictObject({ lambda: z.number().default(1) });

/** λ·Σ w_i Δ_i, optionally gated by a learned mask (see above). */
export function weightedSum(base: Matrix, deltas: readonly Matrix[], weights: readonly number[], lambda: number, mask?: LearnedMask): Float32Array {
  const n = base.data.length;
  const out = new Float32Array(n);
  if (n === 0) return out;
  const block = Math.min(n, blockLength(colsOf(base.shape)));
  const acc = new Float64Array(block);
  const m = mask === undefined ? null : new Float32Array(block);
  let scale = lambda;
  if (mask !== undefined && m !== null) {
    let total = 0;
    for (let s = 0; s < n; s += block) {
      const e = Math.min(n, s + block);
      mask.fill(s, e, m);
      for (let j = 0; j < e - s; j++) total += m[j] as number;
    }
    scale = total > 0 ? lambda / (total / n) : 0; // mean(m) = 0: every entry is gated off
  }
  for (let s = 0; s < n; s += block) {
    const e = Math.min(n, s + block);
    const len = e - s;
    const d0 = (deltas[0] as Matrix).data;
    const w0 = weights[0] as number;
    for (let j = 0, i = s; j < len; j++, i++) acc[j] = w0 * (d0[i] as number);
    for (let q = 1; q < deltas.length; q++) {
      const d = (deltas[q] as Matrix).data;
      const w = weights[q] as number;
      for (let j = 0, i = s; j < len; j++, i++) acc[j] = (acc[j] as number) + w * (d[i] as number);
    }
    if (m !== null && mask !== undefined) {
      mask.fill(s, e, m);
      for (let j = 0; j < len; j++) out[s + j] = scale * (m[j] as number) * (acc[j] as number);
    } else {
      for (let j = 0; j < len; j++) out[s + j] = scale * (acc[j] as number);
    }
  }
  return out;
}

export const taskArithmetic = defineMethod({
  name: 'task_arithmetic',
  description: 'λ·Σ w_i Δ_i (Ilharco et al.; mergekit task_arithmetic); accepts a learned mask (Concrete TA)',
  schema,
  orderInvariant: true,
  allowsNegativeWeights: () => true,
  acceptsMask: true,
  merge(base, deltas, weights, p, options) {
    return weightedSum(base, deltas, weights, p.lambda, options.mask);
  },
});
