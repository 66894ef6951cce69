/**
 * Input checks shared by every method, run by the registry before a kernel sees the data,
 * so kernels can assume: k ≥ 1 deltas, all shaped like the base, all entries finite,
 * weights finite with one per delta (and ≥ 0 unless the method allows negatives).
 * Every error is a WiseError whose details name the parameter ({param: ...}).
 */
import type { z } from 'zod';
import { WiseError, check } from '../util/errors.js';
import type { Matrix } from './types.js';

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function shapeSize(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

export function checkMatrix(m: Matrix, param: string, index?: number): void {
  const at = index === undefined ? {} : { index };
  check(m !== null && typeof m === 'object' && m.data instanceof Float32Array, 'WISE_MERGE_PARAM', `${param} must hold a Float32Array`, { param, ...at });
  check(
    Array.isArray(m.shape) && m.shape.every((d) => Number.isInteger(d) && d >= 0) && shapeSize(m.shape) === m.data.length,
    'WISE_SHAPE_MISMATCH',
    `${param}: shape [${String(m.shape)}] does not match ${m.data.length} entries`,
    { param, ...at, shape: m.shape, length: m.data.length },
  );
}

export function checkDeltas(base: Matrix, deltas: readonly Matrix[]): void {
  checkMatrix(base, 'base');
  check(Array.isArray(deltas) && deltas.length > 0, 'WISE_MERGE_PARAM', 'deltas must be a non-empty array', { param: 'deltas' });
  deltas.forEach((d, index) => {
    checkMatrix(d, 'deltas', index);
    check(sameShape(d.shape, base.shape), 'WISE_SHAPE_MISMATCH', `deltas[${index}] has shape [${String(d.shape)}], base has [${String(base.shape)}]`, {
      param: 'deltas',
      index,
      expected: [...base.shape],
      got: [...d.shape],
    });
  });
}

/** One streaming pass per delta: `v − v` is NaN exactly for NaN and ±Infinity. */
export function checkFinite(deltas: readonly Matrix[]): void {
  for (let index = 0; index < deltas.length; index++) {
    const a = (deltas[index] as Matrix).data;
    for (let i = 0; i < a.length; i++) {
      const v = a[i] as number;
      if (v - v !== 0) {
        throw new WiseError('WISE_MERGE_NAN', `deltas[${index}][${i}] is ${v}`, { param: 'deltas', index, offset: i, value: String(v) });
      }
    }
  }
}

export function checkWeights(weights: readonly number[], k: number, allowNegative: boolean): void {
  check(Array.isArray(weights) && weights.length === k, 'WISE_MERGE_PARAM', `weights must have one entry per delta (${k})`, {
    param: 'weights',
    expected: k,
    got: Array.isArray(weights) ? weights.length : typeof weights,
  });
  weights.forEach((w, index) => {
    check(typeof w === 'number' && Number.isFinite(w), 'WISE_MERGE_PARAM', `weights[${index}] must be a finite number`, { param: 'weights', index, value: w });
    check(allowNegative || w >= 0, 'WISE_MERGE_PARAM', `weights[${index}] = ${w}: negative weights are not allowed by this method`, {
      param: 'weights',
      index,
      value: w,
    });
  });
}

/** Parses method params with a zod strict schema; the first issue becomes a WiseError naming the key. */
export function parseParams<P>(method: string, schema: z.ZodType<P>, raw: unknown): P {
  const r = schema.safeParse(raw === undefined ? {} : raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  let param = 'params';
  if (issue !== undefined) {
    if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) param = issue.keys.join(',');
    else if (issue.path.length > 0) param = issue.path.map(String).join('.');
  }
  const message = issue?.code === 'unrecognized_keys' ? `unknown parameter "${param}"` : (issue?.message ?? 'invalid parameters');
  throw new WiseError('WISE_MERGE_PARAM', `${method}: ${param}: ${message}`, { param, method, issues: r.error.issues });
}
