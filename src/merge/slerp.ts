/**
 * SLERP (Shoemake 1985; mergekit merge_methods/slerp.py) as a registry method over (base, [Δ]): exactly one delta,
 * W1 = W0 + Δ, and the merged delta is slerp(t, W0, W1) − W0, where W0 and W1 are taken as flat vectors:
 *
 *   cos θ = ⟨W0/‖W0‖, W1/‖W1‖⟩ (a vector of norm ≤ 1e-8 is not normalized, as mergekit's eps)
 *   |cos θ| > 0.9995 (mergekit's DOT_THRESHOLD): the linear (1 − t) W0 + t W1
 *   else sin((1 − t)θ)/sin θ · W0 + sin(tθ)/sin θ · W1
 *
 * t = 0 gives the base, t = 1 the other model. The delta's weight is not used (mergekit's slerp takes none).
 * Float64 sums and factors; the result rounded to Float32 once.
 */
import { z } from 'zod';
import { WiseError } from '../util/errors.js';
import { defineMethod } from './registry.js';

const DOT_THRESHOLD = 0.9995;
const EPS = 1e-8;

/** The two interpolation factors (s0 on W0, s1 on W1) for flat vectors w0 and w1 = w0 + delta. */
export function slerpFactors(t: number, w0: Float32Array, delta: Float32Array): [number, number] {
  let n0 = 0;
  let n1 = 0;
  let dot = 0;
  for (let i = 0; i < w0.length; i++) {
    const a = w0[i]!;
    const b = a + delta[i]!;
    n0 += a * a;
    n1 += b * b;
    dot += a * b;
  }
  const [r0, r1] = [Math.sqrt(n0), Math.sqrt(n1)];
  const cos = dot / ((r0 > EPS ? r0 : 1) * (r1 > EPS ? r1 : 1));
  if (Math.abs(cos) > DOT_THRESHOLD) return [1 - t, t];
  const theta = Math.acos(cos);
  const s = Math.sin(theta);
  return [Math.sin(theta - theta * t) / s, Math.sin(theta * t) / s];
}

export const slerp = defineMethod({
  name: 'slerp',
  description: 'spherical interpolation at t between the base and the one other model (flat vectors; linear when nearly parallel); mergekit slerp',
  schema: z.strictObject({ t: z.number().gte(0).lte(1) }),
  orderInvariant: false, // one delta: there is no order
  allowsNegativeWeights: () => true,
  merge(base, deltas, _weights, p) {
    if (deltas.length !== 1) throw new WiseError('WISE_MERGE_PARAM', `slerp: takes exactly one delta (the other model), got ${deltas.length}`, { param: 'deltas', method: 'slerp' });
    const [w0, d] = [base.data, deltas[0]!.data];
    const [s0, s1] = slerpFactors(p.t, w0, d);
    // W = s0 W0 + s1 (W0 + Δ); the merged delta is W − W0
    return Float32Array.from(w0, (x, i) => s0 * x + s1 * (x + d[i]!) - x);
  },
});
