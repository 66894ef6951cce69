import { describe, expect, it } from 'vitest';
import { conflictEps } from '../../src/router/conflicts.js';

describe('conflictEps (wise.threshold_above_edits)', () => {
  const own = new Set([3]);
  it('keeps act_ratio × min when the memory scores low on every other edit', () => {
    expect(conflictEps({ minScore: 10, own, scores: new Map([[3, 12], [4, 2], [5, 7.9]]) }, 0.8, 0)).toBeCloseTo(8);
  });
  it('rises to (1 + margin) × its highest score on another edit, ignoring its own edits', () => {
    expect(conflictEps({ minScore: 10, own, scores: new Map([[3, 50], [4, 8.5], [5, 2]]) }, 0.8, 0.1)).toBeCloseTo(9.35);
  });
  it('never rises to the memory own threshold score (stays 1e-3 below it)', () => {
    expect(conflictEps({ minScore: 10, own, scores: new Map([[4, 30]]) }, 0.8, 0.05)).toBeCloseTo(9.99, 10);
  });
});
