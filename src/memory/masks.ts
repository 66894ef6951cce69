/**
 * Per-shard gradient masks: each shard of edits trains W′ only inside its own random
 * subspace, a Bernoulli(ρ) mask drawn from a seed recorded with the shard (EasyEdit draws
 * from one global RNG; we record one seed per shard so any shard can be rebuilt alone).
 * Independent masks of density ρ overlap by about ρ² — the paper's merge "anchor"; fully
 * disjoint masks merge worse (WISE Table 13).
 */
import { Rng, hashString32 } from '../util/rng.js';

/** A 0/1 mask of length n with each entry 1 with probability rho. (n,) */
export function bernoulliMask(seed: number, n: number, rho: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  const threshold = Math.floor(rho * 4294967296);
  for (let i = 0; i < n; i++) out[i] = rng.nextU32() < threshold ? 1 : 0;
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
