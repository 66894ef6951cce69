/**
 * The generalized-task-arithmetic driver shared by ties, magnitude, sign, dare,
 * dare_ties and breadcrumbs: stream the k deltas in row blocks, let each delta's
 * sparsifier write w_i·kept(Δ_i) into its block buffer, then elect and combine
 * (sign.ts) straight into the output.
 *
 * Memory: the output (N Float32) plus k Float32 and 3 Float64 block buffers of
 * blockLength(cols) entries (64–128 KB each); no N-sized temporaries. Time: one pass over every delta
 * (plus the sparsifiers' own selection passes), and for the original-TIES majority rule
 * a second pass only when some zero-sum element had members and the majority is −.
 *
 * Reference: mergekit `generalized_task_arithmetic.py` (sparsify → weight → consensus →
 * normalize → λ); ties-merging `resolve_zero_signs` for the majority rule.
 */
import { combineBlock, makeScratch, type CombineSpec, type SignTally } from './sign.js';
import type { Sparsifier } from './sparsify.js';
import { blockLength, colsOf, type Matrix } from './types.js';

export interface GtaSpec extends CombineSpec {
  /** 'plus': a zero elected sum counts as + (mergekit/EasyEdit). 'majority': original TIES. */
  readonly zeroSign: 'plus' | 'majority';
}

/**
 * Runs the driver. `weights` are the per-delta weights w_i (≥ 0 whenever consensus is
 * 'sum'); each sparsifier's `scale` multiplies its kept values on top of w_i.
 */
export function runGta(base: Matrix, sparsifiers: readonly Sparsifier[], weights: readonly number[], spec: GtaSpec): Float32Array {
  const n = base.data.length;
  const out = new Float32Array(n);
  if (n === 0 || sparsifiers.length === 0) return out;
  const block = Math.min(n, blockLength(colsOf(base.shape)));
  const vals = sparsifiers.map(() => new Float32Array(block));
  const bits = vals.map((v) => new Uint32Array(v.buffer));
  const valueWeights = sparsifiers.map((sp, i) => (weights[i] as number) * sp.scale);
  const scratch = makeScratch(block);
  const majority = spec.consensus === 'sum' && spec.zeroSign === 'majority';
  const tally: SignTally | null = majority ? { pos: 0, neg: 0, ambiguous: 0 } : null;

  const pass = (zeroNegative: boolean): void => {
    for (let start = 0; start < n; start += block) {
      const end = Math.min(n, start + block);
      for (let i = 0; i < sparsifiers.length; i++) (sparsifiers[i] as Sparsifier).fill(start, end, bits[i] as Uint32Array);
      combineBlock(bits, vals, valueWeights, weights, end - start, spec, out, start, scratch, zeroNegative ? null : tally, zeroNegative);
    }
  };

  pass(false);
  // Original TIES: γ_p = 0 takes sign(Σ_p γ_p); a zero majority falls to "< 0" exactly as
  // torch.where(sign > 0, τ > 0, τ < 0) does in the reference. Only elements with a zero
  // sum *and* members can change, so the re-pass runs only when such elements exist.
  if (tally !== null && tally.ambiguous > 0 && !(tally.pos > tally.neg)) {
    for (const s of sparsifiers) s.reset();
    pass(true);
  }
  return out;
}
