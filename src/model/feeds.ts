/**
 * Host-side feeds of the transformer graphs (transformer.ts): padding, the causal+padding
 * mask, position ids (HF cumsum convention, so left padding does not shift positions) and
 * RoPE tables. Pure math, no I/O.
 */
import { attentionMaskData, positionIdsFromMask, ropeTables, type FloatType, type TensorData } from '../graph/index.js';
import { tensorData } from '../graph/types.js';
import type { ArchSpec } from './arch.js';
import type { ModelConfig } from './config.js';

export interface PaddedBatch {
  /** (B, T) row-major */
  ids: number[];
  /** (B, T) 1 = token, 0 = padding */
  mask: number[];
  batch: number;
  seq: number;
  /** where each row's tokens start (left padding) */
  offsets: number[];
  lengths: number[];
}

/** Pads sequences to a common length (at least `minLen`, for bucketed static graphs). */
export function padBatch(seqs: readonly (readonly number[])[], side: 'left' | 'right', padId: number, minLen = 1): PaddedBatch {
  const T = Math.max(minLen, 1, ...seqs.map((s) => s.length));
  const B = seqs.length;
  const ids = new Array<number>(B * T).fill(padId);
  const mask = new Array<number>(B * T).fill(0);
  const offsets: number[] = [];
  seqs.forEach((s, r) => {
    const off = side === 'left' ? T - s.length : 0;
    offsets.push(off);
    s.forEach((id, j) => {
      ids[r * T + off + j] = id;
      mask[r * T + off + j] = 1;
    });
  });
  return { ids, mask, batch: B, seq: T, offsets, lengths: seqs.map((s) => s.length) };
}

/**
 * Feeds for a pass over `seq` new tokens per row after `past` cached ones.
 * keyMask (B, past+seq) covers cached and new tokens; ids (B, seq) are the new tokens.
 */
export function transformerFeeds(
  spec: ArchSpec,
  cfg: ModelConfig,
  ids: readonly number[],
  keyMask: readonly number[],
  batch: number,
  seq: number,
  past = 0,
  floatType: FloatType = 'float32',
): Record<string, TensorData> {
  const total = past + seq;
  const feeds: Record<string, TensorData> = {
    attn_mask: attentionMaskData(keyMask, batch, seq, total, cfg.slidingWindow),
  };
  if (ids.length) feeds.input_ids = tensorData('int64', [batch, seq], ids);
  const allPos = positionIdsFromMask(keyMask, batch, total);
  const pos: number[] = [];
  for (let b = 0; b < batch; b++) for (let t = 0; t < seq; t++) pos.push(allPos[b * total + past + t]!);
  if (spec.position === 'rope') {
    const { cos, sin } = ropeTables(pos, batch, seq, cfg.headDim, cfg.ropeTheta ?? 10000, floatType, 'hf-float32', cfg.ropeScaling);
    feeds.rope_cos = cos;
    feeds.rope_sin = sin;
  } else {
    feeds.position_ids = tensorData('int64', [batch, seq], pos);
  }
  return feeds;
}
