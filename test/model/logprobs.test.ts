import { describe, expect, it } from 'vitest';
import { logprobOf, logSumExp, topLogprobs } from '../../src/model/logprobs.js';

describe('logprobs', () => {
  const row = Float32Array.from([1, 3, -2, 3, 0.5, 2]);
  const z = Array.from(row).reduce((a, v) => a + Math.exp(v), 0);

  it('log-softmax of one id, stable for large logits', () => {
    expect(logprobOf(row, 1)).toBeCloseTo(3 - Math.log(z), 6);
    expect(logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.log(2), 6);
    const p = Array.from(row, (_, i) => Math.exp(logprobOf(row, i)));
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('top-k in descending order, ties by lower id, k larger than V and 0', () => {
    expect(topLogprobs(row, 3).map((t) => t.id)).toEqual([1, 3, 5]);
    expect(topLogprobs(row, 3)[2]!.logprob).toBeCloseTo(2 - Math.log(z), 6);
    expect(topLogprobs(row, 10).map((t) => t.id)).toEqual([1, 3, 5, 0, 4, 2]);
    expect(topLogprobs(row, 0)).toEqual([]);
  });
});
