import { describe, expect, it } from 'vitest';
import { bernoulliMask, maskDensity, maskOverlap, shardSeed } from '../../src/memory/masks.js';

describe('shard gradient masks', () => {
  const n = 200_000;
  it('have density ≈ ρ and overlap ≈ ρ² between shards (not disjoint)', () => {
    for (const rho of [0.2, 0.5]) {
      const a = bernoulliMask(shardSeed(42, 0), n, rho);
      const b = bernoulliMask(shardSeed(42, 1), n, rho);
      expect(Math.abs(maskDensity(a) - rho)).toBeLessThan(0.005);
      expect(Math.abs(maskDensity(b) - rho)).toBeLessThan(0.005);
      expect(Math.abs(maskOverlap(a, b) - rho * rho)).toBeLessThan(0.004);
    }
  });
  it('are reproducible from their recorded seed and differ between shards', () => {
    expect(bernoulliMask(shardSeed(42, 3), 1000, 0.2)).toEqual(bernoulliMask(shardSeed(42, 3), 1000, 0.2));
    expect(shardSeed(42, 3)).not.toBe(shardSeed(42, 4));
    expect(shardSeed(42, 3)).not.toBe(shardSeed(43, 3));
  });
});
