/**
 * Hand-worked merges, small enough to check on paper; every entry is asserted exactly.
 * Values are chosen so that every intermediate is exact in Float32/Float64.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import { mergeRegistry, type Matrix } from '../../src/merge/index.js';
import { deltaSeed } from '../../src/merge/sparsify.js';
import { f32, mat, zeros } from './helpers.js';

const run = (method: string, deltas: Matrix[], weights: number[], params: object) =>
  Array.from(mergeRegistry.merge(method, zeros([...(deltas[0] as Matrix).shape]), deltas, weights, params));

describe('ties (WISE/mergekit variant: exact top-k, ties by index, zero sum → +)', () => {
  // N = 6, density 0.5 → keep ⌊0.5·6⌋ = 3 entries per delta.
  // Δ1 = [4, −2, 1, −3, 0.5, 2]: |Δ1| ranks 4(i0) 3(i3) 2(i1) 2(i5)…; the tie at 2 goes to i1 (lower index)
  //   → Δ̂1 = [4, −2, 0, −3, 0, 0]
  // Δ2 = [−1, 3, −1, 3, −0.5, −1]: 3(i1) 3(i3) then three 1s; i0 wins → Δ̂2 = [−1, 3, 0, 3, 0, 0]
  const d1 = mat([4, -2, 1, -3, 0.5, 2], [2, 3]);
  const d2 = mat([-1, 3, -1, 3, -0.5, -1], [2, 3]);

  it('equal weights', () => {
    // Σ = [3, 1, 0, 0, 0, 0]; i0 +: {4} → 4; i1 +: {3} → 3; i3: sum 0 → + : {3} → 3.
    expect(run('ties', [d1, d2], [1, 1], { density: 0.5 })).toEqual([4, 3, 0, 3, 0, 0]);
  });

  it('weights move the election and the mean is weighted', () => {
    // w = [0.5, 0.25]: t1 = [2, −1, 0, −1.5, 0, 0], t2 = [−0.25, 0.75, 0, 0.75, 0, 0]
    // Σ = [1.75, −0.25, 0, −0.75, 0, 0]; i0 +: 2/0.5 = 4; i1 −: −1/0.5 = −2; i3 −: −1.5/0.5 = −3.
    expect(run('ties', [d1, d2], [0.5, 0.25], { density: 0.5 })).toEqual([4, -2, 0, -3, 0, 0]);
  });

  it('λ scales the disjoint mean', () => {
    expect(run('ties', [d1, d2], [1, 1], { density: 0.5, lambda: 0.5 })).toEqual([2, 1.5, 0, 1.5, 0, 0]);
  });

  it('a zero sum elects + even when most signs are −', () => {
    // density 1 keeps all. Σ = [−2, −3, 0, 1]; i2 (5 vs −5) elects + → 5.
    const a = mat([-1, -2, 5, -1]);
    const b = mat([-1, -1, -5, 2]);
    expect(run('ties', [a, b], [1, 1], { density: 1 })).toEqual([-1, -1.5, 5, 2]);
  });
});

describe('ties (original paper variant: |Δ| ≥ kthvalue, zero sum → global majority)', () => {
  it('keeps every tie at the threshold (⌊dN⌋+1 = 4th largest |Δ|)', () => {
    // Δ1: 4th largest |Δ1| = 2 → keep |Δ| ≥ 2: Δ̂1 = [4, −2, 0, −3, 0, 2]
    // Δ2: 4th largest |Δ2| = 1 → keep |Δ| ≥ 1: Δ̂2 = [−1, 3, −1, 3, 0, −1]
    // Σ = [3, 1, −1, 0, 0, 1] → γ = [+, +, −, 0, 0, +]; majority sign(Σγ = 2) = + fills i3.
    // i0 {4} → 4; i1 {3} → 3; i2 {−1} → −1; i3 {3} → 3; i5 {2} → 2.
    const d1 = mat([4, -2, 1, -3, 0.5, 2], [2, 3]);
    const d2 = mat([-1, 3, -1, 3, -0.5, -1], [2, 3]);
    expect(run('ties', [d1, d2], [1, 1], { density: 0.5, variant: 'paper' })).toEqual([4, 3, -1, 3, 0, 2]);
  });

  it('a zero sum takes the majority sign, here −', () => {
    // Σ = [−2, −3, 0, 1] → γ = [−, −, 0, +], Σγ = −1 → i2 elects −: {−5} → −5.
    const a = mat([-1, -2, 5, -1]);
    const b = mat([-1, -1, -5, 2]);
    expect(run('ties', [a, b], [1, 1], { density: 1, variant: 'paper' })).toEqual([-1, -1.5, -5, 2]);
    // Each knob is selectable on its own: exact trim with the majority rule gives the same here.
    expect(run('ties', [a, b], [1, 1], { density: 1, zeroSign: 'majority' })).toEqual([-1, -1.5, -5, 2]);
  });
});

describe('dare with a fixed seed', () => {
  // p = 0.5: survivors are doubled (1/(1−0.5) = 2, exact). Seed 5, one delta: the stream
  // keeps i1, i2, i3, i6 (4 of 8, the expected half).
  const d = mat([1, 2, 3, 4, 5, 6, 7, 8]);
  const expected = [0, 4, 6, 8, 0, 0, 14, 0];

  it('drops and rescales by 1/(1−p), pinned for seed 5', () => {
    expect(run('dare', [d], [1], { p: 0.5, seed: 5 })).toEqual(expected);
  });

  it('the pinned mask is the documented stream: drop iff Rng(deltaSeed(5, 0)).nextU32() < 2³¹', () => {
    const rng = new Rng(deltaSeed(5, 0));
    const mask = Array.from(d.data, (v) => (rng.nextU32() < 2 ** 31 ? 0 : 2 * v));
    expect(mask).toEqual(expected);
  });

  it('L1 rescale (mergekit) uses ‖Δ‖₁/‖m⊙Δ‖₁ = 36/(2+3+4+7) = 2.25 instead', () => {
    expect(run('dare', [d], [1], { p: 0.5, seed: 5, rescale: 'l1' })).toEqual([0, 4.5, 6.75, 9, 0, 0, 15.75, 0]);
  });
});

describe('breadcrumbs', () => {
  // |Δ| ranks: 10(i0) 9(i1) 8(i2) 7(i4) 6(i5) 5(i7) 4(i8) 3(i9) 0.5(i3) 0.1(i6)
  const d = mat([10, -9, 8, 0.5, -7, 6, -0.1, 5, 4, -3], [2, 5]);

  it('drops the top ⌊γN⌋ = 1 outlier and keeps the next ⌊dN⌋ = 5', () => {
    expect(run('breadcrumbs', [d], [1], { density: 0.5, gamma: 0.1 })).toEqual([0, -9, 8, 0, -7, 6, 0, 5, 0, 0]);
  });

  it('γ·N < 1 keeps the plain top ⌊dN⌋ instead of zeroing the tensor', () => {
    expect(run('breadcrumbs', [d], [1], { density: 0.5, gamma: 0.01 })).toEqual([10, -9, 8, 0, -7, 6, 0, 0, 0, 0]);
  });

  it('ties at both boundaries go by index, and deltas are summed with their weights', () => {
    // all |Δ| equal: rank = index. nTop = ⌊0.25·4⌋ = 1, nKeep = 2 → keep i1, i2.
    const a = mat([3, 3, 3, 3]);
    const b = mat([1, -2, 4, -8]); // ranks 8(i3) 4(i2) 2(i1) 1(i0): drop i3, keep i2, i1
    expect(run('breadcrumbs', [a, b], [1, 0.5], { density: 0.5, gamma: 0.25 })).toEqual([0, 3 - 1, 3 + 2, 0]);
  });
});

describe('pcb', () => {
  // k = 2, N = 4, outlierRatio 0.25 → clamp |τ| to [asc[1], asc[⌊4·0.75⌋−1 = 2]];
  // ratio 0.5 → q = asc[⌊4·0.5⌋ = 2] of the scores: only the top score survives, β = 1.
  // τ1 = [0.1, −0.4, 0.3, 0.2]: clamp to [0.2, 0.3] → τ̃1 = [0.2, −0.3, 0.3, 0.2], norm x1 = [0, 1, 1, 0]
  // τ2 = [−0.1, 0.2, 0.3, 0.4]: clamp to [0.2, 0.3] → τ̃2 = [−0.2, 0.2, 0.3, 0.3], norm x2 = [0, 0, 1, 1]
  // Σ_j τ_j = [0, −0.2, 0.6, 0.6]
  // s1 = e^{2x²}·tanh(τ1·Σ) ∝ [0, tanh .08, tanh .18, e^{-2} tanh .12] = [0, .080, .178, .016] → top i2
  // s2 ∝ [0, e^{-2} tanh(−.04), tanh .18, tanh .24] = [0, −.005, .178, .235] → top i3
  // merged = Σ β τ̃ / Σ β = [0, 0, τ̃1[2], τ̃2[3]] = [0, 0, 0.3, 0.3] (0.4 was clamped to 0.3).
  const t1 = mat([0.1, -0.4, 0.3, 0.2]);
  const t2 = mat([-0.1, 0.2, 0.3, 0.4]);

  it('clamps, balances, keeps each task’s top score, and averages', () => {
    expect(run('pcb', [t1, t2], [1, 1], { ratio: 0.5, outlierRatio: 0.25 })).toEqual([0, 0, f32(0.3), f32(0.3)]);
  });

  it('λ scales the result', () => {
    expect(run('pcb', [t1, t2], [1, 1], { ratio: 0.5, outlierRatio: 0.25, lambda: 2 })).toEqual([0, 0, f32(0.6), f32(0.6)]);
  });

  it('survives k > 88 (exp overflow in the reference) and constant inputs', () => {
    const rng = new Rng(3);
    const many = Array.from({ length: 100 }, () => mat(Array.from({ length: 16 }, () => rng.normal())));
    const out = mergeRegistry.merge('pcb', zeros([16]), many, many.map(() => 1), {});
    expect(out.every(Number.isFinite)).toBe(true);
    expect(out.some((v) => v !== 0)).toBe(true);
    const constant = mat([0.5, 0.5, 0.5, 0.5]);
    const c = mergeRegistry.merge('pcb', zeros([4]), [constant, constant], [1, 1], {});
    expect(Array.from(c)).toEqual([0, 0, 0, 0]); // constant scores: nothing is above the boundary
  });
});

describe('learned-mask hook (task_arithmetic only)', () => {
  it('computes λ·(m ⊙ Σ w Δ)/mean(m)', () => {
    const m = [1, 0, 1, 0];
    const mask = { fill: (s: number, e: number, out: Float32Array) => out.set(m.slice(s, e)) };
    const out = mergeRegistry.merge('task_arithmetic', zeros([4]), [mat([1, 2, 3, 4]), mat([1, 1, 1, 1])], [1, 1], {}, { mask });
    expect(Array.from(out)).toEqual([4, 0, 8, 0]); // mean(m) = 0.5
  });
});
