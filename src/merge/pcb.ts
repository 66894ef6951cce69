/**
 * PCB-Merging (Du et al. 2024, duguodong7/pcb-merging `PCB_merge`, NLP code for the
 * inter-balancing), per matrix with N entries and k deltas τ_i:
 * 1. Outlier clamp: a_i = clamp(|τ_i|, q_lo, q_hi) with q_lo = asc[⌊N·o⌋],
 *    q_hi = asc[⌊N·(1−o)⌋−1] of |τ_i| (the reference's sorted-index quantiles, here by
 *    radix select); τ̃_i = sign(τ_i)·a_i. o = `outlierRatio` (0.01 NLP/vision; 0.0001 in
 *    pcb-merging.py).
 * 2. Intra-balancing: exp(k·Norm(a_i)²), Norm = per-task min-max = (a−q_lo)/(q_hi−q_lo).
 * 3. Inter-balancing: tanh(τ_i ⊙ Σ_j τ_j) (raw τ, unweighted sum as in the code).
 * 4. s_i = intra·inter (Float32). q = asc[⌊N·(1−r)⌋] of s_i, M = max s_i;
 *    β_i = (max(s_i, q) − q)/(M − q): only the scores above q survive, in (0, 1].
 * 5. merged = λ·Σ_i w_i β_i τ̃_i / max(Σ_i w_i β_i, 1e-12) (w_i = 1 is the reference).
 * Guards: intra is computed as exp(k·(Norm² − 1)) ∈ (0, 1], i.e. divided by the per-task
 * constant e^k, which cancels exactly in step 4's min-max, so no overflow for any k
 * (the reference overflows Float32 for k > 88). Constant |τ_i| (q_hi = q_lo) gives
 * Norm = 0; constant scores (M = q) give β_i = 0 (no entry is above the boundary).
 * Memory: the output, one N Float32 buffer for Σ_j τ_j, and per-block score buffers;
 * scores are recomputed per pass (3 evaluations per entry) instead of stored.
 */
import { z } from 'zod';
import { defineMethod } from './registry.js';
import { absKeyScan, floatOfAbsKey, floatOfSignedKey, selectKeyRanks, signedKey, type KeyScan } from './select.js';
import { blockLength, colsOf, type Matrix } from './types.js';

const schema = z.strictObject({
  ratio: z.number().gt(0).lte(1).default(0.1),
  outlierRatio: z.number().gte(0).lt(0.5).default(0.01),
  lambda: z.number().default(1),
});
export type PcbParams = z.output<typeof schema>;

interface TaskStats {
  qlo: number;
  qhi: number;
  /** score boundary q and max M (step 4) */
  q: number;
  max: number;
}

/** Writes the Float32 scores s_i[start..end) of one task into out (steps 1–4). */
function scoreBlock(tau: Float32Array, sum: Float32Array, k: number, st: TaskStats, start: number, end: number, out: Float32Array): void {
  const { qlo, qhi } = st;
  const span = qhi - qlo;
  const inv = span > 0 ? 1 / span : 0;
  for (let i = start, j = 0; i < end; i++, j++) {
    const v = tau[i] as number;
    let a = Math.abs(v);
    a = a < qlo ? qlo : a > qhi ? qhi : a;
    const x = (a - qlo) * inv;
    out[j] = Math.exp(k * (x * x - 1)) * Math.tanh(v * (sum[i] as number));
  }
}

/** Clamp quantiles of |τ| (step 1), both from one two-pass histogram select. */
function clampBounds(tau: Float32Array, o: number): [number, number] {
  const n = tau.length;
  const jLo = Math.floor(n * o);
  const jHi = Math.max(jLo, Math.floor(n * (1 - o)) - 1);
  const { hits } = selectKeyRanks(absKeyScan(tau), [n - 1 - jLo, n - 1 - jHi]);
  return [floatOfAbsKey((hits[0] as { key: number }).key), floatOfAbsKey((hits[1] as { key: number }).key)];
}

export function pcbMerge(base: Matrix, deltas: readonly Matrix[], weights: readonly number[], p: PcbParams): Float32Array {
  const n = base.data.length;
  const k = deltas.length;
  const out = new Float32Array(n);
  if (n === 0) return out;
  const block = Math.min(n, blockLength(colsOf(base.shape)));

  // Σ_j τ_j: the one full-size scratch buffer (rounded once from a Float64 sum).
  const sum = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += (deltas[j] as Matrix).data[i] as number;
    sum[i] = s;
  }

  const scores = new Float32Array(block);
  const bits = new Uint32Array(scores.buffer);
  const keys = new Uint32Array(block);
  const stats: TaskStats[] = deltas.map((d) => {
    const [qlo, qhi] = clampBounds(d.data, p.outlierRatio);
    const st: TaskStats = { qlo, qhi, q: 0, max: 0 };
    const scan: KeyScan = (visit) => {
      for (let s = 0; s < n; s += block) {
        const e = Math.min(n, s + block);
        scoreBlock(d.data, sum, k, st, s, e, scores);
        for (let j = 0; j < e - s; j++) keys[j] = signedKey(bits[j] as number);
        visit(keys, e - s);
      }
    };
    const jS = Math.min(n - 1, Math.floor(n * (1 - p.ratio)));
    const { hits } = selectKeyRanks(scan, [n - 1 - jS, 0]);
    st.q = floatOfSignedKey((hits[0] as { key: number }).key);
    st.max = floatOfSignedKey((hits[1] as { key: number }).key);
    return st;
  });

  // Step 5, streamed: per block, every task's β and τ̃ are recomputed from its scores.
  const num = new Float64Array(block);
  const den = new Float64Array(block);
  for (let s = 0; s < n; s += block) {
    const e = Math.min(n, s + block);
    const len = e - s;
    num.fill(0, 0, len);
    den.fill(0, 0, len);
    for (let t = 0; t < k; t++) {
      const st = stats[t] as TaskStats;
      const range = st.max - st.q;
      if (!(range > 0)) continue; // constant scores: β = 0 everywhere
      const inv = 1 / range;
      const w = weights[t] as number;
      const tau = (deltas[t] as Matrix).data;
      scoreBlock(tau, sum, k, st, s, e, scores);
      for (let j = 0; j < len; j++) {
        const sc = scores[j] as number;
        if (!(sc > st.q)) continue;
        const wb = w * (sc - st.q) * inv;
        const v = tau[s + j] as number;
        const a = Math.abs(v);
        const c = a < st.qlo ? st.qlo : a > st.qhi ? st.qhi : a; // τ̃ = sign(τ)·a
        num[j] = (num[j] as number) + wb * (v < 0 ? -c : v > 0 ? c : 0);
        den[j] = (den[j] as number) + wb;
      }
    }
    for (let j = 0; j < len; j++) out[s + j] = (p.lambda * (num[j] as number)) / Math.max(den[j] as number, 1e-12);
  }
  return out;
}

export const pcb = defineMethod({
  name: 'pcb',
  description: 'outlier clamp, intra exp(k·norm²) × inter tanh(τ·Στ), keep top-r scores (min-max β), weighted mean; duguodong7/pcb-merging',
  schema,
  orderInvariant: true,
  allowsNegativeWeights: () => false,
  merge(base, deltas, weights, p) {
    return pcbMerge(base, deltas, weights, p);
  },
});
