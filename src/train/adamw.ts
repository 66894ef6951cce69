/**
 * AdamW over named Float32Array parameters, in plain JS loops (the prototype measured an
 * ONNX AdamW graph at 88 ms vs 35–58 ms in JS for 4.2M params: elementwise ops are
 * memory-bound, so the optimizer stays out of ORT). Decoupled weight decay as in
 * Loshchilov & Hutter / torch.optim.AdamW: p ← p − lr·(m̂/(√v̂+eps) + wd·p).
 */

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Parameters matching this predicate get no weight decay (norm gains, biases). */
  noDecay?: (name: string) => boolean;
}

export const ADAMW_DEFAULTS: AdamWOptions = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

export interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export function initAdamW(params: Map<string, Float32Array>): AdamWState {
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const [k, p] of params) {
    m.set(k, new Float32Array(p.length));
    v.set(k, new Float32Array(p.length));
  }
  return { step: 0, m, v };
}

/** One AdamW step in place. `grads` must hold a gradient for every parameter. */
export function adamwStep(
  params: Map<string, Float32Array>,
  grads: Map<string, Float32Array>,
  state: AdamWState,
  lr: number,
  opts: AdamWOptions = ADAMW_DEFAULTS,
): void {
  state.step += 1;
  const { beta1, beta2, eps } = opts;
  const bc1 = 1 - Math.pow(beta1, state.step);
  const bc2 = 1 - Math.pow(beta2, state.step);
  for (const [name, p] of params) {
    const g = grads.get(name);
    if (!g) throw new Error(`adamwStep: no gradient for ${name}`);
    const m = state.m.get(name) as Float32Array;
    const v = state.v.get(name) as Float32Array;
    const wd = opts.noDecay?.(name) ? 0 : opts.weightDecay;
    const decay = 1 - lr * wd;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] as number;
      const mi = beta1 * (m[i] as number) + (1 - beta1) * gi;
      const vi = beta2 * (v[i] as number) + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = (p[i] as number) * decay - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
    }
  }
}
