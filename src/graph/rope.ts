/**
 * Pure-TS tables fed to graphs: RoPE cos/sin, position ids for left-padded batches, and
 * attention masks for graphs with symbolic lengths (KV-cache decode).
 *
 * RoPE follows Hugging Face (llama / qwen2 `_compute_default_rope_parameters` + rotary
 * forward): inv_freq[i] = 1 / theta^(2i / D) for i < D/2, angle = position * inv_freq,
 * emb = concat(angles, angles) over the last axis, cos/sin of it. Mode 'hf-float32'
 * rounds every step to float32 as HF does (closest match to HF logits); 'float64' is exact.
 */
import { check } from '../util/errors.js';
import { defaultInvFreq, ropeFrequencies, type RopeScaling } from './rope-scaling.js';
import { tensorData, type FloatType, type TensorData } from './types.js';

export type RopeMode = 'hf-float32' | 'float64';

/** inv_freq [D/2] of default RoPE (scaled ones: rope-scaling.ts ropeFrequencies). */
export function ropeInvFreq(headDim: number, theta: number, mode: RopeMode = 'hf-float32'): number[] {
  check(headDim % 2 === 0, 'WISE_SHAPE_MISMATCH', `RoPE head dim must be even, got ${headDim}`);
  return defaultInvFreq(headDim, theta, mode);
}

/**
 * cos, sin [B, T, D] for position ids [B, T] (row-major; numbers or bigint).
 * Feed them as inputs (per-batch positions, e.g. left padding) or as constants.
 * `scaling` (HF rope_scaling / rope_parameters; null = default RoPE) changes inv_freq and
 * multiplies both tables by its attention factor, as HF's rotary embedding does.
 */
export function ropeTables(
  positions: ArrayLike<number | bigint>,
  batch: number,
  seq: number,
  headDim: number,
  theta: number,
  dtype: FloatType = 'float32',
  mode: RopeMode = 'hf-float32',
  scaling: RopeScaling | null = null,
): { cos: TensorData; sin: TensorData } {
  check(positions.length === batch * seq, 'WISE_SHAPE_MISMATCH', `ropeTables: ${positions.length} positions for [${batch},${seq}]`);
  check(headDim % 2 === 0, 'WISE_SHAPE_MISMATCH', `RoPE head dim must be even, got ${headDim}`);
  const { invFreq: inv, attentionFactor } = ropeFrequencies(headDim, theta, scaling, mode);
  const r = mode === 'hf-float32' ? Math.fround : (v: number): number => v;
  const af = r(attentionFactor);
  // HF: cos(emb) * attention_scaling in float32; skipped at 1 (an exact no-op)
  const scale = af === 1 ? (v: number): number => v : (v: number): number => r(v * af);
  const half = headDim / 2;
  const cos = new Float64Array(batch * seq * headDim);
  const sin = new Float64Array(batch * seq * headDim);
  for (let p = 0; p < batch * seq; p++) {
    const pos = Number(positions[p]);
    for (let i = 0; i < half; i++) {
      const a = r(pos * inv[i]!);
      const [c, s] = [scale(r(Math.cos(a))), scale(r(Math.sin(a)))];
      cos[p * headDim + i] = cos[p * headDim + i + half] = c;
      sin[p * headDim + i] = sin[p * headDim + i + half] = s;
    }
  }
  const dims = [batch, seq, headDim];
  return { cos: tensorData(dtype, dims, cos), sin: tensorData(dtype, dims, sin) };
}

/**
 * HF position ids for an attention mask [B, T] of 0/1 (left padding): cumsum(mask) - 1,
 * and 1 at padded positions (their value is irrelevant, they are masked).
 */
export function positionIdsFromMask(mask: ArrayLike<number | bigint>, batch: number, seq: number): number[] {
  check(mask.length === batch * seq, 'WISE_SHAPE_MISMATCH', `positionIdsFromMask: ${mask.length} entries for [${batch},${seq}]`);
  const out = new Array<number>(batch * seq);
  for (let b = 0; b < batch; b++) {
    let c = 0;
    for (let t = 0; t < seq; t++) {
      const m = Number(mask[b * seq + t]);
      c += m;
      out[b * seq + t] = m ? c - 1 : 1;
    }
  }
  return out;
}

/**
 * Bool attention mask [B, 1, Tq, Tk] for `nn.attention({ mask })` when lengths are symbolic:
 * causal (query i sits at key position Tk - Tq + i) AND key padding (keyMask [B, Tk] 0/1,
 * covering the past and the new tokens) AND, with a sliding `window`, pos(query) − pos(key) < window,
 * positions counted over real tokens (as positionIdsFromMask), so padding never narrows the window.
 */
export function attentionMaskData(keyMask: ArrayLike<number | bigint>, batch: number, tq: number, tk: number, window: number | null = null): TensorData<'bool'> {
  check(keyMask.length === batch * tk, 'WISE_SHAPE_MISMATCH', `attentionMaskData: ${keyMask.length} entries for [${batch},${tk}]`);
  const m = new Uint8Array(batch * tq * tk);
  const count = new Int32Array(tk); // real tokens in keyMask[b, 0..j]
  for (let b = 0; b < batch; b++) {
    let c = 0;
    for (let j = 0; j < tk; j++) count[j] = c += Number(keyMask[b * tk + j]) !== 0 ? 1 : 0;
    for (let i = 0; i < tq; i++) {
      const q = tk - tq + i;
      for (let j = 0; j < tk; j++) {
        const seen = j <= q && Number(keyMask[b * tk + j]) !== 0 && (window === null || count[q]! - count[j]! < window);
        m[(b * tq + i) * tk + j] = seen ? 1 : 0;
      }
    }
  }
  return { dtype: 'bool', dims: [batch, 1, tq, tk], data: m };
}
