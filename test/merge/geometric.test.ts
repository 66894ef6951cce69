/** SLERP and Model Stock (slerp.ts, model-stock.ts) by hand and against mergekit's formulas written out here. */
import { describe, expect, it } from 'vitest';
import { mergeRegistry, type Matrix } from '../../src/merge/index.js';
import { WiseError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { mat, randomDelta } from './helpers.js';

const near = (got: ArrayLike<number>, want: readonly number[], digits = 6): void => want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, digits));
const code = (f: () => unknown): [string, unknown] => {
  try {
    f();
  } catch (e) {
    return [(e as WiseError).code, (e as WiseError).details.param];
  }
  return ['none', null];
};

/** mergekit's slerp on flat vectors (numpy, float64), written out. */
function mergekitSlerp(t: number, v0: readonly number[], v1: readonly number[]): number[] {
  const unit = (v: readonly number[]) => {
    const n = Math.hypot(...v);
    return n > 1e-8 ? v.map((x) => x / n) : [...v];
  };
  const dot = unit(v0).reduce((s, x, i) => s + x * unit(v1)[i]!, 0);
  if (Math.abs(dot) > 0.9995) return v0.map((x, i) => (1 - t) * x + t * v1[i]!);
  const th = Math.acos(dot);
  return v0.map((x, i) => (Math.sin(th - th * t) / Math.sin(th)) * x + (Math.sin(th * t) / Math.sin(th)) * v1[i]!);
}

describe('slerp', () => {
  const slerp = (w0: number[], w1: number[], t: number) => mergeRegistry.merge('slerp', mat(w0), [mat(w1.map((x, i) => x - w0[i]!))], [1], { t });
  it('by hand: a quarter turn at t = 0.5 is the diagonal; t = 0 the base, t = 1 the other model; nearly parallel is linear', () => {
    near(slerp([1, 0], [0, 1], 0.5), [Math.SQRT1_2 - 1, Math.SQRT1_2]);
    near(slerp([1, 0], [0, 1], 0), [0, 0]);
    near(slerp([1, 0], [0, 1], 1), [-1, 1]);
    near(slerp([1, 2, 3], [2, 4, 6], 0.25), [0.25, 0.5, 0.75]); // cos 1: (1 − t)W0 + tW1 = W0 + t·W0
  });

  it('equals mergekit\'s formula on random matrices (the merged delta plus the base)', () => {
    const rng = new Rng(5);
    const base = randomDelta(rng, [6, 11]);
    const d = randomDelta(rng, [6, 11]);
    for (const t of [0.1, 0.5, 0.9]) {
      const got = mergeRegistry.merge('slerp', base, [d], [1], { t });
      const want = mergekitSlerp(t, Array.from(base.data), Array.from(base.data, (x, i) => x + d.data[i]!));
      near(Array.from(got, (x, i) => x + base.data[i]!), want, 5);
    }
  });

  it('takes exactly one delta and t in [0, 1]', () => {
    const z = mat([1, 2]);
    expect(code(() => mergeRegistry.merge('slerp', z, [z, z], [1, 1], { t: 0.5 }))).toEqual(['WISE_MERGE_PARAM', 'deltas']);
    expect(code(() => mergeRegistry.merge('slerp', z, [z], [1], { t: 1.5 }))).toEqual(['WISE_MERGE_PARAM', 't']);
    expect(code(() => mergeRegistry.merge('slerp', z, [z], [1], {}))).toEqual(['WISE_MERGE_PARAM', 't']);
  });
});

describe('model_stock', () => {
  it('by hand: t = k cos θ / (1 + (k − 1) cos θ) times the deltas\' mean', () => {
    const c = Math.SQRT1_2; // the angle of [1, 0] and [1, 1]
    const t = (2 * c) / (1 + c);
    near(mergeRegistry.merge('model_stock', mat([5, 5]), [mat([1, 0]), mat([1, 1])], [1, 1], {}), [t, t / 2]);
    near(mergeRegistry.merge('model_stock', mat([5, 5]), [mat([1, 0]), mat([0, 1])], [1, 1], {}), [0, 0]); // orthogonal: t = 0, the base
    near(mergeRegistry.merge('model_stock', mat([5, 5]), [mat([2, 1]), mat([2, 1]), mat([2, 1])], [1, 1, 1], {}), [2, 1]); // one direction: t = 1
  });

  it('filter_wise: θ and t per row; three deltas average their pairs\' cosines', () => {
    // row 0 agrees (t = 1), row 1 is orthogonal (t = 0)
    const ds: Matrix[] = [mat([1, 0, 1, 0], [2, 2]), mat([1, 0, 0, 1], [2, 2])];
    near(mergeRegistry.merge('model_stock', mat([0, 0, 0, 0], [2, 2]), ds, [1, 1], { filter_wise: true }), [1, 0, 0, 0]);
    const whole = Math.cos(Math.PI / 3); // [1,0,1,0]·[1,0,0,1] / (√2 √2) = 1/2
    const tw = (2 * whole) / (1 + whole);
    near(mergeRegistry.merge('model_stock', mat([0, 0, 0, 0], [2, 2]), ds, [1, 1], {}), [tw, 0, tw / 2, tw / 2]);
    const three = [mat([1, 0]), mat([0, 1]), mat([1, 1])];
    const cos = (0 + Math.SQRT1_2 + Math.SQRT1_2) / 3;
    const t3 = (3 * cos) / (1 + 2 * cos);
    near(mergeRegistry.merge('model_stock', mat([0, 0]), three, [1, 1, 1], {}), [(t3 * 2) / 3, (t3 * 2) / 3]);
    expect(code(() => mergeRegistry.merge('model_stock', mat([0, 0]), [mat([1, 0])], [1], {}))).toEqual(['WISE_MERGE_PARAM', 'deltas']);
  });
});
