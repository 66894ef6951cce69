/**
 * DARE (Yu et al. 2024, "Language Models are Super Mario"; yule-BUAA/MergeLM) and
 * DARE+TIES, on the GTA driver (gta.ts):
 * - `dare`:      Δ̃_i = (1−B_i)⊙Δ_i·r, B_i ~ Bernoulli(p) from a seeded PRNG, then
 *                λ·Σ w_i Δ̃_i (mergekit `dare_linear`, EasyEdit `dare_linear`).
 * - `dare_ties`: the same drop, then sign election on Σ w_i Δ̃_i (≥ 0 → +) and the sum of
 *                the agreeing entries (mergekit/EasyEdit `dare_ties`: normalize off;
 *                `normalize: true` gives the disjoint weighted mean instead).
 * Rescale r: 'inverse' 1/(1−p) (the paper; default), 'l1' ‖Δ‖₁/‖m⊙Δ‖₁ per matrix
 * (mergekit since be52668; equal in expectation), 'none'.
 * p default 0.47 = 1 − WISE's `densities` 0.53 (mergekit's density keeps with
 * probability d, so p = 1 − d). `seed` is required so each merge records it.
 * Randomness: delta i draws one uint32 per entry, in index order, from
 * new Rng(deltaSeed(seed, i)) (src/util/rng.ts); an entry drops iff draw < round(p·2³²).
 * Because the stream follows the delta's position, permuting deltas changes the result.
 */
import { z } from 'zod';
import { runGta } from './gta.js';
import { defineMethod } from './registry.js';
import { deltaSeed, randomSparsifier } from './sparsify.js';
import type { Matrix } from './types.js';

const common = {
  p: z.number().gte(0).lt(1).default(0.47),
  seed: z.number().int().gte(0).lte(0xffffffff),
  rescale: z.enum(['inverse', 'l1', 'none']).default('inverse'),
  lambda: z.number().default(1),
};

const dareSchema = z.strictObject(common);
const dareTiesSchema = z.strictObject({ ...common, normalize: z.boolean().default(false) });

export const dare = defineMethod({
  name: 'dare',
  description: 'seeded Bernoulli(p) drop, rescale 1/(1−p) (or L1), then λ·Σ w·Δ; DARE paper / mergekit dare_linear',
  schema: dareSchema,
  orderInvariant: false,
  allowsNegativeWeights: () => true,
  merge(base, deltas, weights, p) {
    const sp = deltas.map((d: Matrix, i: number) => randomSparsifier(d.data, p.p, deltaSeed(p.seed, i), p.rescale));
    return runGta(base, sp, weights, { consensus: 'none', normalize: false, lambda: p.lambda, noConsensusDivisor: 1, zeroSign: 'plus' });
  },
});

export const dareTies = defineMethod({
  name: 'dare_ties',
  description: 'DARE drop + rescale, then sign election (≥ 0 → +) and sum of agreeing entries; mergekit/EasyEdit dare_ties',
  schema: dareTiesSchema,
  orderInvariant: false,
  allowsNegativeWeights: () => false,
  merge(base, deltas, weights, p) {
    const sp = deltas.map((d: Matrix, i: number) => randomSparsifier(d.data, p.p, deltaSeed(p.seed, i), p.rescale));
    return runGta(base, sp, weights, { consensus: 'sum', normalize: p.normalize, lambda: p.lambda, noConsensusDivisor: 1, zeroSign: 'plus' });
  },
});
