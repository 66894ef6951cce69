/**
 * Sign election and the disjoint (weighted) mean, applied to one row block.
 *
 * Input: k block buffers holding kept(Δ_i) as Float32 bits (sparsify.ts), the value
 * weights v_i = w_i·scale_i and the count weights w_i. With t_i = v_i·kept(Δ_i):
 * - consensus 'sum': γ_p = sign(Σ_i t_i[p]); a zero sum elects + (mergekit/EasyEdit:
 *   "≥ 0 → +"), or − in the fix-up pass of the original TIES majority rule (gta.ts).
 *   Members A_p = {i : t_i[p] ≠ 0 with the sign of γ_p}; zeros never count.
 *   merged = Σ_{A_p} t_i / Σ_{A_p} w_i (an empty A_p gives 0) when `normalize`, else the sum.
 * - consensus 'none': merged = Σ_i t_i, divided by `noConsensusDivisor` (mergekit: Σ_i w_i)
 *   when `normalize`.
 * Output: out[off+p] = λ·merged, rounded once to Float32 (sums are Float64).
 * Membership is decided on sign bits with integer ops, without branches (random signs
 * would mispredict half the time). Weights are ≥ 0 wherever consensus is used, so the
 * sign of t_i is the sign of Δ_i.
 *
 * Reference: ties-merging `resolve_sign`/`disjoint_merge`; mergekit GTA `get_mask`
 * (method "sum") and the `normalize` divisor.
 */

export type Consensus = 'none' | 'sum';

export interface CombineSpec {
  readonly consensus: Consensus;
  readonly normalize: boolean;
  readonly lambda: number;
  /** Divisor used by normalize when consensus is 'none'. */
  readonly noConsensusDivisor: number;
}

/** Per-block Float64 scratch, allocated once per merge call. */
export interface CombineScratch {
  readonly sum: Float64Array;
  /** 32-bit view of `sum`; sumU[2p + HI] holds the sign bit of sum[p]. */
  readonly sumU: Uint32Array;
  readonly num: Float64Array;
  readonly den: Float64Array;
}

/** Index of the high (sign) word of a Float64 inside its two Uint32 words. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

export function makeScratch(block: number): CombineScratch {
  const sum = new Float64Array(block);
  return { sum, sumU: new Uint32Array(sum.buffer), num: new Float64Array(block), den: new Float64Array(block) };
}

/** Counts for the original TIES zero-sum rule: sign(Σ_p γ_p), and how many p had Σ = 0 but members. */
export interface SignTally {
  pos: number;
  neg: number;
  ambiguous: number;
}

/**
 * Combines one block of n elements into out[off..off+n).
 * zeroNegative: a zero sum elects − (original-TIES fix-up pass); with it, only the
 * elements whose sum is exactly 0 are written and all others are left untouched.
 */
export function combineBlock(
  bits: readonly Uint32Array[],
  vals: readonly Float32Array[],
  valueWeights: readonly number[],
  countWeights: readonly number[],
  n: number,
  spec: CombineSpec,
  out: Float32Array,
  off: number,
  s: CombineScratch,
  tally: SignTally | null,
  zeroNegative = false,
): void {
  const k = vals.length;
  const lambda = spec.lambda;
  const sum = s.sum;
  const t0 = vals[0] as Float32Array;
  const v0 = valueWeights[0] as number;
  for (let p = 0; p < n; p++) sum[p] = v0 * (t0[p] as number);
  for (let i = 1; i < k; i++) {
    const ti = vals[i] as Float32Array;
    const vi = valueWeights[i] as number;
    for (let p = 0; p < n; p++) sum[p] = (sum[p] as number) + vi * (ti[p] as number);
  }
  if (spec.consensus === 'none') {
    const scale = spec.normalize ? lambda / spec.noConsensusDivisor : lambda;
    for (let p = 0; p < n; p++) out[off + p] = scale * (sum[p] as number);
    return;
  }
  const sumU = s.sumU;
  const num = s.num;
  const den = s.den;
  num.fill(0, 0, n);
  den.fill(0, 0, n);
  for (let i = 0; i < k; i++) {
    const tb = bits[i] as Uint32Array;
    const tv = vals[i] as Float32Array;
    const vi = valueWeights[i] as number;
    const wi = countWeights[i] as number;
    for (let p = 0; p < n; p++) {
      const b = tb[p] as number;
      // γ's sign bit. A sum of −0 only arises when every term is ±0: no members either way.
      let g = (sumU[2 * p + HI] as number) & 0x80000000;
      if (zeroNegative && sum[p] === 0) g = 0x80000000;
      const nz = ((b & 0x7fffffff) + 0x7fffffff) >>> 31; // 1 iff kept and nonzero
      const m = nz & (((b ^ g) >>> 31) ^ 1); // … and on the elected side
      num[p] = (num[p] as number) + vi * (tv[p] as number) * m;
      den[p] = (den[p] as number) + wi * m;
    }
  }
  if (zeroNegative) {
    for (let p = 0; p < n; p++) {
      if (sum[p] !== 0) continue;
      const d = den[p] as number;
      out[off + p] = lambda * (spec.normalize ? (num[p] as number) / (d === 0 ? 1 : d) : (num[p] as number));
    }
    return;
  }
  if (spec.normalize) {
    // den ≥ 0 and den = 0 ⇒ num = 0, so max(den, MIN_VALUE) is the "0 → 1" guard without a branch.
    for (let p = 0; p < n; p++) out[off + p] = (lambda * (num[p] as number)) / Math.max(den[p] as number, Number.MIN_VALUE);
  } else {
    for (let p = 0; p < n; p++) out[off + p] = lambda * (num[p] as number);
  }
  if (tally !== null) {
    for (let p = 0; p < n; p++) {
      const sp = sum[p] as number;
      if (sp > 0) tally.pos++;
      else if (sp < 0) tally.neg++;
      else if ((den[p] as number) !== 0) tally.ambiguous++;
    }
  }
}
