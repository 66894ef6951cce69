/**
 * Keeping edits off the directions every prompt shares (wise.project_rank; our addition, in
 * the spirit of AlphaEdit's null-space projection; WISE and EasyEdit have no such step).
 *
 * The down projection's input A(x) at the edited layer has a large component common to all
 * text. A side-memory delta Δ that responds to it fires on every prompt, which breaks both
 * routing (the activation score ‖A Δᵀ‖ runs high everywhere) and locality. We take the top-r
 * eigenvectors U (r, ff) of the uncentred second moment Σ_t a_t a_tᵀ of the activations of
 * generic text (the irrelevant-sample pool) and project every gradient step off them:
 * G ← G − (G Uᵀ) U on the ff axis (inside the step graph, memory/step-graph.ts), so Δ stays
 * (nearly) blind to the shared subspace.
 * Pure math: float64 accumulation, deterministic start vectors, no randomness.
 */

/** Adds Σ_t a_t a_tᵀ of `acts` (T, n) into the symmetric `C` (n, n), upper triangle only. */
export function accumulateMoment(C: Float64Array, acts: Float32Array, n: number): void {
  const T = acts.length / n;
  for (let t = 0; t < T; t++) {
    const o = t * n;
    for (let i = 0; i < n; i++) {
      const vi = acts[o + i] as number;
      if (vi === 0) continue;
      const row = i * n;
      for (let j = i; j < n; j++) C[row + j] = (C[row + j] as number) + vi * (acts[o + j] as number);
    }
  }
}

/**
 * The top-r eigenvectors (r, n), row-major float32, of the symmetric matrix whose upper
 * triangle is in `C`, by subspace iteration with Gram–Schmidt (`iters` rounds).
 */
export function topEigenvectors(C: Float64Array, n: number, r: number, iters = 30): Float32Array {
  const full = (i: number, j: number): number => (i <= j ? C[i * n + j] : C[j * n + i]) as number;
  let Q = Array.from({ length: r }, (_, k) => Float64Array.from({ length: n }, (_, i) => Math.sin(1 + i * (k + 1) * 0.37) + (i === k ? 1 : 0)));
  const orth = (): void => {
    for (let k = 0; k < r; k++) {
      const q = Q[k]!;
      for (let j = 0; j < k; j++) {
        const p = Q[j]!;
        let d = 0;
        for (let i = 0; i < n; i++) d += (q[i] as number) * (p[i] as number);
        for (let i = 0; i < n; i++) q[i] = (q[i] as number) - d * (p[i] as number);
      }
      let s = 0;
      for (let i = 0; i < n; i++) s += (q[i] as number) ** 2;
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let i = 0; i < n; i++) q[i] = (q[i] as number) * inv;
    }
  };
  orth();
  const M = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[i * n + j] = full(i, j);
  for (let it = 0; it < iters; it++) {
    Q = Q.map((q) => {
      const o = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        const row = i * n;
        for (let j = 0; j < n; j++) s += (M[row + j] as number) * (q[j] as number);
        o[i] = s;
      }
      return o;
    });
    orth();
  }
  const U = new Float32Array(r * n);
  Q.forEach((q, k) => U.set(q, k * n));
  return U;
}
