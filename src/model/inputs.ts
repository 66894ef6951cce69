/**
 * Host-side inputs of the transformer graphs, computed in TS so that the graphs stay free
 * of dynamic-shape index arithmetic:
 *   - attention mask (B, 1, T, P+T) bool: query t of row b may see key j iff key j is not
 *     padding and j ≤ P + t (causal, P = cached length);
 *   - position ids (B, T): HF's cumsum(attention_mask) − 1, so left padding does not shift
 *     positions (pads get position 0 / 1 as HF does; they are masked anyway);
 *   - RoPE tables cos/sin (B, T, head_dim) in HF's rotate-half layout: the frequency
 *     vector inv_freq (hd/2,) is repeated twice along the last axis.
 * Pure math, no I/O.
 */

export interface Batch {
  /** (B, T) token ids, padded */
  ids: Int32Array | number[];
  /** (B, P+T) 1 = real token, 0 = padding, covering the cached prefix and the new tokens */
  attention: Uint8Array;
  batch: number;
  /** new tokens per row */
  seq: number;
  /** cached tokens per row (decode), 0 for a full pass */
  past: number;
}

/** Causal + padding mask (B, 1, T, P+T) as bytes for a bool tensor. */
export function causalMask(b: Batch): Uint8Array {
  const { batch: B, seq: T, past: P } = b;
  const S = P + T;
  const out = new Uint8Array(B * T * S);
  for (let r = 0; r < B; r++) {
    for (let t = 0; t < T; t++) {
      const row = (r * T + t) * S;
      for (let j = 0; j <= P + t; j++) out[row + j] = b.attention[r * S + j] as number;
    }
  }
  return out;
}

/** Position ids (B, T) of the new tokens: cumsum(attention) − 1 over the full row, pads → 1 (HF). */
export function positionIds(b: Batch): BigInt64Array {
  const { batch: B, seq: T, past: P } = b;
  const S = P + T;
  const out = new BigInt64Array(B * T);
  for (let r = 0; r < B; r++) {
    let c = 0;
    for (let j = 0; j < S; j++) {
      const m = b.attention[r * S + j] as number;
      c += m;
      if (j >= P) out[r * T + (j - P)] = BigInt(m ? c - 1 : 1);
    }
  }
  return out;
}

/** RoPE cos and sin tables (B, T, hd) for the given position ids, HF rotate-half layout. */
export function ropeTables(pos: BigInt64Array, headDim: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  // inv_freq as HF computes it in float32: 1 / theta^(2i/hd)
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.pow(theta, (2 * i) / headDim);
  const cos = new Float32Array(pos.length * headDim);
  const sin = new Float32Array(pos.length * headDim);
  for (let n = 0; n < pos.length; n++) {
    const p = Number(pos[n]);
    for (let i = 0; i < half; i++) {
      // HF: freqs = (inv_freq ⊗ positions) in float32, then cos/sin
      const f = Math.fround(p * (invFreq[i] as number));
      const c = Math.cos(f), s = Math.sin(f);
      cos[n * headDim + i] = c;
      cos[n * headDim + i + half] = c;
      sin[n * headDim + i] = s;
      sin[n * headDim + i + half] = s;
    }
  }
  return { cos, sin };
}

/** Pads sequences into a (B, T) batch, on the left or the right, with `padId`. */
export function padBatch(seqs: number[][], side: 'left' | 'right', padId: number): { ids: Int32Array; attention: Uint8Array; seq: number } {
  const T = Math.max(1, ...seqs.map((s) => s.length));
  const B = seqs.length;
  const ids = new Int32Array(B * T).fill(padId);
  const attention = new Uint8Array(B * T);
  seqs.forEach((s, r) => {
    const off = side === 'left' ? T - s.length : 0;
    s.forEach((id, j) => {
      ids[r * T + off + j] = id;
      attention[r * T + off + j] = 1;
    });
  });
  return { ids, attention, seq: T };
}
