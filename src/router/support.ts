/**
 * The input channels a set of side memories uses, and the router's stack restricted to them.
 *
 * A memory's δ_k = A(x)·Δ_kᵀ sums over the ff input channels of the down projection; a channel j
 * whose weights Δ_k[:, j] are all zero adds exactly nothing. With wise.mask_structure 'channel'
 * (memory/masks.ts) a shard trains only ρ·ff channels, and a merge (TIES, DARE, …) only keeps or
 * rescales entries of its shards, so a merged memory uses at most the union of its shards' channels.
 * The router then gathers A(x)'s columns on the union U of every memory's channels (B, T, |U|) and
 * multiplies them with the stack's rows U (|U|, M·d): the same δ_k (up to float summation order),
 * |U|/ff of the FLOPs. With element masks (WISE's) every channel is used and nothing changes.
 */
import { stackDims, type Layout } from './stack.js';

/** Use the channel subset when it holds at most this fraction of ff (the gather costs a copy of A's columns). */
export const SUPPORT_MAX_FRACTION = 0.75;

const flagsCache = new WeakMap<Float32Array, Uint8Array>();

/**
 * (ff,) 1 where channel j of `delta` (the edited weight's shape, in `layout`) has a nonzero weight.
 * Cached per delta array (a memory's delta array is never written after it is made).
 */
export function channelFlags(delta: Float32Array, shape: readonly number[], layout: Layout): Uint8Array {
  let f = flagsCache.get(delta);
  if (f) return f;
  const [ff, d] = stackDims(shape, layout);
  f = new Uint8Array(ff);
  if (layout === 'in_out') {
    // (ff, d): channel j is row j
    for (let j = 0; j < ff; j++) {
      for (let i = j * d, e = i + d; i < e; i++) {
        if (delta[i] !== 0) {
          f[j] = 1;
          break;
        }
      }
    }
  } else {
    // (d, ff): channel j is column j
    for (let i = 0; i < d; i++) {
      const row = i * ff;
      for (let j = 0; j < ff; j++) if (delta[row + j] !== 0) f[j] = 1;
    }
  }
  flagsCache.set(delta, f);
  return f;
}

/**
 * The sorted channels (|U|,) used by any of `deltas`, or null when they are more than
 * SUPPORT_MAX_FRACTION of ff (the dense product is then as cheap). At least one channel is kept
 * (all-zero memories), so the gathered operand is never empty.
 */
export function unionChannels(deltas: readonly Float32Array[], shape: readonly number[], layout: Layout): Int32Array | null {
  const [ff] = stackDims(shape, layout);
  const any = new Uint8Array(ff);
  for (const x of deltas) {
    if (x.length === 0) continue; // a padding slot
    const f = channelFlags(x, shape, layout);
    for (let j = 0; j < ff; j++) any[j]! |= f[j]!;
  }
  const out: number[] = [];
  for (let j = 0; j < ff; j++) if (any[j]) out.push(j);
  if (out.length > SUPPORT_MAX_FRACTION * ff) return null;
  return Int32Array.from(out.length > 0 ? out : [0]);
}

/** Columns `channels` of a (R, ff) row-major matrix → (R, |channels|) (the 'rows' stack, router.ts). */
export function pickColumns(m: Float32Array, R: number, ff: number, channels: Int32Array): Float32Array {
  const K = channels.length;
  const out = new Float32Array(R * K);
  for (let r = 0; r < R; r++) {
    const src = r * ff, dst = r * K;
    for (let c = 0; c < K; c++) out[dst + c] = m[src + channels[c]!]!;
  }
  return out;
}

/** Rows `channels` of a (ff, W) row-major matrix → (|channels|, W). */
export function pickRows(m: Float32Array, W: number, channels: Int32Array): Float32Array {
  const out = new Float32Array(channels.length * W);
  channels.forEach((j, r) => out.set(m.subarray(j * W, (j + 1) * W), r * W));
  return out;
}
