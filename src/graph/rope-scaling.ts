/**
 * RoPE frequency scaling, as Hugging Face transformers computes it (`modeling_rope_utils.py`,
 * `ROPE_INIT_FUNCTIONS`): each scheme maps the default inverse frequencies inv_freq [D/2] to scaled
 * ones and gives an attention factor that multiplies the cos/sin tables. Pure math, no I/O.
 *
 * - linear (position interpolation): inv_freq / factor.
 * - dynamic (NTK): HF raises theta only once a sequence is longer than max_position_embeddings.
 *   wise-edit never runs past that length (the context limit), so dynamic equals default here.
 * - llama3 (Llama 3.1+): wavelengths above original_max / low_freq_factor are divided by factor,
 *   those below original_max / high_freq_factor kept, the band between interpolated smoothly.
 * - yarn: a ramp in dimension index between the correction dims of beta_fast and beta_slow
 *   (floored / ceiled unless `truncate` is false) blends extrapolation (inv_freq) and
 *   interpolation (inv_freq / factor); attention factor 0.1·ln(factor) + 1 (or the mscale ratio,
 *   or the configured `attention_factor`).
 *
 * Mode 'hf-float32' rounds each tensor operation to float32 in HF's order (tensor ∘ Python float
 * computes in float32 with the scalar rounded to float32; `scalar / t` is `reciprocal(t) * scalar`);
 * 'float64' is exact arithmetic.
 */
import type { RopeMode } from './rope.js';

export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'dynamic'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number }
  | {
      type: 'yarn';
      factor: number;
      originalMaxPositionEmbeddings: number;
      betaFast: number;
      betaSlow: number;
      /** explicit attention factor, or null to derive it (mscale / mscale_all_dim, else 0.1·ln(factor) + 1) */
      attentionFactor: number | null;
      mscale: number | null;
      mscaleAllDim: number | null;
      truncate: boolean;
    };

export interface RopeFrequencies {
  /** [D/2] */
  invFreq: number[];
  /** multiplies cos and sin (HF `attention_scaling`); 1 except for yarn */
  attentionFactor: number;
}

/** Default inverse frequencies [D/2]: 1 / theta^(2i / D). */
export function defaultInvFreq(headDim: number, theta: number, mode: RopeMode): number[] {
  const r = rounder(mode);
  return Array.from({ length: headDim / 2 }, (_, i) => r(1 / r(Math.pow(theta, r((2 * i) / headDim)))));
}

function rounder(mode: RopeMode): (v: number) => number {
  return mode === 'hf-float32' ? Math.fround : (v: number): number => v;
}

/** Scaled inverse frequencies and attention factor for `scaling` (null: default RoPE). */
export function ropeFrequencies(headDim: number, theta: number, scaling: RopeScaling | null, mode: RopeMode = 'hf-float32'): RopeFrequencies {
  const inv = defaultInvFreq(headDim, theta, mode);
  const r = rounder(mode);
  if (scaling === null || scaling.type === 'dynamic') return { invFreq: inv, attentionFactor: 1 };
  const f = r(scaling.factor);
  switch (scaling.type) {
    case 'linear':
      return { invFreq: inv.map((v) => r(v / f)), attentionFactor: 1 };
    case 'llama3':
      return { invFreq: llama3(inv, scaling, r), attentionFactor: 1 };
    case 'yarn':
      return yarn(headDim, theta, scaling, r);
  }
}

function llama3(inv: number[], s: Extract<RopeScaling, { type: 'llama3' }>, r: (v: number) => number): number[] {
  const old = s.originalMaxPositionEmbeddings;
  // HF divides these as Python floats (double); comparing them with the float32 wavelengths rounds them to float32
  const lowWavelen = r(old / s.lowFreqFactor);
  const highWavelen = r(old / s.highFreqFactor);
  const f = r(s.factor);
  return inv.map((v) => {
    const wavelen = r(r(1 / v) * r(2 * Math.PI));
    if (wavelen < highWavelen) return v; // high frequency: kept
    if (wavelen > lowWavelen) return r(v / f); // low frequency: interpolated fully
    // smooth = (old / wavelen − low) / (high − low); (1 − smooth)·v / factor + smooth·v
    const smooth = r(r(r(r(1 / wavelen) * r(old)) - r(s.lowFreqFactor)) / r(s.highFreqFactor - s.lowFreqFactor));
    return r(r(r(r(1 - smooth) * v) / f) + r(smooth * v));
  });
}

function yarn(dim: number, theta: number, s: Extract<RopeScaling, { type: 'yarn' }>, r: (v: number) => number): RopeFrequencies {
  const mscale = (scale: number, m = 1): number => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
  const attentionFactor = s.attentionFactor ?? (s.mscale && s.mscaleAllDim ? mscale(s.factor, s.mscale) / mscale(s.factor, s.mscaleAllDim) : mscale(s.factor));
  // correction dim: the dimension whose wavelength makes `rotations` turns over the original context
  const corr = (rotations: number): number => (dim * Math.log(s.originalMaxPositionEmbeddings / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
  let low = corr(s.betaFast);
  let high = corr(s.betaSlow);
  if (s.truncate) [low, high] = [Math.floor(low), Math.ceil(high)];
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001; // HF: prevent a zero-width ramp
  const f = r(s.factor);
  const invFreq = Array.from({ length: dim / 2 }, (_, i) => {
    const posFreq = r(Math.pow(theta, r((2 * i) / dim)));
    const extrapolation = r(1 / posFreq);
    const interpolation = r(1 / r(f * posFreq));
    const ramp = Math.min(1, Math.max(0, r(r(i - r(low)) / r(high - low))));
    const keep = r(1 - ramp); // share of extrapolation (the unscaled frequency)
    return r(r(interpolation * r(1 - keep)) + r(extrapolation * keep));
  });
  return { invFreq, attentionFactor };
}
