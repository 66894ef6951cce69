/** The router's cap on tokens per full pass: M·d-wide intermediates stay within ROUTE_CELL_BUDGET. */
import { describe, expect, it } from 'vitest';
import { ROUTE_CELL_BUDGET, routeTokenCap, routerVariant } from '../../src/router/router.js';

describe('routeTokenCap', () => {
  it('keeps tokens × M·d within the budget, and at least 64 tokens', () => {
    const d = 256;
    for (const M of [1, 8, 64, 1024, 4096]) {
      const cap = routeTokenCap(M, d);
      expect(cap).toBeGreaterThanOrEqual(64);
      if (cap > 64) expect(cap * M * d).toBeLessThanOrEqual(ROUTE_CELL_BUDGET);
      if (cap > 64) expect((cap + 1) * M * d).toBeGreaterThan(ROUTE_CELL_BUDGET);
    }
    expect(routeTokenCap(1024, 256)).toBe(256); // 2^26 / 2^18
    expect(routeTokenCap(4096, 4096)).toBe(64);
  });

  it('is carried by the routed variant, over the bucketed memory count', () => {
    const shape = [8, 4]; // (ff, d) in the conv1d layout
    const mems = Array.from({ length: 3 }, (_, i) => ({ id: `m${i}`, delta: new Float32Array(32), eps: 1 }));
    expect(routerVariant(mems, { layer: 0, maxMeanTokens: 100, layout: 'in_out' }, shape).maxTokens).toBe(routeTokenCap(4, 4));
  });
});
