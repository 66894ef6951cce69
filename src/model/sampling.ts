/**
 * Next-token choice from a logits row (V,): greedy (temperature 0) or seeded sampling at a
 * temperature, truncated by min-p, top-k and top-p (nucleus) in vLLM's order: the
 * probabilities at the temperature, then min-p against the most likely token, then the k most
 * likely, then the smallest prefix of those (renormalized) with mass ≥ top-p. Ties are broken by
 * token id. Pure; the Rng makes sampling reproducible (one draw per sampled token).
 * Penalties and logit bias act on the logits before this (logit-shaping.ts).
 */
import type { Rng } from '../util/rng.js';

export interface SamplingOptions {
  /** 0 = greedy */
  temperature: number;
  /** nucleus mass in (0, 1]; 1 = no truncation */
  topP: number;
  /** keep the k most likely tokens; 0 (or absent) = all */
  topK?: number;
  /** drop tokens less likely than minP × the most likely one's probability, in [0, 1]; 0 (or absent) = none */
  minP?: number;
}

export function argmax(row: ArrayLike<number>, offset = 0, length = row.length - offset): number {
  let best = 0;
  let bv = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = row[offset + i] as number;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

export function sampleToken(row: ArrayLike<number>, o: SamplingOptions, rng: Rng): number {
  if (o.temperature <= 0) return argmax(row);
  const V = row.length;
  let mx = -Infinity;
  for (let i = 0; i < V; i++) mx = Math.max(mx, row[i] as number);
  // unnormalized probabilities p (V,) at the temperature; a logit of -Infinity (a banned token) gets 0
  const p = new Float64Array(V);
  let z = 0;
  for (let i = 0; i < V; i++) {
    p[i] = Math.exp(((row[i] as number) - mx) / o.temperature);
    z += p[i] as number;
  }
  // Sort indices by probability (descending; ties by index); the kept tokens are always a prefix of this order.
  const idx = Array.from({ length: V }, (_, i) => i).sort((a, b) => (p[b] as number) - (p[a] as number) || a - b);
  const at = (k: number): number => p[idx[k] as number] as number;
  let keep = V;
  const minP = o.minP ?? 0;
  if (minP > 0) {
    const floor = minP * at(0);
    while (keep > 1 && at(keep - 1) < floor) keep--;
  }
  const topK = o.topK ?? 0;
  if (topK > 0 && topK < keep) keep = topK;
  if (o.topP < 1) {
    let zk = z;
    if (keep < V) {
      zk = 0;
      for (let k = 0; k < keep; k++) zk += at(k);
    }
    let acc = 0;
    for (let k = 0; k < keep; k++) {
      acc += at(k) / zk;
      if (acc >= o.topP) {
        keep = k + 1;
        break;
      }
    }
  }
  // a token of probability 0 (a banned one, or one that underflowed at a low temperature) is never drawn
  while (keep > 1 && at(keep - 1) === 0) keep--;
  let mass = 0;
  for (let k = 0; k < keep; k++) mass += at(k);
  let u = rng.next() * mass;
  for (let k = 0; k < keep; k++) {
    u -= at(k);
    if (u <= 0) return idx[k] as number;
  }
  return idx[keep - 1] as number;
}
