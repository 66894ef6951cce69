import { describe, expect, it } from 'vitest';
import { settingsDiff } from '../../src/edits/settings-guard.js';

describe('settingsDiff', () => {
  it('names each differing key, stored → now; ignores object key order; a missing key reads as null', () => {
    const stored = { mask_ratio: 0.2, merge_params: { a: 1, b: [1, { x: 2, y: 3 }] }, n_iter: 70 };
    expect(settingsDiff(stored, { n_iter: 70, merge_params: { b: [1, { y: 3, x: 2 }], a: 1 }, mask_ratio: 0.2 })).toEqual([]);
    expect(settingsDiff(stored, { ...stored, mask_ratio: 0.5, seed: 7 })).toEqual(['wise.mask_ratio: 0.2 → 0.5', 'wise.seed: null → 7']);
    expect(settingsDiff(stored, { ...stored, merge_params: { a: 1, b: [{ x: 2, y: 3 }, 1] } })).toHaveLength(1); // array order counts
  });
});
