/**
 * Model Breadcrumbs (Davari & Belilovsky 2024), as mergekit `breadcrumbs` /
 * `breadcrumbs_ties` (sparsify.py `magnitude_outliers`): per matrix, rank |Δ_i|
 * (ties by index), drop the top nTop = ⌊γ·N⌋ outliers and keep the next ⌊d·N⌋ entries;
 * everything smaller is dropped. Then λ·Σ w_i Δ̂_i, or with `consensus: 'sum'` the TIES
 * election and (with normalize) the disjoint weighted mean.
 * - If nTop + ⌊dN⌋ > N, nTop shrinks to N − ⌊dN⌋ (mergekit cuts the top first).
 * - Guard: when ⌊γN⌋ = 0 mergekit's slice `[n_bot:-0]` is empty and zeroes the whole
 *   tensor; here nTop = 0 simply keeps the plain top ⌊dN⌋.
 * Defaults: γ 0.01 (mergekit); density 0.9 (mergekit requires one; 0.9 is the common
 * example value [unverified]).
 */
import { z } from 'zod';
import { runGta } from './gta.js';
import { defineMethod } from './registry.js';
import { bandSparsifier, keepCount } from './sparsify.js';
import { density, lambda, weightSumDivisor } from './ties.js';
import type { Matrix } from './types.js';

const schema = z.strictObject({
  density: density.default(0.9),
  gamma: z.number().gte(0).lt(1).default(0.01),
  lambda: lambda.default(1),
  consensus: z.enum(['none', 'sum']).default('none'),
  normalize: z.boolean().default(false),
});
export type BreadcrumbsParams = z.output<typeof schema>;

/** [nTop, nKeep] for N entries. */
export function breadcrumbsBand(n: number, d: number, gamma: number): [number, number] {
  const nKeep = keepCount(d, n);
  const nTop = Math.min(Math.floor(gamma * n), n - nKeep);
  return [nTop, nKeep];
}

export const breadcrumbs = defineMethod({
  name: 'breadcrumbs',
  description: 'drop the top-γ |Δ| outliers and all below the next ⌊dN⌋, then sum (or TIES election); mergekit breadcrumbs(_ties)',
  schema,
  orderInvariant: true,
  allowsNegativeWeights: (p) => p.consensus === 'none' && !p.normalize,
  merge(base, deltas, weights, p) {
    const [nTop, nKeep] = breadcrumbsBand(base.data.length, p.density, p.gamma);
    const sp = deltas.map((d: Matrix) => bandSparsifier(d.data, nTop, nKeep));
    return runGta(base, sp, weights, {
      consensus: p.consensus,
      normalize: p.normalize,
      lambda: p.lambda,
      noConsensusDivisor: weightSumDivisor(weights),
      zeroSign: 'plus',
    });
  },
});
