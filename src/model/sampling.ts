/**
 * Next-token choice from a logits row (V,): greedy (temperature 0) or seeded
 * temperature + top-p (nucleus) sampling. Pure; the Rng makes sampling reproducible.
 */
import type { Rng } from '../util/rng.js';

export interface SamplingOptions {
  /** 0 = greedy */
  temperature: number;
  /** nucleus mass in (0, 1]; 1 = no truncation */
  topP: number;
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
  const p = new Float64Array(V);
  let z = 0;
  for (let i = 0; i < V; i++) {
    p[i] = Math.exp(((row[i] as number) - mx) / o.temperature);
    z += p[i] as number;
  }
  // Sort indices by probability (descending; ties by index) and keep the smallest prefix with mass ≥ topP.
  const idx = Array.from({ length: V }, (_, i) => i).sort((a, b) => (p[b] as number) - (p[a] as number) || a - b);
  let keep = V;
  if (o.topP < 1) {
    let acc = 0;
    for (let k = 0; k < V; k++) {
      acc += (p[idx[k] as number] as number) / z;
      if (acc >= o.topP) {
        keep = k + 1;
        break;
      }
    }
  }
  let mass = 0;
  for (let k = 0; k < keep; k++) mass += p[idx[k] as number] as number;
  let u = rng.next() * mass;
  for (let k = 0; k < keep; k++) {
    u -= p[idx[k] as number] as number;
    if (u <= 0) return idx[k] as number;
  }
  return idx[keep - 1] as number;
}
