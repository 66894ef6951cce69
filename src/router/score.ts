/**
 * The WISE activation score of a side memory, as a graph piece.
 *
 * Per token t: d_t = ‖A(x)_t (W′ − W)ᵀ‖₂ (the paper's Eq. 3; `delta` is A(x)(W′−W)ᵀ, (B, T, d)).
 * Per sequence: the mean of d_t over non-padding tokens (EasyEdit averages over padding too,
 * which makes a sequence's score depend on its batch); sequences longer than `maxMean`
 * tokens use the max over tokens instead (EasyEdit's rule at inference).
 * The norm is sqrt(Σ δ² + 1e-12): the tiny floor keeps the gradient finite where W′ = W.
 *
 * Routing statistic (RouteStat, our addition, wise.route_topk / wise.route_normalize): a token's
 * score may be divided by ‖A(x)_t‖ (a memory then answers the direction of a token's activation,
 * not its loudness: a loud unrelated prompt no longer clears every memory's ε), and a sequence's
 * score may be the mean of its k highest token scores instead of the mean over all tokens (a
 * rephrase that keeps the subject's tokens but changes the rest keeps its score).
 */
import { ops, type Value } from '../graph/index.js';
import { quantizedProduct } from './quant.js';

/** Per-token norms (B, T) of delta (B, T, d), over `axis` (the d axis; default the last). */
export function tokenNorms(delta: Value, axis = -1): Value {
  return ops.sqrt(ops.add(ops.reduceSum(ops.mul(delta, delta), [axis]), 1e-12));
}

/** How a sequence's routing score is formed from its tokens' scores. */
export interface RouteStat {
  /** 0: the mean over real tokens; k > 0: the mean of the k highest (fewer when the sequence is shorter) */
  topk: number;
  /** divide each token's score by ‖A(x)_t‖ */
  normalize: boolean;
}

/** The paper's statistic: the mean of the raw token norms. */
export const PLAIN_STAT: RouteStat = { topk: 0, normalize: false };

export const isPlain = (s: RouteStat): boolean => s.topk === 0 && !s.normalize;

/** ‖a_t‖ (…) of activations a (…, ff), floored like tokenNorms. */
export function activationNorms(a: Value): Value {
  return ops.sqrt(ops.add(ops.reduceSum(ops.mul(a, a), [-1]), 1e-12));
}

/**
 * The mean of the k largest entries of x (…, T) ≥ 0 over its last axis where mask (…, T) is 1,
 * → (…). Each of the k rounds takes the max and removes every entry equal to it (exact float
 * ties among real tokens count once: deterministic, and equal in every graph that scores the
 * same tokens); padding entries are 0, so they only enter when fewer than k tokens are real,
 * and the divisor is min(k, real tokens).
 */
export function topkMean(x: Value, mask: Value, k: number): Value {
  let rest = ops.mul(x, mask);
  let sum: Value | null = null;
  for (let i = 0; i < k; i++) {
    const m = ops.reduceMax(rest, [-1], true); // (…, 1)
    const kept = ops.max(m, 0); // a round past the real tokens yields 0 or −1
    sum = sum ? ops.add(sum, kept) : kept;
    if (i + 1 < k) rest = ops.where(ops.equal(rest, m), -1, rest);
  }
  const count = ops.reduceSum(mask, [-1], true); // (…, 1)
  const denom = ops.max(ops.where(ops.less(count, k), count, k), 1); // min(k, real tokens), at least 1
  return ops.reduceSum(ops.div(sum!, denom), [-1]); // drops the singleton axis
}

/**
 * Sequence scores (B,) from per-token norms (B, T) and a token mask (B, T) of 1/0 floats.
 * `useMax` (B,) bool selects the max over real tokens instead of the mean (long sequences);
 * omit it in gradient graphs (training rows are short).
 */
export function sequenceScore(norms: Value, tokenMask: Value, useMax?: Value | 'always', topk = 0): Value {
  if (useMax === 'always') return ops.reduceMax(ops.mul(norms, tokenMask), [-1]);
  const count = ops.max(ops.reduceSum(tokenMask, [-1]), 1); // (B,)
  const mean = topk > 0 ? topkMean(norms, tokenMask, topk) : ops.div(ops.reduceSum(ops.mul(norms, tokenMask), [-1]), count); // (B,)
  if (!useMax) return mean;
  const mx = ops.reduceMax(ops.mul(norms, tokenMask), [-1]); // norms ≥ 0, so masked entries (0) never win
  return ops.where(useMax, mx, mean);
}

/** Token scores (P, T) of δ = A(x)Δᵀ (P, T, d) for activations a (P, T, ff) under `stat`. */
export function tokenScores(delta: Value, a: Value, stat: RouteStat): Value {
  const n = tokenNorms(delta);
  return stat.normalize ? ops.div(n, activationNorms(a)) : n;
}

/**
 * Every memory's δ_k and score at once from the stacked deltas (router/stack.ts):
 * a (B, T, ff) · stack (ff, M·d) → deltas (B, T, M, d), scores (B, M) as sequenceScore
 * computes them per memory (tokenMask (B, T), useMax (B,) bool), under `stat`.
 * With `channels` (K,) int64 (router/support.ts) the stack holds only those rows (K, M·d) and
 * a's columns are gathered to match; ‖A(x)_t‖ for route_normalize still uses every channel.
 * `left`: the stack is (M·d, ff) (or (M·d, K)), StackOrder 'rows', and is the left operand; the
 * deltas then stay in that product's layout, (B, M, d, T) (`byMemory`), and the norms are taken
 * over its d axis: no transpose of the (B, T, M·d) product (router.ts reads the chosen block).
 */
export function stackedScores(a: Value, stack: Value, M: number, d: number, tokenMask: Value, useMax: Value, stat: RouteStat = PLAIN_STAT, channels?: Value, left = false): { deltas: Value; scores: Value; byMemory: boolean } {
  const [B, T] = a.shape;
  if (left) {
    // stack (M·d, F) · aᵀ (B, F, T) per sequence: MLAS packs the small (F, T) operand instead of
    // the stack (router.ts leftOperand: faster while M·d is small; each sequence reads the stack)
    const aT = ops.transpose(a, [0, 2, 1]);
    const deltas = ops.reshape(ops.matmul(stack, channels ? ops.gather(aT, channels, 1) : aT), [B!, M, d, T!]); // (B, M, d, T)
    const n = normalized(tokenNorms(deltas, 2), a, stat, 1); // (B, M, T)
    return { deltas, scores: memoryScores(n, tokenMask, useMax, stat), byMemory: true };
  }
  const y = ops.matmul(channels ? ops.gather(a, channels, 2) : a, stack); // (B, T, M·d)
  const deltas = ops.reshape(y, [B!, T!, M, d]);
  return { deltas, scores: normScores(tokenNorms(deltas), a, tokenMask, useMax, stat), byMemory: false };
}

/**
 * The same scores from the stack quantized per column (router/quant.ts): q (ff, M·d) int8,
 * scale (M·d,) float. ‖δ_k,t‖ = rowScale_t × ‖y_t,k‖: the row scale is applied to the (B, T, M)
 * norms, not to the (B, T, M·d) product.
 */
export function quantizedStackedScores(a: Value, q: Value, scale: Value, M: number, d: number, tokenMask: Value, useMax: Value, stat: RouteStat = PLAIN_STAT): Value {
  const [B, T] = a.shape;
  const { y, rowScale } = quantizedProduct(a, q, scale); // (B, T, M·d), (B, T, 1)
  const norms = ops.mul(tokenNorms(ops.reshape(y, [B!, T!, M, d])), rowScale); // (B, T, M)
  return normScores(norms, a, tokenMask, useMax, stat);
}

/** Scores (B, M) from every memory's token norms (B, T, M), for activations a (B, T, ff). */
function normScores(norms: Value, a: Value, tokenMask: Value, useMax: Value, stat: RouteStat): Value {
  return memoryScores(ops.transpose(normalized(norms, a, stat, 2), [0, 2, 1]), tokenMask, useMax, stat);
}

/** Token norms with a memory axis at `memAxis`, divided by ‖A(x)_t‖ (broadcast over that axis) when `stat` normalizes. */
function normalized(norms: Value, a: Value, stat: RouteStat, memAxis: number): Value {
  return stat.normalize ? ops.div(norms, ops.unsqueeze(activationNorms(a), [memAxis])) : norms;
}

/** Scores (B, M) from every memory's token scores (B, M, T) (normalized already if `stat` says so). */
function memoryScores(n: Value, tokenMask: Value, useMax: Value, stat: RouteStat): Value {
  return sequenceScore(n, ops.unsqueeze(tokenMask, [1]), ops.unsqueeze(useMax, [1]), stat.topk);
}
