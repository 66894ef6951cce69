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

/** scores (R,), isEdit (R,) 1/0 floats with exactly one 0 → scalar L_a. */
export function marginLoss(scores: Value, isEdit: Value, p: MarginParams): Value {
  const isOut = ops.sub(1, isEdit);
  const out = ops.reduceSum(ops.mul(scores, isOut)); // scalar: the irrelevant row's score
  const margin = meanPositive(ops.add(ops.sub(out, scores), p.gamma), isEdit);
  const upper = ops.relu(ops.sub(out, p.alpha));
  const lower = meanPositive(ops.sub(p.beta, scores), isEdit);
  const la = ops.add(ops.add(margin, upper), lower);
  return p.weight === undefined || p.weight === 1 ? la : ops.mul(la, p.weight);
}
