/**
 * Finite-difference harness for gradient tests: builds a case in float64, appends
 * loss = sum(out * R) (R fixed random) and its gradients, then compares each sampled entry
 * of every wrt input with a central difference of the loss.
 */
import { Graph, grad, ops, type Value } from '../../src/graph/index.js';
import { Engine, f64, type Tensor } from '../../src/engine/index.js';
import { Rng } from '../../src/util/rng.js';

export interface Built {
  out: Value;
  /** Float64 graph inputs to differentiate (perturbed through feeds). */
  wrt: Value[];
  feeds: Record<string, Tensor>;
}
export interface GradCase {
  name: string;
  build(g: Graph, r: Rng): Built;
  /** Step and tolerances (defaults 1e-5, rel 1e-6, abs 1e-8). */
  eps?: number;
  rtol?: number;
  atol?: number;
}
export interface CaseResult {
  worstRel: number;
  checked: number;
  graph: Graph;
}

export function randn(r: Rng, dims: number[], scale = 1): Tensor<'float64'> {
  const n = dims.reduce((a, b) => a * b, 1);
  return f64(Array.from({ length: n }, () => r.normal() * scale), dims);
}
/** Random values with |v| in [0.3, 1.3] (away from kinks and poles). */
export function awayFromZero(r: Rng, dims: number[]): Tensor<'float64'> {
  const n = dims.reduce((a, b) => a * b, 1);
  return f64(Array.from({ length: n }, () => (r.next() < 0.5 ? -1 : 1) * (0.3 + r.next())), dims);
}
export function positive(r: Rng, dims: number[]): Tensor<'float64'> {
  const n = dims.reduce((a, b) => a * b, 1);
  return f64(Array.from({ length: n }, () => 0.5 + r.next() * 1.5), dims);
}
/** Declares a float64 input named `name` with random data; returns it and records the feed. */
export function inp(g: Graph, feeds: Record<string, Tensor>, name: string, t: Tensor<'float64'>): Value {
  feeds[name] = t;
  return g.input(name, 'float64', t.dims);
}

const MAX_ENTRIES = 40;

export async function checkCase(c: GradCase, engine: Engine): Promise<CaseResult> {
  const g = new Graph({ floatType: 'float64', name: c.name });
  const r = new Rng(`fd:${c.name}`);
  const { out, wrt, feeds } = c.build(g, r);
  const shape = out.shape as number[];
  const proj = g.constant(randn(r, shape));
  const loss = g.output('loss', ops.reduceSum(ops.mul(out, proj)));
  const grads = grad(g, loss, wrt);
  grads.forEach((d, i) => g.output(`grad_${i}`, d));
  const base = await engine.run(g, feeds);
  const [eps, rtol, atol] = [c.eps ?? 1e-5, c.rtol ?? 1e-6, c.atol ?? 1e-8];
  let worstRel = 0;
  let checked = 0;
  for (const [i, w] of wrt.entries()) {
    const t0 = feeds[w.name] as Tensor<'float64'>;
    const analytic = base[`grad_${i}`]!.data as Float64Array;
    const n = t0.data.length;
    const idx = n <= MAX_ENTRIES ? [...Array(n).keys()] : Array.from({ length: MAX_ENTRIES }, () => r.int(n));
    for (const k of idx) {
      const at = async (delta: number): Promise<number> => {
        const d = Float64Array.from(t0.data);
        d[k] = d[k]! + delta;
        const res = await engine.run(g, { ...feeds, [w.name]: f64(d, [...t0.dims]) }, ['loss']);
        return res['loss']!.data[0] as number;
      };
      const numeric = ((await at(eps)) - (await at(-eps))) / (2 * eps);
      const a = analytic[k]!;
      const err = Math.abs(a - numeric);
      const scale = Math.max(Math.abs(a), Math.abs(numeric));
      if (err > rtol * scale + atol) {
        throw new Error(`${c.name}: d loss/d ${w.name}[${k}] analytic ${a} vs numeric ${numeric} (err ${err.toExponential(2)})`);
      }
      if (scale > 1e-6) worstRel = Math.max(worstRel, err / scale);
      checked++;
    }
  }
  return { worstRel, checked, graph: g };
}
