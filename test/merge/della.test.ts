/**
 * DELLA (della.ts): MagPrune's keep probabilities by hand, the whole sparsifier against a naive reference that draws
 * the same stream entry by entry (rows cut across blocks included), its statistics, the rescale rules, and the
 * ε = 0 case equal to DARE at p = 1 − d.
 */
import { describe, expect, it } from 'vitest';
import { dellaKeepProbs } from '../../src/merge/della.js';
import { mergeRegistry, type Matrix } from '../../src/merge/index.js';
import { deltaSeed } from '../../src/merge/sparsify.js';
import { WiseError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { bytesEqual, randomDelta, zeros } from './helpers.js';

const f32 = (x: number): number => Math.fround(x);

/** MagPrune of one delta the obvious way: per entry, its row's rank probability and one draw of the delta's stream. */
function referenceMagPrune(d: Matrix, density: number, epsilon: number, seed: number, rescale: 'inverse' | 'none'): Float32Array {
  const cols = d.shape.length === 0 ? 1 : d.shape[d.shape.length - 1]!;
  const rng = new Rng(deltaSeed(seed, 0));
  const out = new Float32Array(d.data.length);
  for (let r = 0; r * cols < d.data.length; r++) {
    const row = Array.from(d.data.subarray(r * cols, (r + 1) * cols));
    const order = row.map((_, j) => j).sort((a, b) => Math.abs(row[a]!) - Math.abs(row[b]!) || a - b);
    const p = new Array<number>(cols);
    order.forEach((j, rank) => (p[j] = cols === 1 ? density : density - epsilon + (2 * epsilon * rank) / (cols - 1)));
    row.forEach((v, j) => {
      const dropped = rng.nextU32() < Math.round((1 - p[j]!) * 2 ** 32);
      out[r * cols + j] = dropped ? 0 : rescale === 'inverse' ? v / p[j]! : v;
    });
  }
  return out;
}

describe('della: MagPrune', () => {
  it('keep probabilities: (d − ε) + 2ε·rank/(c − 1) by ascending |Δ|, equal magnitudes by index, one entry d', () => {
    const near = (got: Float64Array, want: number[]): void => want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 12));
    near(dellaKeepProbs(Float32Array.of(0.5, -3, 1, 2), 0.5, 0.15), [0.35, 0.65, 0.45, 0.55]); // ranks 0, 3, 1, 2
    near(dellaKeepProbs(Float32Array.of(1, -1, 1), 0.6, 0.2), [0.4, 0.6, 0.8]);
    expect(Array.from(dellaKeepProbs(Float32Array.of(-7), 0.3, 0.1))).toEqual([0.3]);
  });

  for (const shape of [[3, 7], [2, 20000], [1000], [5, 1]]) {
    it(`one delta equals the naive reference, shape [${shape.join('×')}]${shape[1] === 20000 ? ' (rows cut across blocks)' : ''}`, () => {
      const d = randomDelta(new Rng(3), shape, shape[0] === 3 ? 2 : 0); // [3×7]: few magnitudes, so ties
      for (const rescale of ['inverse', 'none'] as const) {
        const got = mergeRegistry.merge('della_linear', zeros(shape), [d], [1], { density: 0.4, epsilon: 0.1, seed: 77, rescale });
        expect(bytesEqual(got, referenceMagPrune(d, 0.4, 0.1, 77, rescale)), rescale).toBe(true);
      }
    });
  }

  it('keeps d of the entries, more of a row\'s largest (d + ¾ε in the top quarter of ranks) and fewer of its smallest', () => {
    const shape = [200, 500];
    const d = randomDelta(new Rng(4), shape);
    const out = mergeRegistry.merge('della_linear', zeros(shape), [d], [1], { density: 0.5, epsilon: 0.15, seed: 5, rescale: 'none' });
    let kept = 0;
    const quarter = { top: [0, 0], bottom: [0, 0] };
    for (let r = 0; r < 200; r++) {
      const probs = dellaKeepProbs(d.data.subarray(r * 500, (r + 1) * 500), 0.5, 0.15);
      for (let j = 0; j < 500; j++) {
        const on = out[r * 500 + j] !== 0 ? 1 : 0;
        kept += on;
        const q = probs[j]! >= 0.5 + 0.075 ? quarter.top : probs[j]! < 0.5 - 0.075 ? quarter.bottom : null;
        if (q) (q[0]! += on), q[1]!++;
      }
    }
    expect(kept / 100000).toBeCloseTo(0.5, 2);
    expect(quarter.top[0]! / quarter.top[1]!).toBeCloseTo(0.5 + 0.75 * 0.15, 1.5);
    expect(quarter.bottom[0]! / quarter.bottom[1]!).toBeCloseTo(0.5 - 0.75 * 0.15, 1.5);
  });

  it('rescale l1 keeps the delta\'s L1 norm; density 1 returns the weighted sum unscaled', () => {
    const d = randomDelta(new Rng(6), [40, 60]);
    const l1 = (x: Float32Array): number => x.reduce((a, v) => a + Math.abs(v), 0);
    const out = mergeRegistry.merge('della_linear', zeros([40, 60]), [d], [1], { seed: 1, rescale: 'l1' });
    expect(out.filter((v) => v === 0).length).toBeGreaterThan(600);
    expect(l1(out) / l1(d.data)).toBeCloseTo(1, 5);
    const e = randomDelta(new Rng(7), [40, 60]);
    const sum = mergeRegistry.merge('della_linear', zeros([40, 60]), [d, e], [0.5, 0.25], { density: 1, epsilon: 0.9, seed: 1 });
    expect(Array.from(sum)).toEqual(Array.from(d.data, (v, i) => f32(0.5 * v + 0.25 * e.data[i]!)));
  });
});

describe('della: merges', () => {
  const rng = new Rng(9);
  const shape = [30, 50];
  const ds = Array.from({ length: 3 }, () => randomDelta(rng, shape));
  const w = [0.5, 0.3, 0.2];

  it('ε = 0 drops exactly what DARE drops at p = 1 − d (della_linear = dare, della without normalize = dare_ties)', () => {
    for (const rescale of ['none', 'l1'] as const) {
      expect(bytesEqual(mergeRegistry.merge('della_linear', zeros(shape), ds, w, { density: 0.7, epsilon: 0, seed: 21, rescale }), mergeRegistry.merge('dare', zeros(shape), ds, w, { p: 0.3, seed: 21, rescale })), rescale).toBe(true);
      expect(bytesEqual(mergeRegistry.merge('della', zeros(shape), ds, w, { density: 0.7, epsilon: 0, seed: 21, rescale, normalize: false }), mergeRegistry.merge('dare_ties', zeros(shape), ds, w, { p: 0.3, seed: 21, rescale })), rescale).toBe(true);
    }
    // 'inverse' divides each kept entry by its p here, DARE scales the weight: the same up to rounding
    const a = mergeRegistry.merge('della_linear', zeros(shape), ds, w, { density: 0.7, epsilon: 0, seed: 21 });
    const b = mergeRegistry.merge('dare', zeros(shape), ds, w, { p: 0.3, seed: 21 });
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 5));
  });

  it('della elects the sign and averages the agreeing entries: one delta gives its MagPrune; the seed decides the bytes', () => {
    const one = mergeRegistry.merge('della', zeros(shape), [ds[0]!], [0.7], { seed: 3 });
    expect(bytesEqual(one, referenceMagPrune(ds[0]!, 0.53, 0.15, 3, 'inverse'))).toBe(true);
    const a = mergeRegistry.merge('della', zeros(shape), ds, w, { seed: 3 });
    expect(bytesEqual(a, mergeRegistry.merge('della', zeros(shape), ds, w, { seed: 3 }))).toBe(true);
    expect(bytesEqual(a, mergeRegistry.merge('della', zeros(shape), ds, w, { seed: 4 }))).toBe(false);
    // every nonzero output agrees in sign with the weighted sum of the deltas' kept entries, which the mean never flips
    const lin = mergeRegistry.merge('della_linear', zeros(shape), ds, w, { seed: 3 });
    a.forEach((v, i) => v !== 0 && expect(Math.sign(v)).toBe(Math.sign(lin[i]!) || 1));
  });

  it.each([
    [{ seed: 1, epsilon: 0.5 }, 'epsilon'], // 0.53 + 0.5 ≥ 1
    [{ seed: 1, density: 0.1, epsilon: 0.1 }, 'epsilon'], // d − ε = 0
    [{ density: 0.5 }, 'seed'],
    [{ seed: 1, density: 0 }, 'density'],
    [{ seed: 1, rescale: 'l2' }, 'rescale'],
  ])('%o → WISE_MERGE_PARAM naming %s', (params, param) => {
    for (const method of ['della', 'della_linear']) {
      let err: unknown;
      try {
        mergeRegistry.merge(method, zeros(shape), ds, w, params);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WiseError);
      expect((err as WiseError).code).toBe('WISE_MERGE_PARAM');
      expect((err as WiseError).details.param).toBe(param);
    }
  });

  it('della refuses negative weights; della_linear takes them unless normalize is on', () => {
    expect(() => mergeRegistry.merge('della', zeros(shape), ds, [1, -1, 1], { seed: 1 })).toThrow(expect.objectContaining({ code: 'WISE_MERGE_PARAM' }));
    expect(() => mergeRegistry.merge('della_linear', zeros(shape), ds, [1, -1, 1], { seed: 1 })).not.toThrow();
    expect(() => mergeRegistry.merge('della_linear', zeros(shape), ds, [1, -1, 1], { seed: 1, normalize: true })).toThrow(expect.objectContaining({ code: 'WISE_MERGE_PARAM' }));
  });
});
