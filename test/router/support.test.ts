/**
 * The channels side memories use (src/router/support.ts): found from the deltas in both weight
 * layouts, their union, the dense fallback above SUPPORT_MAX_FRACTION, and the stack's rows.
 */
import { describe, expect, it } from 'vitest';
import { SUPPORT_MAX_FRACTION, channelFlags, pickRows, unionChannels } from '../../src/router/support.js';

/** A (d, ff) 'out_in' or (ff, d) 'in_out' delta, nonzero at (out i, channel j) for each [i, j] given. */
function delta(layout: 'out_in' | 'in_out', d: number, ff: number, at: [number, number][]): Float32Array {
  const x = new Float32Array(d * ff);
  for (const [i, j] of at) x[layout === 'out_in' ? i * ff + j : j * d + i] = 0.5;
  return x;
}

describe('channel support of side memories', () => {
  for (const layout of ['out_in', 'in_out'] as const) {
    const [d, ff] = [3, 8];
    const shape = layout === 'out_in' ? [d, ff] : [ff, d];
    it(`finds the ff channels with a nonzero weight (${layout})`, () => {
      const x = delta(layout, d, ff, [[0, 1], [2, 1], [1, 6]]);
      expect(Array.from(channelFlags(x, shape, layout))).toEqual([0, 1, 0, 0, 0, 0, 1, 0]);
      const y = delta(layout, d, ff, [[2, 2]]);
      expect(Array.from(unionChannels([x, y, new Float32Array(0)], shape, layout)!)).toEqual([1, 2, 6]); // a padding slot adds nothing
    });
    it(`falls back to the dense product above ${SUPPORT_MAX_FRACTION} of ff, and keeps one channel when nothing is used (${layout})`, () => {
      const wide = delta(layout, d, ff, [0, 1, 2, 3, 4, 5, 6].map((j) => [0, j] as [number, number])); // 7 of 8 channels
      expect(unionChannels([wide], shape, layout)).toBeNull();
      const six = delta(layout, d, ff, [0, 1, 2, 3, 4, 5].map((j) => [1, j] as [number, number])); // 6 of 8 = 0.75
      expect(Array.from(unionChannels([six], shape, layout)!)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(Array.from(unionChannels([new Float32Array(d * ff)], shape, layout)!)).toEqual([0]);
    });
  }
  it('picks rows of a row-major matrix', () => {
    const m = Float32Array.from({ length: 12 }, (_, i) => i); // (4, 3)
    expect(Array.from(pickRows(m, 3, Int32Array.from([1, 3])))).toEqual([3, 4, 5, 9, 10, 11]);
  });
});
