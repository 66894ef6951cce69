/**
 * DELLA (Deep, Hoque, Morgan 2024, "DELLA-Merging: Reducing Interference in Model Merging through Magnitude-Based
 * Sampling"; mergekit `della` / `della_linear`, sparsify.py `della_magprune`), on the GTA driver (gta.ts):
 *
 * - MagPrune: within each row (the last axis of the stored matrix, as mergekit ranks along dim 1), entry j of a row
 *   of c entries, ranked r ∈ [0, c) by ascending |Δ| (equal magnitudes by index), is kept with probability
 *     p = (d − ε) + 2ε · r / (c − 1)          (a row of one entry: p = d)
 *   so the row's largest entries are the likeliest kept and the mean keep rate is d. Rescale 'inverse' writes Δ/p
 *   (the paper; mergekit's first `rank_magnitude_sampling`), 'l1' multiplies the kept entries by ‖Δ‖₁/‖kept‖₁ (mergekit's
 *   current `della_magprune` with rescale), 'none' keeps Δ.
 * - `della`: then the sign election on Σ w Δ̃ (≥ 0 → +) and the weighted mean of the agreeing entries (mergekit's
 *   della: consensus sum, normalize true), × λ.
 * - `della_linear`: λ · Σ w Δ̃ (mergekit: no consensus, normalize false).
 *
 * Randomness as DARE's (dare.ts): delta i draws one uint32 per entry in index order from new Rng(deltaSeed(seed, i)),
 * and an entry is dropped iff draw < round((1 − p)·2³²); so ε = 0 drops exactly the entries DARE drops at its
 * p = 1 − d. d = 1 keeps every entry unscaled (mergekit returns the tensor). d ± ε must lie in (0, 1) otherwise, as
 * mergekit requires. Permuting deltas changes the result (per-delta streams).
 */
import { z } from 'zod';
import { Rng } from '../util/rng.js';
import { runGta } from './gta.js';
import { defineMethod } from './registry.js';
import { denseSparsifier, deltaSeed, type Sparsifier } from './sparsify.js';
import { weightSumDivisor } from './ties.js';
import { colsOf, type Matrix } from './types.js';

/** Keep probability of each entry of one row (`row`: its c values): (d − ε) + 2ε · rank/(c − 1), rank by ascending |Δ|. */
export function dellaKeepProbs(row: Float32Array, density: number, epsilon: number, out: Float64Array = new Float64Array(row.length)): Float64Array {
  const c = row.length;
  if (c === 1) out[0] = density;
  if (c <= 1) return out;
  const order = Uint32Array.from({ length: c }, (_, j) => j).sort((a, b) => Math.abs(row[a]!) - Math.abs(row[b]!) || a - b);
  for (let r = 0; r < c; r++) out[order[r]!] = density - epsilon + (2 * epsilon * r) / (c - 1);
  return out;
}

/** Drop threshold on a uint32 draw for keep probability p (dare.ts's convention at drop probability 1 − p). */
const dropCut = (p: number): number => Math.min(4294967296, Math.round((1 - p) * 4294967296));

/**
 * MagPrune over a (rows, cols) matrix, streamed in index order: each row's keep probabilities are computed when the
 * stream enters it (a block may end inside a row; the row's probabilities are kept until it ends).
 */
export function dellaSparsifier(data: Float32Array, cols: number, density: number, epsilon: number, seed: number, rescale: 'inverse' | 'l1' | 'none'): Sparsifier {
  if (density >= 1) return denseSparsifier(data);
  const probs = new Float64Array(cols);
  let row = -1;
  const probAt = (i: number): number => {
    const r = Math.floor(i / cols);
    if (r !== row) dellaKeepProbs(data.subarray(r * cols, (r + 1) * cols), density, epsilon, probs), (row = r);
    return probs[i - r * cols]!;
  };
  let scale = 1;
  if (rescale === 'l1') {
    // ‖Δ‖₁ / ‖kept‖₁ from a prepass replaying the same stream (no mask buffer); nothing kept: 1, as dare.ts
    const rng = new Rng(seed);
    let all = 0;
    let kept = 0;
    for (let i = 0; i < data.length; i++) {
      const a = Math.abs(data[i]!);
      all += a;
      if (rng.nextU32() >= dropCut(probAt(i))) kept += a;
    }
    scale = kept > 0 ? all / kept : 1;
  }
  let rng = new Rng(seed);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  return {
    scale,
    fill(start, end, out) {
      for (let i = start, j = 0; i < end; i++, j++) {
        const p = probAt(i);
        if (rng.nextU32() < dropCut(p)) out[j] = 0;
        else {
          f[0] = rescale === 'inverse' ? data[i]! / p : data[i]!;
          out[j] = bits[0]!;
        }
      }
    },
    reset() {
      rng = new Rng(seed);
    },
  };
}

const common = {
  density: z.number().gt(0).lte(1).default(0.53),
  epsilon: z.number().gte(0).default(0.15),
  seed: z.number().int().gte(0).lte(0xffffffff),
  rescale: z.enum(['inverse', 'l1', 'none']).default('inverse'),
  lambda: z.number().default(1),
};

/** mergekit's check: d ± ε inside (0, 1) unless d = 1 (then nothing is dropped). */
const bandInside = (p: { density: number; epsilon: number }): boolean => p.density >= 1 || (p.density - p.epsilon > 0 && p.density + p.epsilon < 1);
const bandIssue = { message: 'density ± epsilon must lie inside (0, 1)', path: ['epsilon'] };

const dellaSchema = z.strictObject({ ...common, normalize: z.boolean().default(true) }).refine(bandInside, bandIssue);
const dellaLinearSchema = z.strictObject({ ...common, normalize: z.boolean().default(false) }).refine(bandInside, bandIssue);

type DellaParams = z.infer<typeof dellaSchema>;

const sparsifiers = (deltas: readonly Matrix[], p: DellaParams): Sparsifier[] =>
  deltas.map((d, i) => dellaSparsifier(d.data, colsOf(d.shape), p.density, p.epsilon, deltaSeed(p.seed, i), p.rescale));

export const della = defineMethod({
  name: 'della',
  description: 'MagPrune (keep probability by magnitude rank per row, d ± ε) + rescale, sign election, weighted mean of agreeing entries; mergekit della',
  schema: dellaSchema,
  orderInvariant: false,
  allowsNegativeWeights: () => false,
  merge(base, deltas, weights, p) {
    return runGta(base, sparsifiers(deltas, p), weights, { consensus: 'sum', normalize: p.normalize, lambda: p.lambda, noConsensusDivisor: 1, zeroSign: 'plus' });
  },
});

export const dellaLinear = defineMethod({
  name: 'della_linear',
  description: 'MagPrune + rescale, then λ·Σ w·Δ (÷ Σ w with normalize); mergekit della_linear',
  schema: dellaLinearSchema,
  orderInvariant: false,
  allowsNegativeWeights: (p) => !p.normalize,
  merge(base, deltas, weights, p) {
    return runGta(base, sparsifiers(deltas, p), weights, { consensus: 'none', normalize: p.normalize, lambda: p.lambda, noConsensusDivisor: weightSumDivisor(weights), zeroSign: 'plus' });
  },
});
