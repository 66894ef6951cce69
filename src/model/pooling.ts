/**
 * Sequence embeddings from a model's last hidden state (after the final norm, transformers'
 * `hidden_states[-1]`), for the server's /v1/embeddings:
 *   mean   the mean over the sequence's tokens (sentence-transformers' default pooling)
 *   last   the last token's state (a causal model's only position that has read the whole text;
 *          vLLM's pooling for decoder-only embedding models)
 * then scaled to unit L2 norm unless `normalize` is false (OpenAI's embeddings are unit vectors,
 * so a dot product is the cosine). Pure.
 */
export type Pooling = 'mean' | 'last';
export const POOLINGS: readonly Pooling[] = ['mean', 'last'];

/**
 * One vector (d) per row of `hidden` (B, T, d) row-major, whose tokens are `lengths[r]` long from
 * position `offsets[r]` (the batch's padding elsewhere).
 */
export function poolRows(hidden: Float32Array, d: number, T: number, offsets: readonly number[], lengths: readonly number[], pooling: Pooling, normalize: boolean): Float32Array[] {
  return offsets.map((off, r) => {
    const n = lengths[r]!;
    const v = new Float32Array(d);
    const at = (t: number): number => (r * T + t) * d;
    if (pooling === 'last') v.set(hidden.subarray(at(off + n - 1), at(off + n - 1) + d));
    else {
      const sum = new Float64Array(d);
      for (let t = off; t < off + n; t++) for (let k = 0; k < d; k++) sum[k] = (sum[k] as number) + (hidden[at(t) + k] as number);
      for (let k = 0; k < d; k++) v[k] = (sum[k] as number) / n;
    }
    if (normalize) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (v[k] as number) ** 2;
      const norm = Math.sqrt(s);
      if (norm > 0) for (let k = 0; k < d; k++) v[k] = (v[k] as number) / norm;
    }
    return v;
  });
}
