/** Test helpers for src/merge: matrices, seeded random deltas, and a sort-based reference TIES. */
import { Rng } from '../../src/util/rng.js';
import type { Matrix } from '../../src/merge/index.js';

export function mat(values: number[], shape: number[] = [values.length]): Matrix {
  return { data: Float32Array.from(values), shape };
}

export function zeros(shape: number[]): Matrix {
  return { data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape };
}

/** Random normal delta; with `levels`, values are quantized to few magnitudes so ties abound. */
export function randomDelta(rng: Rng, shape: number[], levels = 0): Matrix {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = rng.normal();
    if (levels > 0) v = (Math.sign(v) || 1) * (1 + Math.floor(Math.abs(v) * levels)) / levels;
    data[i] = v;
  }
  return { data, shape };
}

/** Indices of the exact top-k |x| by a full sort on (|x| desc, index asc): the reference tie rule. */
export function topKIndices(x: Float32Array, k: number): Set<number> {
  const idx = Array.from(x.keys());
  idx.sort((a, b) => Math.abs(x[b] as number) - Math.abs(x[a] as number) || a - b);
  return new Set(idx.slice(0, k));
}

/** Naive WISE/mergekit TIES: exact top-k trim, elect sign(Σ w·Δ̂) with 0 → +, disjoint weighted mean, ×λ. */
export function referenceTies(deltas: Matrix[], weights: number[], density: number, lambda = 1): Float32Array {
  const n = (deltas[0] as Matrix).data.length;
  const kept = deltas.map((d) => topKIndices(d.data, Math.floor(density * n)));
  const out = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    const t = deltas.map((d, i) => (kept[i]?.has(p) ? (weights[i] as number) * (d.data[p] as number) : 0));
    const sum = t.reduce((a, b) => a + b, 0);
    const plus = sum >= 0;
    let num = 0;
    let den = 0;
    t.forEach((x, i) => {
      if (x !== 0 && (plus ? x > 0 : x < 0)) {
        num += x;
        den += weights[i] as number;
      }
    });
    out[p] = (lambda * num) / (den === 0 ? 1 : den);
  }
  return out;
}

export function bytesEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

export const f32 = Math.fround;
