import { describe, expect, it } from 'vitest';
import { conflictEps, emptyStats, epsFromStats, poolStats } from '../../src/router/conflicts.js';

// scores per edit id: [prompt alone, prompt + target]
describe('conflictEps (wise.threshold_above_edits)', () => {
  const own = new Set([3]);
  it('keeps act_ratio × min when the memory scores low on every other edit', () => {
    expect(conflictEps({ minScore: 10, own, scores: new Map([[3, [11, 12]], [4, [2, 1]], [5, [7.9, 3]]]) }, 0.8, 0)).toBeCloseTo(8);
  });
  it('rises to (1 + margin) × its highest score on another edit (either form), ignoring its own edits', () => {
    expect(conflictEps({ minScore: 10, own, scores: new Map([[3, [40, 50]], [4, [2, 8.5]], [5, [2, 2]]]) }, 0.8, 0.1)).toBeCloseTo(9.35);
    expect(conflictEps({ minScore: 10, own, scores: new Map([[3, [40, 50]], [4, [8.5, 2]]]) }, 0.8, 0.1)).toBeCloseTo(9.35);
  });
  it('stays 1e-3 below the memory own threshold score', () => {
    expect(conflictEps({ minScore: 10, own, scores: new Map([[4, [30, 30]]]) }, 0.8, 0.05)).toBeCloseTo(9.99, 10);
  });
  it('stays below the memory score on its own prompt alone, when that is lower (a generation routes on the prompt)', () => {
    expect(conflictEps({ minScore: 10, own, scores: new Map([[3, [9, 12]], [4, [30, 30]]]) }, 0.8, 0.05)).toBeCloseTo(9 * 0.999, 10);
    // but never below act_ratio × min
    expect(conflictEps({ minScore: 10, own, scores: new Map([[3, [5, 12]], [4, [30, 30]]]) }, 0.8, 0.05)).toBeCloseTo(8, 10);
  });
  it('threshold_pool: the pool floor raises ε above the own-score cap (a hub memory is not trusted)', () => {
    const scores = new Map<number, [number, number]>([[3, [11, 12]], [4, [30, 30]]]);
    expect(conflictEps({ minScore: 10, own, scores }, 0.8, 0.05, { high: 20, factor: 1.1 })).toBeCloseTo(22, 10);
    // below the other rules it changes nothing
    expect(conflictEps({ minScore: 10, own, scores }, 0.8, 0.05, { high: 5, factor: 1.1 })).toBeCloseTo(9.99, 10);
  });
  it('threshold_pool_z: the floor is mean + z × population std of the pool scores, instead of factor × max', () => {
    // scores 1, 2, 3, 6: mean 3, population variance (4 + 1 + 0 + 9) / 4 = 3.5
    const p = poolStats([1, 2, 3, 6]);
    expect(p.pool).toBe(6);
    expect(p.poolMean).toBe(3);
    expect(p.poolStd).toBeCloseTo(Math.sqrt(3.5), 12);
    expect(poolStats([])).toEqual({ pool: 0, poolMean: 0, poolStd: 0 });
    const st = { ...emptyStats(), ownLow: 5, worst: 1, ...p };
    expect(epsFromStats(5, st, { actRatio: 0.9, margin: 0.05, poolFactor: 1.5 })).toBeCloseTo(9, 12); // 1.5 × 6
    expect(epsFromStats(5, st, { actRatio: 0.9, margin: 0.05, poolFactor: 1.5, poolZ: 2 })).toBeCloseTo(3 + 2 * Math.sqrt(3.5), 12);
    expect(epsFromStats(5, st, { actRatio: 0.9, margin: 0.05, poolFactor: 1.5, poolZ: 0 })).toBeCloseTo(9, 12); // 0 = the max rule
    // the floor is off with the pool off, whatever z
    expect(epsFromStats(5, st, { actRatio: 0.9, margin: null, poolFactor: null, poolZ: 2 })).toBeCloseTo(4.5, 12);
  });
});
