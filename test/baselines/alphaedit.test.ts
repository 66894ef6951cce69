/**
 * AlphaEdit (src/baselines/alphaedit.ts) and its symmetric eigensolver (eigen.ts): the
 * decomposition against A v = λ v and orthonormality, the null space's choice by threshold, the
 * projected solve against EasyEdit's dense system (P (K Kᵀ + C_p) + l2 I) x = P k, and edits on the
 * bundled model: every update lies in the null space (W′ − W vanishes on the preserved keys'
 * principal directions), the edits land, earlier edits' keys are recorded, reset forgets them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CausalLM } from '../../src/model/causal-lm.js';
import { bundledModelDir } from '../../src/config/paths.js';
import { editWeightName } from '../../src/model/arch.js';
import { symmetricEigen } from '../../src/baselines/eigen.js';
import { AlphaEditMethod, nullSpace, nullSpaceSolve, recordKey } from '../../src/baselines/alphaedit.js';
import { createMethod } from '../../src/eval/methods/index.js';
import { bundledEdits, bundledTrainTexts, reliability as bundledReliability } from '../helpers/bundled-edits.js';
import type { WiseConfig } from '../../src/config/schema.js';
import { Rng } from '../../src/util/rng.js';

/** A random symmetric (n, n) matrix, row-major. */
function symmetric(n: number, rng: Rng): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  return a;
}

/** Q diag(λ) Qᵀ with Q a random orthonormal basis (Gram–Schmidt); returns the matrix and Q's columns. */
function withSpectrum(lambda: number[], rng: Rng): { c: Float64Array; q: Float64Array[] } {
  const n = lambda.length;
  const q: Float64Array[] = [];
  while (q.length < n) {
    const v = Float64Array.from({ length: n }, () => rng.normal());
    for (const u of q) {
      const d = u.reduce((s, x, i) => s + x * v[i]!, 0);
      for (let i = 0; i < n; i++) v[i]! -= d * u[i]!;
    }
    const nv = Math.hypot(...v);
    q.push(v.map((x) => x / nv));
  }
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) c[i * n + j] = q.reduce((s, u, k) => s + lambda[k]! * u[i]! * u[j]!, 0);
  return { c, q };
}

const matVec = (a: ArrayLike<number>, n: number, x: ArrayLike<number>): Float64Array => Float64Array.from({ length: n }, (_, i) => {
  let s = 0;
  for (let j = 0; j < n; j++) s += (a[i * n + j] as number) * (x[j] as number);
  return s;
});

describe('symmetric eigendecomposition', () => {
  it.each([1, 2, 7, 60])('n = %i: A v_j = λ_j v_j, V orthonormal, values ascending', (n) => {
    const a = symmetric(n, new Rng(n));
    const { values, vectors } = symmetricEigen(a, n);
    for (let j = 1; j < n; j++) expect(values[j]!).toBeGreaterThanOrEqual(values[j - 1]!);
    for (let j = 0; j < n; j++) {
      const v = Float64Array.from({ length: n }, (_, i) => vectors[i * n + j]!);
      const av = matVec(a, n, v);
      for (let i = 0; i < n; i++) expect(Math.abs(av[i]! - values[j]! * v[i]!)).toBeLessThan(1e-10);
      for (let k = 0; k < n; k++) {
        const d = v.reduce((s, x, i) => s + x * vectors[i * n + k]!, 0);
        expect(Math.abs(d - (j === k ? 1 : 0))).toBeLessThan(1e-10);
      }
    }
    // the trace is the eigenvalues' sum
    const trace = Array.from({ length: n }, (_, i) => a[i * n + i]!).reduce((s, x) => s + x, 0);
    expect(values.reduce((s, x) => s + x, 0)).toBeCloseTo(trace, 9);
  });

  it('finds a known spectrum, repeated eigenvalues included', () => {
    const lambda = [5, 1e-3, 2, 2, 0, 7e-3, 40];
    const { c } = withSpectrum(lambda, new Rng(3));
    const { values } = symmetricEigen(c, lambda.length);
    [...lambda].sort((x, y) => x - y).forEach((l, i) => expect(values[i]!).toBeCloseTo(l, 10));
  });
});

describe('AlphaEdit null space (pure)', () => {
  const lambda = [3, 1e-3, 0.5, 1e-2, 12, 4e-3, 0.03, 1.5];
  const n = lambda.length;
  const { c, q } = withSpectrum(lambda, new Rng(9));

  it('spans the eigenvectors whose eigenvalues are below the threshold', () => {
    const s = nullSpace(c, n, 2e-2);
    expect(s.r).toBe(3); // 1e-3, 4e-3, 1e-2 (0.03 is above)
    const P = (x: Float64Array): Float64Array => {
      const y = new Float64Array(n);
      for (let j = 0; j < s.r; j++) {
        const d = Array.from({ length: n }, (_, p) => s.u[p * s.r + j]! * x[p]!).reduce((a, b) => a + b, 0);
        for (let p = 0; p < n; p++) y[p]! += s.u[p * s.r + j]! * d;
      }
      return y;
    };
    lambda.forEach((l, k) => {
      const pq = P(q[k]!);
      const want = l < 2e-2 ? q[k]! : new Float64Array(n);
      for (let p = 0; p < n; p++) expect(pq[p]!).toBeCloseTo(want[p]!, 10);
    });
    expect(nullSpace(c, n, 0).r).toBe(0);
    expect(nullSpace(c, n, 100).r).toBe(n);
  });

  it("solves EasyEdit's (P (K Kᵀ + C_p) + l2 I) x = P k, with C_p the recorded keys", () => {
    const rng = new Rng(21);
    const s = nullSpace(c, n, 0.6); // r = 5
    expect(s.r).toBe(5);
    const key = (): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
    const earlier = [key(), key()];
    for (const k of earlier) recordKey(s, k);
    const keys = [key(), key(), key()];
    const l2 = 0.7;
    const xs = nullSpaceSolve(s, keys, l2);
    // dense P and A = K Kᵀ + C_p
    const Pm = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < s.r; k++) Pm[i * n + j]! += s.u[i * s.r + k]! * s.u[j * s.r + k]!;
    const A = new Float64Array(n * n);
    for (const k of [...earlier, ...keys]) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j]! += k[i]! * k[j]!;
    keys.forEach((k, j) => {
      const x = xs[j]!;
      const lhs = matVec(Pm, n, matVec(A, n, x)).map((v, i) => v + l2 * x[i]!);
      const rhs = matVec(Pm, n, k);
      for (let i = 0; i < n; i++) expect(lhs[i]!).toBeCloseTo(rhs[i]!, 4);
    });
    // an empty null space writes nothing
    expect(nullSpaceSolve(nullSpace(c, n, 0), keys, l2).every((x) => x.every((v) => v === 0))).toBe(true);
  });
});

describe('AlphaEdit on the bundled model', () => {
  let lm: CausalLM;
  let pool: string[];
  const recs = bundledEdits;
  const base = (layer: number): Float32Array => lm.ckpt.weights.get(editWeightName(lm.spec, layer))!.data;
  beforeAll(async () => {
    lm = await CausalLM.load(bundledModelDir());
    pool = bundledTrainTexts(300);
  });

  const reliability = (m: AlphaEditMethod, rs: ReturnType<typeof recs>): Promise<number> => bundledReliability(() => m.scorer(), rs);

  it('updates lie in the null space; sequential edits land; earlier keys are recorded and reset forgets them', async () => {
    const m = new AlphaEditMethod(lm, { layers: [0, 1] }, pool);
    expect(m.name).toBe('alphaedit');
    const dims = await m.nullSpaceDims();
    expect(dims[1]!).toBeGreaterThan(0);
    expect(dims[1]!).toBeLessThan(lm.config.intermediateSize);
    const rs = recs(5);
    const pre = await reliability(m, rs);
    for (const r of rs) await m.applyEdit(r as never);
    const post = await reliability(m, rs);
    expect(post).toBeGreaterThanOrEqual(0.6);
    expect(post).toBeGreaterThan(pre + 0.3);

    // (W′ − W) v = 0 for v orthogonal to the null space; ≠ 0 inside it (layer 1, (d, ff) or (ff, d) alike)
    const s = await m.nullSpaceOf(1);
    const ff = s.ff;
    const d = lm.config.hiddenSize;
    const w = m.weights.get(1)!;
    const b = base(1);
    const layout = lm.spec.layer.mlp.down.layout;
    const deltaTimes = (v: Float64Array): number => {
      let sq = 0;
      for (let o = 0; o < d; o++) {
        let t = 0;
        for (let p = 0; p < ff; p++) {
          const idx = layout === 'out_in' ? o * ff + p : p * d + o;
          t += (w[idx]! - b[idx]!) * v[p]!;
        }
        sq += t * t;
      }
      return Math.sqrt(sq);
    };
    const rng = new Rng(5);
    const v = Float64Array.from({ length: ff }, () => rng.normal());
    const inside = new Float64Array(ff);
    for (let j = 0; j < s.r; j++) {
      let dot = 0;
      for (let p = 0; p < ff; p++) dot += s.u[p * s.r + j]! * v[p]!;
      for (let p = 0; p < ff; p++) inside[p]! += s.u[p * s.r + j]! * dot;
    }
    const outside = v.map((x, p) => x - inside[p]!);
    const onInside = deltaTimes(inside);
    expect(onInside).toBeGreaterThan(0);
    expect(deltaTimes(outside)).toBeLessThan(1e-3 * onInside);

    expect(s.g.some((x) => x !== 0)).toBe(true); // C_p holds the five edits' keys
    await m.reset();
    expect(s.g.every((x) => x === 0)).toBe(true);
    expect(m.weights.get(1)).toEqual(base(1));
    expect(await reliability(m, rs)).toBe(pre);
  });

  it('refuses a non-positive l2; registered as alphaedit with its defaults', () => {
    expect(() => new AlphaEditMethod(lm, { layers: [0, 1], l2: 0 })).toThrow(/l2 0 must be > 0/);
    expect(() => new AlphaEditMethod(lm, { layers: [lm.config.numLayers - 1] })).toThrow(/ALPHAEDIT layers/);
    const ctx = { lm, config: { layer: 3 } as WiseConfig, pool, newStore: () => { throw new Error('unused'); } } as never;
    expect(createMethod('alphaedit', ctx).settings).toMatchObject({ method: 'alphaedit', layers: [0, 1], l2: 1, nullspaceThreshold: 2e-2, lr: 0.5 });
    expect(createMethod('alphaedit', { ...(ctx as object), alphaedit: { layers: [1], l2: 3 } } as never).settings).toMatchObject({ layers: [1], l2: 3 });
  });
});
