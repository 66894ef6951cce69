/**
 * Model Stock (Jang et al. 2024, arXiv 2403.19522; mergekit merge_methods/model_stock.py) as a registry method over
 * (base, deltas): k ≥ 2 deltas Δ_i = W_i − W0; cos θ the mean over the pairs (i < j) of cos(Δ_i, Δ_j) (each clamped to
 * [−1, 1], norms' product at least 1e-6, as mergekit's), t = k cos θ / (1 + (k − 1) cos θ), and the merged delta
 * t · mean(Δ_i), so W = t · mean(W_i) + (1 − t) · W0.
 *
 * `filter_wise` takes θ and t per row (the last axis; a 1-D tensor is one row), as mergekit's option; otherwise one θ
 * over the whole matrix. Weights are not used (mergekit's model_stock takes none). Float64 sums; Float32 once; the
 * pairs are summed in delta order, so permuting the deltas can change the last bits.
 */
import { z } from 'zod';
import { WiseError } from '../util/errors.js';
import { defineMethod } from './registry.js';
import { colsOf, type Matrix } from './types.js';

/** t for the deltas' entries [from, to): k cos θ / (1 + (k − 1) cos θ), cos θ the pairs' mean cosine. */
function stockT(deltas: readonly Matrix[], from: number, to: number): number {
  const k = deltas.length;
  const norms = deltas.map((d) => {
    let s = 0;
    for (let i = from; i < to; i++) s += d.data[i]! * d.data[i]!;
    return Math.sqrt(s);
  });
  let sum = 0;
  let pairs = 0;
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      let dot = 0;
      for (let i = from; i < to; i++) dot += deltas[a]!.data[i]! * deltas[b]!.data[i]!;
      sum += Math.min(1, Math.max(-1, dot / Math.max(norms[a]! * norms[b]!, 1e-6)));
      pairs++;
    }
  }
  const cos = sum / pairs;
  return (k * cos) / (1 + (k - 1) * cos);
}

export const modelStock = defineMethod({
  name: 'model_stock',
  description: 'the deltas\' mean scaled by t = k cos θ / (1 + (k − 1) cos θ), θ their mean pairwise angle (per row with filter_wise); mergekit model_stock',
  schema: z.strictObject({ filter_wise: z.boolean().default(false) }),
  orderInvariant: false, // the pairs' cosines are summed in delta order: invariant up to rounding only
  allowsNegativeWeights: () => true,
  merge(base, deltas, _weights, p) {
    if (deltas.length < 2) throw new WiseError('WISE_MERGE_PARAM', `model_stock: needs at least two deltas (two models besides the base), got ${deltas.length}`, { param: 'deltas', method: 'model_stock' });
    const n = base.data.length;
    const rows = p.filter_wise ? colsOf(base.shape) : n;
    const out = new Float32Array(n);
    for (let from = 0; from < n; from += rows) {
      const to = Math.min(n, from + rows);
      const t = stockT(deltas, from, to);
      for (let i = from; i < to; i++) {
        let s = 0;
        for (const d of deltas) s += d.data[i]!;
        out[i] = (t * s) / deltas.length;
      }
    }
    return out;
  },
});
