/** Row selection for batched decoding (src/model/batch-rows.ts): the KV cache, key mask and prefill outputs of the rows that go on. */
import { describe, expect, it } from 'vitest';
import { sharedPadding, takeMaskRows, takeRows, takeRowsAll, trimPast } from '../../src/model/batch-rows.js';
import { tensorData } from '../../src/graph/types.js';
import { ConfigSchema } from '../../src/config/schema.js';

describe('batch rows', () => {
  it('takes rows of a (B, …) tensor in the given order, any dtype, keeping the other dims', () => {
    const kv = tensorData('float32', [3, 2, 2, 1], Array.from({ length: 12 }, (_, i) => i)); // (B 3, kv 2, P 2, D 1)
    expect(takeRows(kv, [2, 0])).toEqual({ dtype: 'float32', dims: [2, 2, 2, 1], data: Float32Array.from([8, 9, 10, 11, 0, 1, 2, 3]) });
    const route = tensorData('int64', [3], [0, 2, 1]);
    const scores = tensorData('float32', [3, 2], [0.5, 1, 2, 3, 4, 5]);
    const kept = takeRowsAll({ route, route_scores: scores }, [1]);
    expect(Array.from(kept.route!.data as BigInt64Array)).toEqual([2n]);
    expect(kept.route_scores).toEqual({ dtype: 'float32', dims: [1, 2], data: Float32Array.from([2, 3]) });
    expect(takeRows(kv, [])).toEqual({ dtype: 'float32', dims: [0, 2, 2, 1], data: new Float32Array(0) });
    expect(takeMaskRows([0, 1, 1, 1, 1, 1, 0, 0, 1], 3, [2, 0])).toEqual([0, 0, 1, 0, 1, 1]);
  });

  it('finds the leading positions that are padding in every row and trims them off the cache', () => {
    expect(sharedPadding([0, 0, 1, 1, 0, 1, 1, 1], 2)).toBe(1); // (B 2, P 4): column 1 is real in row 1
    expect(sharedPadding([0, 0, 0, 1, 0, 0, 1, 1], 2)).toBe(2);
    expect(sharedPadding([1, 1, 0, 1], 2)).toBe(0);
    expect(sharedPadding([], 0)).toBe(0);
    const kv = tensorData('float32', [2, 1, 3, 2], Array.from({ length: 12 }, (_, i) => i)); // (B 2, kv 1, P 3, D 2)
    expect(trimPast(kv, 2)).toEqual({ dtype: 'float32', dims: [2, 1, 1, 2], data: Float32Array.from([4, 5, 10, 11]) });
    expect(trimPast(kv, 0)).toBe(kv);
    expect(() => trimPast(kv, 4)).toThrow(expect.objectContaining({ code: 'WISE_SHAPE_MISMATCH', message: expect.stringContaining('[2, 1, 3, 2]') }));
  });

  it('a row outside the batch is WISE_SHAPE_MISMATCH naming the rows and the shape', () => {
    const t = tensorData('float32', [2, 3], [1, 2, 3, 4, 5, 6]);
    expect(() => takeRows(t, [2])).toThrow(expect.objectContaining({ code: 'WISE_SHAPE_MISMATCH', message: expect.stringContaining('[2, 3]') }));
    expect(() => takeRows(t, [-1])).toThrow(expect.objectContaining({ code: 'WISE_SHAPE_MISMATCH' }));
  });

  it('serve.batch_size is an integer in 1..64, default 8', () => {
    expect(ConfigSchema.parse({}).serve.batch_size).toBe(8);
    expect(ConfigSchema.parse({ serve: { batch_size: 1 } }).serve.batch_size).toBe(1);
    for (const bad of [0, 65, 2.5, '8']) expect(ConfigSchema.safeParse({ serve: { batch_size: bad } }).success, String(bad)).toBe(false);
  });
});
