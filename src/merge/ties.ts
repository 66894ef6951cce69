/**
 * TIES-Merging (Yadav et al. 2023) and its two ablations, all on the GTA driver (gta.ts):
 * - `ties`:      trim each Δ_i to its top-k |Δ| → elect the sign of Σ w_i·Δ̂_i →
 *                disjoint weighted mean Σ_{agree} w_i Δ̂_i / Σ_{agree} w_i → × λ.
 *   variant 'wise' (default; WISE/EasyEdit `gta.py` = mergekit `ties`): exact k = ⌊d·N⌋
 *     per matrix, ties by index; a zero sum elects +; density 0.53, λ 1.
 *   variant 'paper' (prateeky2806/ties-merging `merge_utils.py`): keep |Δ| ≥ the
 *     (⌊d·N⌋+1)-th largest (every tie kept); a zero sum takes the global majority sign
 *     sign(Σ_p γ_p); density 0.2 (`topk20`). The original trims the whole flattened model
 *     with one threshold per task; here it is per matrix, like every other method.
 *   `trim` and `zeroSign` override the variant's choice one by one.
 * - `magnitude`: the trim without election; sum (or, with normalize, ÷ Σ w) — EasyEdit
 *                `magnitude` / `magnitude_norm`, mergekit sparsification "magnitude".
 * - `sign`:      the election and disjoint mean without trim — EasyEdit `sign`.
 * Shapes: every Δ_i is the matrix's N entries; output N Float32 (the merged delta).
 */
import { z } from 'zod';
import { runGta } from './gta.js';
import { defineMethod } from './registry.js';
import { denseSparsifier, magnitudeSparsifier } from './sparsify.js';
import type { Matrix } from './types.js';

export const density = z.number().gt(0).lte(1);
export const lambda = z.number();

const tiesSchema = z.strictObject({
  density: density.optional(),
  lambda: lambda.default(1),
  variant: z.enum(['wise', 'paper']).default('wise'),
  trim: z.enum(['exact', 'threshold']).optional(),
  zeroSign: z.enum(['plus', 'majority']).optional(),
});
export type TiesParams = z.output<typeof tiesSchema>;

/** Resolved knobs: density 0.53/0.2, trim exact/threshold, zero sign plus/majority by variant. */
export function resolveTies(p: TiesParams): { density: number; trim: 'exact' | 'threshold'; zeroSign: 'plus' | 'majority' } {
  const paper = p.variant === 'paper';
  return {
    density: p.density ?? (paper ? 0.2 : 0.53),
    trim: p.trim ?? (paper ? 'threshold' : 'exact'),
    zeroSign: p.zeroSign ?? (paper ? 'majority' : 'plus'),
  };
}

export const ties = defineMethod({
  name: 'ties',
  description: 'trim top-k |Δ| → sign election (Σ w·Δ) → disjoint weighted mean → ×λ; WISE/mergekit by default, original paper via variant',
  schema: tiesSchema,
  orderInvariant: true,
  allowsNegativeWeights: () => false,
  merge(base, deltas, weights, p) {
    const r = resolveTies(p);
    const sp = deltas.map((d: Matrix) => magnitudeSparsifier(d.data, r.density, r.trim));
    return runGta(base, sp, weights, { consensus: 'sum', normalize: true, lambda: p.lambda, noConsensusDivisor: 1, zeroSign: r.zeroSign });
  },
});

const magnitudeSchema = z.strictObject({
  density: density.default(0.53),
  lambda: lambda.default(1),
  normalize: z.boolean().default(false),
  trim: z.enum(['exact', 'threshold']).default('exact'),
});

/** mergekit: without consensus, normalize divides by Σ w_i (|Σ| < 1e-8 → 1). */
export function weightSumDivisor(weights: readonly number[]): number {
  const s = weights.reduce((a, b) => a + b, 0);
  return Math.abs(s) < 1e-8 ? 1 : s;
}

export const magnitude = defineMethod({
  name: 'magnitude',
  description: 'per-delta top-k |Δ| trim, then weighted sum (÷ Σw with normalize) ×λ; EasyEdit magnitude(_norm)',
  schema: magnitudeSchema,
  orderInvariant: true,
  allowsNegativeWeights: (p) => !p.normalize,
  merge(base, deltas, weights, p) {
    const sp = deltas.map((d: Matrix) => magnitudeSparsifier(d.data, p.density, p.trim));
    return runGta(base, sp, weights, { consensus: 'none', normalize: p.normalize, lambda: p.lambda, noConsensusDivisor: weightSumDivisor(weights), zeroSign: 'plus' });
  },
});

const signSchema = z.strictObject({
  lambda: lambda.default(1),
  normalize: z.boolean().default(true),
});

export const sign = defineMethod({
  name: 'sign',
  description: 'sign election on Σ w·Δ (≥ 0 → +) and disjoint weighted mean, no trim; EasyEdit sign',
  schema: signSchema,
  orderInvariant: true,
  allowsNegativeWeights: () => false,
  merge(base, deltas, weights, p) {
    const sp = deltas.map((d: Matrix) => denseSparsifier(d.data));
    return runGta(base, sp, weights, { consensus: 'sum', normalize: p.normalize, lambda: p.lambda, noConsensusDivisor: 1, zeroSign: 'plus' });
  },
});
