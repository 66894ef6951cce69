/**
 * Shared machinery of the baselines' gradient steps (the same recipe as WISE's
 * src/memory/step-graph.ts, composed from src/model's builder rather than copied):
 *
 *   1. one training row, right-padded to a bucketed length Tb (a power of two ≥ 16, so a few
 *      static gradient graphs serve every edit), with Kb bucketed target positions;
 *   2. the frozen layers below the edited layer's MLP run ONCE per edit (`lowerPass`, the same
 *      cached `lower-<layer>` graph the WISE side memory uses), giving the residual stream entering
 *      that MLP (`hidden_in` of the step graph) and A(x), the down projection's input (GRACE's key);
 *   3. per optimizer step, a static graph from that MLP upward (buildTransformer with fromLayer +
 *      fromMlp, loss 'rows' = Σ_k w_k · −log p(target_k | position_k)) plus its backward pass.
 *
 * Also: a plain Adam (torch.optim.Adam, weight decay 0), since baselines may not import src/train.
 */
import type { Graph } from '../graph/index.js';
import type { TensorData } from '../graph/types.js';
import { tensorData } from '../graph/types.js';
import type { CausalLM } from '../model/causal-lm.js';
import { transformerFeeds } from '../model/feeds.js';
import { WiseError } from '../util/errors.js';

export const nextPow2 = (n: number, min = 1): number => {
  let p = min;
  while (p < n) p *= 2;
  return p;
};

/** One training row for a step graph: ids right-padded to Tb, Kb (bucketed) scored positions. */
export interface RowBatch {
  /** token count of the row before padding */
  len: number;
  Tb: number;
  Kb: number;
  /** (1, Tb) ids, right-padded */
  ids: number[];
  /** (1, Tb) 1 = token */
  mask: number[];
  /** (Kb,) positions whose logits are scored (padding entries: 0 with weight 0) */
  rows: number[];
  /** (Kb,) the token scored at each position */
  targets: number[];
  /** (Kb,) 1/K for real entries (so the loss is the mean NLL), 0 for padding */
  weights: number[];
}

/**
 * @param ids the row's tokens
 * @param positions positions t whose logits predict `targets[k]` (t < ids.length)
 */
export function rowBatch(ids: readonly number[], positions: readonly number[], targets: readonly number[], pad: number, maxLen: number): RowBatch {
  if (positions.length !== targets.length || positions.length === 0) {
    throw new WiseError('WISE_INTERNAL', `rowBatch: ${positions.length} positions for ${targets.length} targets`, {});
  }
  if (ids.length > maxLen) throw new WiseError('WISE_CONTEXT_LENGTH', `edit row of ${ids.length} tokens exceeds the model context of ${maxLen}`, { field: 'prompt', tokens: ids.length, context: maxLen });
  for (const p of positions) if (!(p >= 0 && p < ids.length)) throw new WiseError('WISE_INTERNAL', `rowBatch: position ${p} outside the row of ${ids.length}`, {});
  const Tb = Math.min(nextPow2(ids.length, 16), Math.max(maxLen, 16));
  const K = positions.length;
  const Kb = nextPow2(K, 8);
  const padded = new Array<number>(Tb).fill(pad);
  const mask = new Array<number>(Tb).fill(0);
  ids.forEach((id, t) => ((padded[t] = id), (mask[t] = 1)));
  const rows = new Array<number>(Kb).fill(0);
  const tg = new Array<number>(Kb).fill(0);
  const w = new Array<number>(Kb).fill(0);
  for (let k = 0; k < K; k++) (rows[k] = positions[k] as number), (tg[k] = targets[k] as number), (w[k] = 1 / K);
  return { len: ids.length, Tb, Kb, ids: padded, mask, rows, targets: tg, weights: w };
}

export interface LowerOut {
  /** feeds of the step graph shared by every step of the edit: hidden_in, attn_mask, rope tables */
  feeds: Record<string, TensorData>;
  /** A(x) at the edited layer, (B, Tb, ff) row-major */
  downInput: Float32Array;
  ff: number;
}

/** Runs the frozen layers below the edited MLP once for `b` (the WISE side memory's `lower-<layer>` graph). */
export function lowerPass(lm: CausalLM, layer: number, b: RowBatch): Promise<LowerOut> {
  return lowerPassRows(lm, layer, b.ids, b.mask, 1, b.Tb);
}

/** lowerPass over B right-padded rows: ids and mask (B, Tb) row-major. */
export async function lowerPassRows(lm: CausalLM, layer: number, ids: readonly number[], mask: readonly number[], B: number, Tb: number): Promise<LowerOut> {
  const g = lm.graph(`lower-${layer}`, { batch: 'B', seq: 'T', toLayer: layer + 1, exposeLayer: layer, logits: 'none', name: 'lower' });
  const { out, stepFeeds } = await prefixPass(lm, g, ids, mask, B, Tb, {}, ['resid_mid', 'mlp_down_input']);
  const a = out.mlp_down_input!;
  return { feeds: { ...stepFeeds, hidden_in: out.resid_mid! }, downInput: a.data as Float32Array, ff: a.dims[2] as number };
}

/**
 * Runs `g`, the model's layers from the embeddings up (dynamic B, T; `extra` feeds such as edited
 * weights), on right-padded rows; returns the fetched outputs and the feeds a step graph starting
 * above the embeddings needs for the same rows (mask, RoPE tables; no position ids).
 */
export async function prefixPass(lm: CausalLM, g: Graph, ids: readonly number[], mask: readonly number[], B: number, Tb: number, extra: Record<string, TensorData>, fetch: string[]): Promise<{ out: Record<string, TensorData>; stepFeeds: Record<string, TensorData> }> {
  const out = await lm.engine.run(g, { ...transformerFeeds(lm.spec, lm.config, ids, mask, B, Tb), ...extra }, fetch);
  const stepFeeds = transformerFeeds(lm.spec, lm.config, [], mask, B, Tb);
  delete stepFeeds.position_ids; // the step graph starts above the embeddings
  return { out, stepFeeds };
}

/** The loss-row feeds of a step graph built with loss 'rows' and rowCount Kb. */
export function rowFeeds(b: RowBatch): Record<string, TensorData> {
  return {
    rows: tensorData('int64', [b.Kb], b.rows),
    row_targets: tensorData('int64', [b.Kb], b.targets),
    row_weights: tensorData('float32', [b.Kb], b.weights),
  };
}

/** torch.optim.Adam (betas 0.9/0.999, eps 1e-8, no weight decay) over one flat parameter. */
export class Adam {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t = 0;
  constructor(
    size: number,
    readonly lr: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /** p ← p − lr · m̂ / (√v̂ + eps), in place. */
  step(p: Float32Array, g: ArrayLike<number>): void {
    this.t++;
    const { beta1: b1, beta2: b2, eps, lr } = this;
    const bc1 = 1 - Math.pow(b1, this.t);
    const bc2 = 1 - Math.pow(b2, this.t);
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] as number;
      const mi = b1 * (this.m[i] as number) + (1 - b1) * gi;
      const vi = b2 * (this.v[i] as number) + (1 - b2) * gi * gi;
      this.m[i] = mi;
      this.v[i] = vi;
      p[i] = (p[i] as number) - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
    }
  }
}

/** The scalar `loss` output of an engine result. */
export const scalarOf = (t: TensorData | undefined): number => (t!.data as Float32Array)[0] as number;
