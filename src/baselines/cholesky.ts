/**
 * Dense symmetric positive-definite solves for ROME's second-moment adjustment (u = C⁻¹ k):
 * a Cholesky factor C = L Lᵀ in float64, then forward and back substitution. Pure math; C is
 * (n, n) row-major, n the MLP width (688 on the bundled model, 3072 on GPT-2 small: about n³/6
 * multiply-adds once per model, n² per solve).
 */
import { WiseError } from '../util/errors.js';

/** The lower factor L (n, n) of C = L Lᵀ; throws when C is not positive definite. */
export function choleskyFactor(c: ArrayLike<number>, n: number): Float64Array {
  if (c.length !== n * n) throw new WiseError('WISE_INTERNAL', `cholesky: ${c.length} entries for a ${n}×${n} matrix`, {});
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = c[j * n + j] as number;
    for (let k = 0; k < j; k++) s -= (l[j * n + k] as number) ** 2;
    if (!(s > 0)) throw new WiseError('WISE_INTERNAL', `cholesky: the matrix is not positive definite (pivot ${j} is ${s})`, { pivot: j });
    const d = Math.sqrt(s);
    l[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = c[i * n + j] as number;
      for (let k = 0; k < j; k++) t -= (l[i * n + k] as number) * (l[j * n + k] as number);
      l[i * n + j] = t / d;
    }
  }
  return l;
}

/** x with L Lᵀ x = b. */
export function choleskySolve(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[i * n + k] as number) * (y[k] as number);
    y[i] = s / (l[i * n + i] as number);
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i] as number;
    for (let k = i + 1; k < n; k++) s -= (l[k * n + i] as number) * (x[k] as number);
    x[i] = s / (l[i * n + i] as number);
  }
  return x;
}
