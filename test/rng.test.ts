import { describe, expect, it } from 'vitest';
import { Rng } from '../src/util/rng.js';

describe('seeded rng', () => {
  it('same seed, same stream; different seed, different stream', () => {
    const a = new Rng(7), b = new Rng(7), c = new Rng(8);
    const xa = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.nextU32())).not.toEqual(xa);
  });
  it('uniform in [0,1) with mean ~0.5 and normal with var ~1', () => {
    const r = new Rng('x');
    let s = 0, s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) { const u = r.next(); expect(u).toBeGreaterThanOrEqual(0); expect(u).toBeLessThan(1); s += u; }
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.01);
    s = 0;
    for (let i = 0; i < n; i++) { const z = r.normal(); s += z; s2 += z * z; }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
  });
});
