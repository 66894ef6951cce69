/**
 * Sparsifiers: per-delta element filters that stream a delta in ascending blocks and
 * write kept(Δ_i) (raw Float32 bits, +0 where dropped) into a block buffer; the weight
 * and any rescale are applied by the combine step (sign.ts). They hold O(1) state (tie cursors,
 * a PRNG), never an N-sized mask.
 *
 * - magnitude: exact top-k of |Δ| (ties by index, select.ts), or the original TIES
 *   "|Δ| ≥ kthvalue" rule that keeps every tie.      [mergekit `sparsify.magnitude`; ties-merging `topk_values_mask`]
 * - band: the ranks [nTop, nTop+nKeep) by |Δ| (Model Breadcrumbs).   [mergekit `magnitude_outliers`]
 * - random: drop with probability p from a seeded PRNG, rescale by 1/(1−p) (DARE paper),
 *   by the L1 ratio ‖Δ‖₁/‖m⊙Δ‖₁ (mergekit since be52668), or not at all.  [MergeLM `mask_input_with_mask_rate`]
 *
 * Every sparsifier must see each element exactly once, in index order, per pass;
 * `reset()` rewinds it for another pass.
 */
import { Rng } from '../util/rng.js';
import { selectTopAbs, type TopSet } from './select.js';

export interface Sparsifier {
  /** Multiplier of the kept values on top of the delta's weight (DARE's rescale); 1 otherwise. */
  readonly scale: number;
  /**
   * Writes the Float32 bits of kept(Δ)[start..end) — the raw value where kept, +0 where
   * dropped — into out[0..end−start). Ranges ascend and tile [0, N).
   * The masks are built with integer ops, not branches: a 53 % keep rate on random data
   * would otherwise mispredict every other element.
   */
  fill(start: number, end: number, out: Uint32Array): void;
  /** Rewinds cursors / PRNG for another pass from element 0. */
  reset(): void;
}

function bitsOf(data: Float32Array): Uint32Array {
  return new Uint32Array(data.buffer, data.byteOffset, data.length);
}

/** Keeps everything. */
export function denseSparsifier(data: Float32Array): Sparsifier {
  const u = bitsOf(data);
  return {
    scale: 1,
    fill(start, end, out) {
      out.set(u.subarray(start, end));
    },
    reset() {},
  };
}

/**
 * Keeps the TopSet `top` of |Δ| (select.ts): every key > top.key, and the first
 * top.quota keys equal to it in index order. (K − key) >> 31 is −1 exactly when key > K
 * (keys < 2³¹); the equality case is rare and takes a branch with the tie cursor.
 */
export function topSparsifier(data: Float32Array, top: TopSet): Sparsifier {
  const u = bitsOf(data);
  const K = top.key;
  const quota = top.quota;
  const allTies = top.quota >= top.equal; // then "key ≥ K" is the same set: no cursor
  let seen = 0;
  return {
    scale: 1,
    fill(start, end, out) {
      const src = u;
      if (allTies) {
        const K1 = K - 1;
        for (let i = start, j = 0; i < end; i++, j++) {
          const b = src[i] as number;
          out[j] = b & ((K1 - (b & 0x7fffffff)) >> 31);
        }
        return;
      }
      const KK = K;
      let sn = seen;
      for (let i = start, j = 0; i < end; i++, j++) {
        const b = src[i] as number;
        const key = b & 0x7fffffff;
        let m = (KK - key) >> 31;
        if (key === KK) m = sn++ < quota ? -1 : 0;
        out[j] = b & m;
      }
      seen = sn;
    },
    reset() {
      seen = 0;
    },
  };
}

/** Exact-k count for a keep fraction: ⌊density·N⌋ (same f64 product as Python's int(d*N)). */
export function keepCount(density: number, n: number): number {
  return Math.floor(density * n);
}

/**
 * Magnitude trim at `density`. 'exact': exactly ⌊d·N⌋ entries (WISE/mergekit/EasyEdit).
 * 'threshold': |Δ| ≥ the (⌊d·N⌋+1)-th largest |Δ|, all ties kept (ties-merging, MergeLM;
 * ⌊dN⌋+1 survivors when there are no ties; density 1 keeps all).
 */
export function magnitudeSparsifier(data: Float32Array, density: number, trim: 'exact' | 'threshold'): Sparsifier {
  const k = keepCount(density, data.length);
  if (k >= data.length) return denseSparsifier(data);
  if (trim === 'exact') return topSparsifier(data, selectTopAbs(data, k));
  const t = selectTopAbs(data, k + 1); // its threshold is the (k+1)-th largest |Δ|
  return topSparsifier(data, { ...t, quota: t.equal });
}

/** Membership mask (−1 / 0) of one TopSet with its own tie cursor (band sparsifier). */
class TopCursor {
  private seen = 0;
  constructor(private readonly top: TopSet) {}
  mask(key: number): number {
    const K = this.top.key;
    if (key === K) return this.seen++ < this.top.quota ? -1 : 0;
    return (K - key) >> 31;
  }
  reset(): void {
    this.seen = 0;
  }
}

/**
 * Keeps the entries ranked [nTop, nTop+nKeep) by (|Δ| desc, index asc): drops the nTop
 * largest (outliers) and everything below. nTop = 0 keeps the plain top nKeep.
 */
export function bandSparsifier(data: Float32Array, nTop: number, nKeep: number): Sparsifier {
  const u = bitsOf(data);
  const outer = new TopCursor(selectTopAbs(data, nTop + nKeep));
  const inner = new TopCursor(nTop > 0 ? selectTopAbs(data, nTop) : { count: 0, thr: Infinity, key: 0x7fffffff, quota: 0, equal: 0 });
  return {
    scale: 1,
    fill(start, end, out) {
      for (let i = start, j = 0; i < end; i++, j++) {
        const b = u[i] as number;
        const key = b & 0x7fffffff;
        // both masks are evaluated for every element: each advances its own tie cursor
        out[j] = b & outer.mask(key) & ~inner.mask(key);
      }
    },
    reset() {
      outer.reset();
      inner.reset();
    },
  };
}

export type DareRescale = 'inverse' | 'l1' | 'none';

/** Per-delta seed: one PRNG stream per delta index, derived from the call's seed. */
export function deltaSeed(seed: number, index: number): number {
  return (Math.imul((seed ^ 0x5bd1e995) >>> 0, 0x01000193) ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
}

/** Drop threshold on a uint32 draw: drop iff draw < cut, i.e. with probability p. */
function dropCut(p: number): number {
  return Math.min(4294967296, Math.round(p * 4294967296));
}

/**
 * DARE: drop each entry with probability p (one u32 draw per entry, in index order, from
 * `new Rng(seed)`), then rescale survivors (`scale`). 'l1' needs ‖Δ‖₁/‖m⊙Δ‖₁ first,
 * taken in a prepass that replays the same stream (no mask buffer); with nothing kept
 * the factor is 1 (mergekit `rescale_sum` leaves it unscaled; the values are 0 anyway).
 * Branchless keep mask: ⌊(draw − cut)·2⁻³²⌋ is −1 when draw < cut, else 0; ~ that keeps.
 */
export function randomSparsifier(data: Float32Array, p: number, seed: number, rescale: DareRescale): Sparsifier {
  const u = bitsOf(data);
  const cut = dropCut(p);
  let scale = 1;
  if (rescale === 'inverse') scale = 1 / (1 - p);
  else if (rescale === 'l1') {
    const r = new Rng(seed);
    let all = 0;
    let kept = 0;
    for (let i = 0; i < data.length; i++) {
      const a = Math.abs(data[i] as number);
      all += a;
      if (r.nextU32() >= cut) kept += a;
    }
    scale = kept > 0 ? all / kept : 1;
  }
  let rng = new Rng(seed);
  return {
    scale,
    fill(start, end, out) {
      const r = rng;
      const c = cut;
      for (let i = start, j = 0; i < end; i++, j++) {
        out[j] = (u[i] as number) & ~Math.floor((r.nextU32() - c) * 2.3283064365386963e-10);
      }
    },
    reset() {
      rng = new Rng(seed);
    },
  };
}
