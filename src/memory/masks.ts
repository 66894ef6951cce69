/**
 * Per-shard gradient masks: each shard of edits trains W′ only inside its own random
 * subspace, a Bernoulli(ρ) mask drawn from a seed recorded with the shard (EasyEdit draws
 * from one global RNG; we record one seed per shard so any shard can be rebuilt alone).
 * Independent masks of density ρ overlap by about ρ² — the paper's merge "anchor"; fully
 * disjoint masks merge worse (WISE Table 13).
 *
 * MaskStructure (wise.mask_structure, our option): 'element' draws one Bernoulli(ρ) per entry of
 * the edited weight (WISE, EasyEdit); 'channel' draws one per input channel of the down projection
 * (an ff unit) and keeps or drops that channel's whole column of weights. Density and the ρ² overlap
 * are the same; what changes is that a shard's delta is then zero outside ρ·ff channels, so the router
 * scores it on those channels only (router/support.ts): about ρ of the score's FLOPs, exactly.
 */
import type { WeightLayout } from '../graph/index.js';
import { Rng, hashString32 } from '../util/rng.js';

export type MaskStructure = 'element' | 'channel';

/** A 0/1 mask of length n with each entry 1 with probability rho. (n,) */
export function bernoulliMask(seed: number, n: number, rho: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  const threshold = Math.floor(rho * 4294967296);
  for (let i = 0; i < n; i++) out[i] = rng.nextU32() < threshold ? 1 : 0;
  return out;
}

/**
 * A shard's gradient mask over the edited weight of `shape` (in `layout`), flat in that layout.
 * 'element': bernoulliMask over every entry. 'channel': bernoulliMask over the ff input channels,
 * each channel's d weights set together ((d, ff) 'out_in': column j; (ff, d) 'in_out': row j).
 */
export function shardMask(seed: number, shape: readonly number[], layout: WeightLayout, rho: number, structure: MaskStructure = 'element'): Float32Array {
  const [r, c] = shape as [number, number];
  if (structure === 'element') return bernoulliMask(seed, r * c, rho);
  const ff = layout === 'out_in' ? c : r;
  const ch = bernoulliMask(seed, ff, rho); // (ff,)
  const out = new Float32Array(r * c);
  if (layout === 'in_out') {
    for (let j = 0; j < ff; j++) if (ch[j] === 1) out.fill(1, j * c, (j + 1) * c);
  } else {
    for (let i = 0; i < r; i++) out.set(ch, i * c);
  }
  return out;
}

/** Deterministic per-shard seed from the store's base seed and the shard index. */
export function shardSeed(baseSeed: number, shardIndex: number): number {
  return hashString32(`wise-mask:${baseSeed}:${shardIndex}`);
}

export function maskDensity(m: Float32Array): number {
  let s = 0;
  for (let i = 0; i < m.length; i++) s += m[i] as number;
  return s / m.length;
}

/** Fraction of entries set in both masks (≈ ρ² for independent masks). */
export function maskOverlap(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s / a.length;
}
