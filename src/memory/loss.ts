/**
 * The WISE editing loss as a graph piece: L = L_edit + L_a (wise-reference.md §1.5).
 *
 * L_edit: target-token NLL of the edit rows (the caller's row weights average it per row,
 *   then over rows). L_a, the activation margin, on sequence scores s (R,) where rows with
 *   isEdit = 1 are edit rows (in_j) and the one row with isEdit = 0 is the irrelevant sample
 *   (out):
 *     margin = mean over positive entries of (out − in_j + γ)
 *     upper  = relu(out − α)
 *     lower  = mean over positive entries of (β − in_j)
 *   "Mean over positive entries" is Σ relu(x) / max(#(x > 0), 1): a term is 0 when no entry
 *   is positive, as in EasyEdit.
 */
import { ops, type Value } from '../graph/index.js';

export interface MarginParams {
  alpha: number;
  beta: number;
  gamma: number;
  /** weight of L_a against L_edit (1 in WISE); a small model's scores can be large next to its NLL gradient */
  weight?: number;
}

function meanPositive(x: Value, weight: Value): Value {
  const pos = ops.mul(ops.relu(x), weight);
  const count = ops.reduceSum(ops.mul(ops.cast(ops.greater(x, 0), x.dtype), weight));
  return ops.div(ops.reduceSum(pos), ops.max(count, 1));
}

/**
 * scores (R,), isEdit (R,) 1/0 floats → scalar L_a. Rows with isEdit = 0 are irrelevant samples
 * (or, given `isOutRows` (R,), the rows marked 1 there: bucket padding has 0 in both);
 * EasyEdit uses exactly one. With several, `margin` runs over every (irrelevant, edit) pair and
 * `upper` over every irrelevant row, each averaged over its positive entries — for one
 * irrelevant row this is exactly EasyEdit's loss.
 */
export function marginLoss(scores: Value, isEdit: Value, p: MarginParams, isOutRows?: Value): Value {
  const isOut = isOutRows ?? ops.sub(1, isEdit); // (R,): padding rows have 0 in both
  const sOut = ops.unsqueeze(scores, [1]); // (R, 1): row i as the irrelevant sample
  const sIn = ops.unsqueeze(scores, [0]); // (1, R): row j as the edit row
  const pairW = ops.mul(ops.unsqueeze(isOut, [1]), ops.unsqueeze(isEdit, [0])); // (R, R)
  const margin = meanPositive(ops.add(ops.sub(sOut, sIn), p.gamma), pairW);
  const upper = meanPositive(ops.sub(scores, p.alpha), isOut);
  const lower = meanPositive(ops.sub(p.beta, scores), isEdit);
  const la = ops.add(ops.add(margin, upper), lower);
  return p.weight === undefined || p.weight === 1 ? la : ops.mul(la, p.weight);
}
