/**
 * Sequence embeddings from a model's last hidden state (after the final norm, transformers'
 * `hidden_states[-1]`), for the server's /v1/embeddings and llama.cpp's /embedding:
 *   mean   the mean over the sequence's tokens (sentence-transformers' default pooling)
 *   last   the last token's state (a causal model's only position that has read the whole text;
 *          vLLM's pooling for decoder-only embedding models)
 *   none   every token's state, in order (llama.cpp's `--pooling none`: /embedding's per-token vectors)
 * A pooled vector is then scaled to unit L2 norm unless `normalize` is false (OpenAI's embeddings are
 * unit vectors, so a dot product is the cosine); per-token states are never scaled (llama.cpp's rule).
 * Pure.
 */
export type Pooling = 'mean' | 'last' | 'none';
export const POOLINGS: readonly Pooling[] = ['mean', 'last', 'none'];

/**
 * One vector per row of `hidden` (B, T, d) row-major, whose tokens are `lengths[r]` long from
 * position `offsets[r]` (the batch's padding elsewhere): (d) pooled, or (lengths[r], d) row-major
 * with pooling 'none'.
 */
export function poolRows(hidden: Float32Array, d: number, T: number, offsets: readonly number[], lengths: readonly number[], pooling: Pooling, normalize: boolean): Float32Array[] {
  return offsets.map((off, r) => {
    const n = lengths[r]!;
    const at = (t: number): number => (r * T + t) * d;
    if (pooling === 'none') return hidden.slice(at(off), at(off + n)); // the row's tokens are contiguous
    const v = new Float32Array(d);
    if (pooling === 'last') v.set(hidden.subarray(at(off + n - 1), at(off + n - 1) + d));
    else {
      const sum = new Float64Array(d);
      for (let t = off; t < off + n; t++) for (let k = 0; k < d; k++) sum[k] = (sum[k] as number) + (hidden[at(t) + k] as number);
      for (let k = 0; k < d; k++) v[k] = (sum[k] as number) / n;
    }
    return normalize ? normalizeEmbedding(v, 2) : v;
  });
}

/**
 * Scales `v` in place (and returns it) as llama.cpp's `embd_normalize` does (common_embd_normalize), by
 * the norm it names, summed in double precision:
 *   -1   none
 *    0   max-abs, to the int16 range: the largest |x| becomes 32760
 *    1   taxicab: Σ|x| = 1
 *    2   Euclidean (L2): Σx² = 1
 *   p>2  p-norm: Σ|x|^p = 1
 * A zero vector stays zero. The caller passes an integer ≥ −1.
 */
export function normalizeEmbedding(v: Float32Array, norm: number): Float32Array {
  if (norm === -1) return v;
  let s = 0;
  if (norm === 0) {
    for (let k = 0; k < v.length; k++) s = Math.max(s, Math.abs(v[k] as number));
    s /= 32760;
  } else if (norm === 2) {
    for (let k = 0; k < v.length; k++) s += (v[k] as number) ** 2;
    s = Math.sqrt(s);
  } else {
    for (let k = 0; k < v.length; k++) s += Math.abs(v[k] as number) ** norm;
    s **= 1 / norm;
  }
  if (s > 0) for (let k = 0; k < v.length; k++) v[k] = (v[k] as number) / s;
  return v;
}
