/** The held-out pool texts that set each memory's ε floor (wise.threshold_pool). Pure. */
import { hashString32 } from '../util/rng.js';

/**
 * wise.threshold_pool's texts: `n` of the pool, a seeded choice that depends only on the pool
 * and the seed (so a rebuild picks the same), in pool order.
 */
export function thresholdPoolTexts(pool: readonly string[], n: number, seed: number): string[] {
  if (n <= 0 || pool.length === 0) return [];
  const idx = pool.map((_, i) => ({ i, h: hashString32(`${seed}:threshold-pool:${i}`) }));
  idx.sort((a, b) => a.h - b.h || a.i - b.i);
  return idx.slice(0, n).map((x) => x.i).sort((a, b) => a - b).map((i) => pool[i]!);
}
