import { describe, expect, it } from 'vitest';
import { accumulateMoment, topEigenvectors } from '../../src/memory/projection.js';
import { Rng } from '../../src/util/rng.js';

describe('projection math (wise.project_rank)', () => {
  it('accumulates the upper triangle of Σ a aᵀ', () => {
    const acts = Float32Array.from([1, 2, 0, 3, -1, 2]); // T = 2, n = 3
    const C = new Float64Array(9);
    accumulateMoment(C, acts, 3);
    // rows (1,2,0) and (3,-1,2): C = [[10, -1, 6], [., 5, -2], [., ., 4]]
    expect(Array.from(C)).toEqual([10, -1, 6, 0, 5, -2, 0, 0, 4]);
  });

  it('finds the top eigenvectors of a matrix with known spectrum', () => {
    // C = Q diag(9, 4, 1, 0.25, 0.1) Qᵀ for a random orthonormal Q (Gram–Schmidt of seeded vectors)
    const n = 5;
    const rng = new Rng(3);
    const Q: number[][] = [];
    for (let k = 0; k < n; k++) {
      const v = Array.from({ length: n }, () => rng.normal());
      for (const p of Q) {
        const d = v.reduce((a, x, i) => a + x * p[i]!, 0);
        v.forEach((_, i) => (v[i]! -= d * p[i]!));
      }
      const norm = Math.hypot(...v);
      Q.push(v.map((x) => x / norm));
    }
    const lam = [9, 4, 1, 0.25, 0.1];
    const C = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) C[i * n + j] = lam.reduce((a, l, k) => a + l * Q[k]![i]! * Q[k]![j]!, 0);
    const U = topEigenvectors(C, n, 2, 200);
    for (let k = 0; k < 2; k++) {
      const u = Array.from(U.subarray(k * n, (k + 1) * n));
      const dot = u.reduce((a, x, i) => a + x * Q[k]![i]!, 0);
      expect(Math.abs(dot)).toBeCloseTo(1, 5); // the same direction up to sign
      expect(Math.hypot(...u)).toBeCloseTo(1, 5);
    }
    const d01 = Array.from(U.subarray(0, n)).reduce((a, x, i) => a + x * U[n + i]!, 0);
    expect(Math.abs(d01)).toBeLessThan(1e-6);
  });
});
