import { describe, expect, it } from 'vitest';
import { bernoulliMask, maskDensity, maskOverlap, shardMask, shardSeed } from '../../src/memory/masks.js';

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
  it("channel structure (wise.mask_structure): one draw per ff channel, the channel's whole column kept or dropped, density ≈ ρ, overlap ≈ ρ²", () => {
    const [d, ff] = [16, 20_000];
    for (const layout of ['out_in', 'in_out'] as const) {
      const shape = layout === 'out_in' ? [d, ff] : [ff, d];
      const at = (m: Float32Array, i: number, j: number): number => (layout === 'out_in' ? m[i * ff + j]! : m[j * d + i]!); // (out i, channel j)
      const a = shardMask(shardSeed(42, 0), shape, layout, 0.2, 'channel');
      const b = shardMask(shardSeed(42, 1), shape, layout, 0.2, 'channel');
      for (let j = 0; j < ff; j++) for (let i = 1; i < d; i++) if (at(a, i, j) !== at(a, 0, j)) throw new Error(`channel ${j} split in ${layout}`);
      expect(Math.abs(maskDensity(a) - 0.2)).toBeLessThan(0.01);
      expect(Math.abs(maskOverlap(a, b) - 0.04)).toBeLessThan(0.006);
      // channel j follows the j-th draw of the shard's seed
      const ch = bernoulliMask(shardSeed(42, 0), ff, 0.2);
      for (let j = 0; j < ff; j++) expect(at(a, 3, j)).toBe(ch[j]);
      expect(shardMask(shardSeed(42, 0), shape, layout, 0.2, 'channel')).toEqual(a);
      // element structure is WISE's mask over every entry
      expect(shardMask(shardSeed(42, 0), shape, layout, 0.2)).toEqual(bernoulliMask(shardSeed(42, 0), d * ff, 0.2));
    }
  });
});
