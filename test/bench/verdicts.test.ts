import { describe, expect, it } from 'vitest';
import { verdicts } from '../../bench/lib/verdicts.js';

describe('bench verdicts', () => {
  it('prints PASS / MISS for rated checks, info otherwise, and counts rated misses only', () => {
    const v = verdicts();
    v.check(true, 'a', true);
    v.check(false, 'b', true);
    v.check(false, 'c', false);
    v.check(true, 'd', false);
    expect(v.lines).toEqual(['PASS  a', 'MISS  b', 'info  c', 'info  d']);
    expect(v.misses).toBe(1);
    const check = v.check; // used detached, as the bench scripts do
    check(false, 'e', true);
    expect(v.misses).toBe(2);
  });
});
