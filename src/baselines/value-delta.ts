/**
 * The value optimisation that ROME (compute_v) and MEMIT (compute_z) share: a vector δ ∈ R^d added
 * to the output of one layer's MLP at every row's lookup token (for MEMIT, the layer's output: the
 * residual stream after it, which the MLP output is added into), trained by Adam on
 *   NLL (teacher-forced target entries, `row_weights`)
 * + kl_factor · KL(p_δ ‖ p₀) at the KL row's lookup (torch's kl_div(init, current, log_target=True))
 * + v_weight_decay · ‖δ‖ / ‖t₀‖²
 * with early stop below `stopLoss`, no step on the last iteration, and δ projected into the ball
 * ‖δ‖ ≤ clamp_norm_factor · ‖t₀‖ after each step. t₀ is the MLP output (ROME) or the layer output
 * (MEMIT) at row 0's lookup before the edit.
 */
import { grad, ops, type Graph, type Value } from '../graph/index.js';
import type { TensorData } from '../graph/types.js';
import { tensorData } from '../graph/types.js';
import type { CausalLM } from '../model/causal-lm.js';
import { logSumExp } from '../model/logprobs.js';
import { buildTransformer } from '../model/transformer.js';
import { Adam, scalarOf } from './step.js';
import { addTo, norm, scaleTo } from './vec.js';

export interface DeltaOptions {
  /** Adam iterations (v_num_grad_steps); the last one only evaluates */
  steps: number;
  /** v_lr */
  lr: number;
  /** v_weight_decay, on ‖δ‖ / ‖t₀‖² */
  weightDecay: number;
  /** clamp_norm_factor: ‖δ‖ ≤ factor · ‖t₀‖ */
  clampNorm: number;
  /** kl_factor */
  klFactor: number;
  /** stop once the total loss is below this (5e-2) */
  stopLoss: number;
}

/** The rows of a value optimisation: E rows (Tb), Kb loss entries, each row's lookup, the KL entry. */
export interface DeltaRows {
  E: number;
  Tb: number;
  Kb: number;
  lookup: readonly number[];
  rows: readonly number[];
  targets: readonly number[];
  weights: readonly number[];
  klEntry: number;
}

/**
 * The gradient graph of a bucket (E rows, Tb, Kb): the layers from `layer`'s MLP upward with its
 * down projection fed as `weightName`, δ (`value_delta` (d)) added to the MLP output where
 * `value_sel` (E, Tb) is 1. Outputs `loss` (NLL), `kl` (× its weight in `kl_sel`), `total`,
 * `grad_delta`, `row_logits` (Kb, V) and `mlp_out` (E, Tb, d) before δ.
 */
export function deltaStepGraph(lm: CausalLM, layer: number, weightName: string, E: number, Tb: number, Kb: number, name: string): Graph {
  let delta: Value | undefined;
  const g = buildTransformer(lm.spec, lm.config, lm.ckpt.weights, {
    batch: E, seq: Tb, rowCount: Kb, fromLayer: layer, fromMlp: true, loss: 'rows', logits: 'none',
    inputWeights: new Set([weightName]), name: `${name}-step-${layer}-${E}x${Tb}k${Kb}`,
    hooks: {
      down: (ctx) => {
        const base = ctx.base(); // (E, Tb, d): the MLP's output
        if (ctx.layer !== layer) return base;
        const gg = base.graph;
        gg.output('mlp_out', base);
        delta = gg.input('value_delta', gg.floatType, [base.shape[2] as number]);
        const sel = ops.unsqueeze(gg.input('value_sel', gg.floatType, [E, Tb]), [2]); // (E, Tb, 1)
        return ops.add(base, ops.mul(sel, delta));
      },
    },
  });
  const V = lm.config.vocabSize;
  const logits = g.outputs.find((o) => o.name === 'row_logits')!.value; // (Kb, V)
  const lp = ops.logSoftmax(logits, -1);
  const lp0 = ops.unsqueeze(g.input('kl_logp0', g.floatType, [V]), [0]); // (1, V)
  const klSel = ops.unsqueeze(g.input('kl_sel', g.floatType, [Kb]), [1]); // (Kb, 1): kl_factor at the KL entry
  const kl = ops.reduceSum(ops.mul(klSel, ops.mul(ops.exp(lp), ops.sub(lp, lp0)))); // Σ p (log p − log p₀)
  const total = ops.add(g.outputs.find((o) => o.name === 'loss')!.value, kl);
  g.output('kl', kl);
  g.output('total', total);
  const [dd] = grad(g, total, [delta!]);
  g.output('grad_delta', dd!);
  return g;
}

/** The feeds of a deltaStepGraph that stay fixed over one optimisation (δ, kl_sel and kl_logp0 change). */
export function deltaFeeds(b: DeltaRows, lowerFeeds: Record<string, TensorData>, weightName: string, weight: TensorData): Record<string, TensorData> {
  const sel = new Float32Array(b.E * b.Tb);
  b.lookup.forEach((p, r) => (sel[r * b.Tb + p] = 1));
  return {
    ...lowerFeeds,
    rows: tensorData('int64', [b.Kb], b.rows),
    row_targets: tensorData('int64', [b.Kb], b.targets),
    row_weights: tensorData('float32', [b.Kb], b.weights),
    value_sel: tensorData('float32', [b.E, b.Tb], sel),
    [weightName]: weight,
  };
}

export interface DeltaResult {
  delta: Float32Array;
  /** t₀ (d) */
  t0: Float32Array;
  /** total loss at each iteration */
  losses: number[];
  steps: number;
}

/**
 * Trains δ on graph `g` with `fixed` feeds (deltaFeeds). `t0Of` is 'mlp' (t₀ = the MLP output at
 * row 0's lookup) or 'layer' (t₀ = the layer's output there: `hidden_in` + the MLP output).
 */
export async function optimizeDelta(lm: CausalLM, g: Graph, fixed: Record<string, TensorData>, b: DeltaRows, o: DeltaOptions, t0Of: 'mlp' | 'layer'): Promise<DeltaResult> {
  const d = lm.config.hiddenSize;
  const V = lm.config.vocabSize;
  const delta = new Float32Array(d);
  const klSel = new Float32Array(b.Kb);
  let logp0: Float32Array = new Float32Array(V);
  let t0 = new Float32Array(d);
  let t0norm = 0;
  const adam = new Adam(d, o.lr);
  const losses: number[] = [];
  let steps = 0;
  for (let it = 0; it < o.steps; it++) {
    const first = it === 0;
    const out = await lm.engine.run(g, { ...fixed, value_delta: tensorData('float32', [d], delta), kl_sel: tensorData('float32', [b.Kb], klSel), kl_logp0: tensorData('float32', [V], logp0) }, ['total', 'grad_delta', ...(first ? ['row_logits', 'mlp_out'] : [])]);
    if (first) {
      // δ = 0: the KL term and its gradient are exactly 0 whatever p₀ is fed, so p₀ comes from this run
      const row = (out.row_logits!.data as Float32Array).subarray(b.klEntry * V, (b.klEntry + 1) * V);
      const lse = logSumExp(row);
      logp0 = Float32Array.from(row, (x) => x - lse);
      const at = (b.lookup[0] as number) * d; // row 0
      t0 = Float32Array.from((out.mlp_out!.data as Float32Array).subarray(at, at + d));
      if (t0Of === 'layer') addTo(t0, (fixed.hidden_in!.data as Float32Array).subarray(at, at + d), 1);
      t0norm = norm(t0);
      klSel[b.klEntry] = o.klFactor;
    }
    const dn = norm(delta);
    const wd = t0norm > 0 ? (o.weightDecay * dn) / (t0norm * t0norm) : 0;
    const loss = scalarOf(out.total) + wd;
    losses.push(loss);
    if (loss < o.stopLoss || it === o.steps - 1) break;
    const gr = Float32Array.from(out.grad_delta!.data as Float32Array);
    if (dn > 0 && t0norm > 0) addTo(gr, delta, o.weightDecay / (dn * t0norm * t0norm)); // ∂(wd · ‖δ‖)/∂δ
    adam.step(delta, gr);
    steps++;
    const maxNorm = o.clampNorm * t0norm;
    const n = norm(delta);
    if (n > maxNorm && n > 0) scaleTo(delta, maxNorm / n);
  }
  return { delta, t0, losses, steps };
}
