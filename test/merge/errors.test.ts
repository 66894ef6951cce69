/** Bad inputs are rejected with WiseError codes whose details name the parameter. */
import { describe, expect, it } from 'vitest';
import { WiseError } from '../../src/util/errors.js';
import { mergeRegistry } from '../../src/merge/index.js';
import { mat, zeros } from './helpers.js';

function fails(f: () => unknown): WiseError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WiseError);
    return e as WiseError;
  }
  throw new Error('expected a WiseError');
}

const a = mat([1, -2, 3, -4], [2, 2]);
const b = mat([-1, 2, 3, 4], [2, 2]);
const base = zeros([2, 2]);

describe('parameter validation', () => {
  for (const method of ['ties', 'magnitude', 'breadcrumbs']) {
    for (const density of [0, -0.1, 1.01, Number.NaN]) {
      it(`${method}: density ${density} is outside (0, 1]`, () => {
        const e = fails(() => mergeRegistry.merge(method, base, [a, b], [1, 1], { density }));
        expect(e.code).toBe('WISE_MERGE_PARAM');
        expect(e.details.param).toBe('density');
      });
    }
  }

  it('unknown keys are errors naming the key', () => {
    const e = fails(() => mergeRegistry.merge('ties', base, [a, b], [1, 1], { density: 0.5, densty: 0.5 }));
    expect(e.code).toBe('WISE_MERGE_PARAM');
    expect(e.details.param).toBe('densty');
  });

  it.each([
    ['dare', { p: 1, seed: 1 }, 'p'],
    ['dare', { p: -0.1, seed: 1 }, 'p'],
    ['dare', { p: 0.5 }, 'seed'],
    ['dare_ties', { seed: 1.5 }, 'seed'],
    ['dare', { seed: 1, rescale: 'l2' }, 'rescale'],
    ['pcb', { ratio: 0 }, 'ratio'],
    ['pcb', { outlierRatio: 0.5 }, 'outlierRatio'],
    ['breadcrumbs', { gamma: 1 }, 'gamma'],
    ['ties', { lambda: Number.NaN }, 'lambda'],
    ['ties', { lambda: Infinity }, 'lambda'],
    ['ties', { variant: 'mergekit' }, 'variant'],
  ])('%s %o → %s', (method, params, param) => {
    const e = fails(() => mergeRegistry.merge(method, base, [a, b], [1, 1], params));
    expect(e.code).toBe('WISE_MERGE_PARAM');
    expect(e.details.param).toBe(param);
  });

  it('unknown method', () => {
    const e = fails(() => mergeRegistry.merge('nuslerp', base, [a, b], [1, 1], {}));
    expect(e.code).toBe('WISE_MERGE_UNKNOWN_METHOD');
    expect(e.details.param).toBe('method');
  });
});

describe('weights', () => {
  for (const method of ['ties', 'sign', 'dare_ties', 'pcb']) {
    it(`${method} rejects negative weights`, () => {
      const params = method === 'dare_ties' ? { seed: 1 } : {};
      const e = fails(() => mergeRegistry.merge(method, base, [a, b], [1, -0.5], params));
      expect(e.code).toBe('WISE_MERGE_PARAM');
      expect(e.details).toMatchObject({ param: 'weights', index: 1 });
    });
  }

  it('magnitude allows negatives unless normalize is on', () => {
    expect(() => mergeRegistry.merge('magnitude', base, [a, b], [1, -1], {})).not.toThrow();
    expect(fails(() => mergeRegistry.merge('magnitude', base, [a, b], [1, -1], { normalize: true })).details.param).toBe('weights');
  });

  it('task_arithmetic allows negation (forgetting a task)', () => {
    expect(Array.from(mergeRegistry.merge('task_arithmetic', base, [a], [-1], {}))).toEqual([-1, 2, -3, 4]);
  });

  it('one finite weight per delta', () => {
    expect(fails(() => mergeRegistry.merge('ties', base, [a, b], [1], {})).details.param).toBe('weights');
    expect(fails(() => mergeRegistry.merge('ties', base, [a, b], [1, Number.NaN], {})).details.param).toBe('weights');
  });
});

describe('deltas', () => {
  it('different shapes are WISE_SHAPE_MISMATCH', () => {
    const e = fails(() => mergeRegistry.merge('ties', base, [a, mat([1, 2, 3, 4], [4, 1])], [1, 1], {}));
    expect(e.code).toBe('WISE_SHAPE_MISMATCH');
    expect(e.details).toMatchObject({ param: 'deltas', index: 1, expected: [2, 2], got: [4, 1] });
  });

  it('a shape that does not match the data length', () => {
    const e = fails(() => mergeRegistry.merge('ties', base, [a, { data: new Float32Array(3), shape: [2, 2] }], [1, 1], {}));
    expect(e.code).toBe('WISE_SHAPE_MISMATCH');
    expect(e.details.param).toBe('deltas');
  });

  it('NaN (or ±Infinity) inside a delta is WISE_MERGE_NAN with its position', () => {
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      const e = fails(() => mergeRegistry.merge('task_arithmetic', base, [a, mat([0, 0, bad, 0], [2, 2])], [1, 1], {}));
      expect(e.code).toBe('WISE_MERGE_NAN');
      expect(e.details).toMatchObject({ param: 'deltas', index: 1, offset: 2 });
    }
  });

  it('an empty delta list', () => {
    expect(fails(() => mergeRegistry.merge('ties', base, [], [], {})).details.param).toBe('deltas');
  });

  it('a learned mask is refused by methods that do not support it', () => {
    const mask = { fill: (_s: number, _e: number, out: Float32Array) => out.fill(1) };
    const e = fails(() => mergeRegistry.merge('ties', base, [a, b], [1, 1], {}, { mask }));
    expect(e.code).toBe('WISE_MERGE_PARAM');
    expect(e.details.param).toBe('mask');
  });
});
