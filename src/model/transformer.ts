/**
 * buildTransformer(spec, cfg, weights, opts) → Graph: one decoder-only transformer builder for
 * every family, driven by ArchSpec data (norm kind, positions, MLP kind, attention layout,
 * weight names); no branching on a model's name.
 *
 * Graph inputs (B batch, T new tokens, P cached tokens, D head dim, d hidden, V vocab):
 *   input_ids     (B, T) int64              when fromLayer = 0 and not fromMlp
 *   hidden_in     (B, T, d)                 otherwise: the residual stream entering that layer (its MLP with fromMlp)
 *   attn_mask     (B, 1, T, P+T) bool       causal AND key padding (graph/rope.ts attentionMaskData)
 *   position_ids  (B, T) int64              learned positions (gpt2)
 *   rope_cos/sin  (B, T, D)                 RoPE tables (graph/rope.ts ropeTables)
 *   past_key_i / past_value_i (B, Hkv, P, D) with `cache`
 *   rows (K,) int64, row_targets (K,) int64, row_weights (K,)  with loss 'rows'
 *   labels (B, T) int64 (-100 = ignored)                         with loss 'labels'
 * Outputs: logits (B, T, V) | logits_last (B, V) | row_logits (K, V); loss; hidden_i;
 *   mlp_down_input (B, T, ff) at `exposeLayer`; resid_in (B, T, d) entering `exposeLayer`;
 *   present_key_i / present_value_i (B, Hkv, P+T, D).
 *
 * `hooks.down(layer, a, w)` replaces an MLP down projection: it receives the activation A(x)
 * (B, T, ff) and the default output builder, which is how WISE routing and the side-memory
 * weight enter the graph without this file knowing about them.
 */
import { Graph, nn, ops, type Value } from '../graph/index.js';
import type { Dim, FloatType } from '../graph/types.js';
import { WiseError } from '../util/errors.js';
import { hasBias, layerName, type ArchSpec, type LinearSpec, type NormSpec } from './arch.js';
import type { ModelConfig } from './config.js';
import type { Weight } from './weights.js';

export interface DownHookCtx {
  layer: number;
  /** A(x), the input of the down projection (B, T, ff) */
  a: Value;
  /** builds the frozen down projection's output (B, T, d) */
  base: () => Value;
  /** the stored down weight and its layout */
  weight: Value;
  spec: LinearSpec;
}

export interface TransformerOptions {
  batch: Dim;
  seq: Dim;
  floatType?: FloatType;
  /** weights fed as graph inputs (name → true); 'all' for training from scratch */
  inputWeights?: 'all' | ReadonlySet<string>;
  /** start at this layer (input hidden_in); layers below are not in the graph */
  fromLayer?: number;
  /** with fromLayer: hidden_in is the residual after that layer's attention (its MLP input stream) */
  fromMlp?: boolean;
  /** stop after this many layers (exclusive end); default all, then final norm + head */
  toLayer?: number;
  /** KV cache inputs/outputs with symbolic past length 'P' */
  cache?: boolean;
  logits?: 'all' | 'last' | 'none';
  loss?: 'labels' | 'rows' | 'none';
  /** number K of target rows for loss 'rows' (static in gradient graphs); default symbolic 'K' */
  rowCount?: Dim;
  /** output hidden_0..hidden_n as transformers' output_hidden_states */
  hiddenStates?: boolean;
  /** output only the last of them, hidden_n (B, T, d), after the final norm (embeddings) */
  finalHidden?: boolean;
  /** layer whose down-projection input (and incoming residual) are exposed */
  exposeLayer?: number;
  hooks?: { down?: (ctx: DownHookCtx) => Value };
  name?: string;
}

export function buildTransformer(spec: ArchSpec, cfg: ModelConfig, weights: ReadonlyMap<string, Weight>, o: TransformerOptions): Graph {
  const g = new Graph({ floatType: o.floatType ?? 'float32', name: o.name ?? `${spec.name}-forward` });
  const cache = new Map<string, Value>();
  const W = (name: string): Value => {
    let v = cache.get(name);
    if (v) return v;
    const w = weights.get(name);
    if (!w) throw new WiseError('WISE_MISSING_WEIGHT', `weight ${name} is missing`, { tensor: name });
    const asInput = o.inputWeights === 'all' || (o.inputWeights?.has(name) ?? false);
    v = g.param(name, w.data, w.shape, { asInput });
    cache.set(name, v);
    return v;
  };
  const lin = (x: Value, l: LinearSpec, i: number): Value =>
    nn.linear(x, W(layerName(l.weight, i)), hasBias(l.biasRule, cfg) ? W(layerName(l.bias, i)) : undefined, l.layout);
  const norm = (x: Value, n: NormSpec, i: number): Value =>
    spec.norm === 'rmsnorm'
      ? nn.rmsNorm(x, W(layerName(n.weight, i)), cfg.normEps)
      : nn.layerNorm(x, W(layerName(n.weight, i)), n.bias ? W(layerName(n.bias, i)) : undefined, cfg.normEps);
  const act = (x: Value): Value => (cfg.activation === 'silu' ? nn.silu(x) : cfg.activation === 'gelu_new' ? nn.geluTanh(x) : unsupportedAct(cfg));

  const { batch: B, seq: T } = o;
  const D = cfg.headDim;
  const from = o.fromLayer ?? 0;
  const embeds = from === 0 && !o.fromMlp; // the graph starts at the token ids (else at hidden_in)
  const to = o.toLayer ?? cfg.numLayers;
  const past: Dim = 'P';
  const keyLen: Dim = o.cache ? 'P+T' : T;
  const mask = g.input('attn_mask', 'bool', [B, 1, T, keyLen]);

  // Positions: learned table (gpt2) or RoPE tables fed from the host.
  let cos: Value | undefined, sin: Value | undefined, posIds: Value | undefined;
  if (spec.position === 'rope') {
    cos = g.input('rope_cos', g.floatType, [B, T, D]);
    sin = g.input('rope_sin', g.floatType, [B, T, D]);
  } else if (embeds) {
    posIds = g.input('position_ids', 'int64', [B, T]);
  }

  let h: Value; // (B, T, d) residual stream
  if (embeds) {
    const ids = g.input('input_ids', 'int64', [B, T]);
    h = ops.gather(W(spec.embed.tokens), ids, 0);
    if (posIds && spec.embed.positions) h = ops.add(h, ops.gather(W(spec.embed.positions), posIds, 0));
  } else {
    h = g.input('hidden_in', g.floatType, [B, T, cfg.hiddenSize]);
  }
  if (o.hiddenStates && embeds) g.output('hidden_0', h);

  for (let i = from; i < to; i++) {
    if (o.exposeLayer === i) g.output('resid_in', h);
    if (!(o.fromMlp && i === from)) h = attentionBlock(i, h);
    if (o.exposeLayer === i) g.output('resid_mid', h);
    // --- MLP ---
    const y = norm(h, spec.layer.mlpNorm, i);
    const mlp = spec.layer.mlp;
    const a = mlp.gate ? ops.mul(act(lin(y, mlp.gate, i)), lin(y, mlp.up, i)) : act(lin(y, mlp.up, i)); // (B, T, ff)
    if (o.exposeLayer === i) g.output('mlp_down_input', a);
    const base = (): Value => lin(a, mlp.down, i);
    const hook = o.hooks?.down;
    const out = hook ? hook({ layer: i, a, base, weight: W(layerName(mlp.down.weight, i)), spec: mlp.down }) : base();
    h = ops.add(h, out);
    if (o.hiddenStates && i < cfg.numLayers - 1) g.output(`hidden_${i + 1}`, h);
  }
  if (to < cfg.numLayers) {
    g.output('hidden_out', h);
    return g;
  }
  return head(h);

  function attentionBlock(i: number, h: Value): Value {
    const x = norm(h, spec.layer.attnNorm, i);
    const att = spec.layer.attention;
    let q: Value, k: Value, v: Value;
    if (att.kind === 'fused') {
      const qkv = lin(x, att.qkv, i); // (B, T, (H + 2 Hkv) D)
      const qd = cfg.numHeads * D, kd = cfg.numKvHeads * D;
      q = ops.slice(qkv, [0], [qd], [2]);
      k = ops.slice(qkv, [qd], [qd + kd], [2]);
      v = ops.slice(qkv, [qd + kd], [qd + 2 * kd], [2]);
    } else {
      q = lin(x, att.q, i);
      k = lin(x, att.k, i);
      v = lin(x, att.v, i);
    }
    let qh = nn.splitHeads(q, cfg.numHeads); // (B, H, T, D)
    let kh = nn.splitHeads(k, cfg.numKvHeads); // (B, Hkv, T, D)
    const vh0 = nn.splitHeads(v, cfg.numKvHeads);
    if (cos && sin) {
      qh = nn.rope(qh, cos, sin);
      kh = nn.rope(kh, cos, sin);
    }
    let vh = vh0;
    if (o.cache) {
      const pk = g.input(`past_key_${i}`, g.floatType, [B, cfg.numKvHeads, past, D]);
      const pv = g.input(`past_value_${i}`, g.floatType, [B, cfg.numKvHeads, past, D]);
      kh = ops.concat([pk, kh], 2); // (B, Hkv, P+T, D)
      vh = ops.concat([pv, vh0], 2);
      g.output(`present_key_${i}`, kh);
      g.output(`present_value_${i}`, vh);
    }
    // scores · 1/√D, or GPT-2's variants (scale_attn_weights, scale_attn_by_inverse_layer_idx)
    const scale = (cfg.scaleAttnWeights ? 1 / Math.sqrt(D) : 1) / (cfg.scaleAttnByInverseLayerIdx ? i + 1 : 1);
    const ctx = nn.mergeHeads(nn.attention(qh, kh, vh, { mask, scale })); // (B, T, H D)
    return ops.add(h, lin(ctx, att.o, i));
  }

  function head(h: Value): Graph {
    const hf = norm(h, spec.finalNorm, 0); // (B, T, d)
    if (o.hiddenStates || o.finalHidden) g.output(`hidden_${cfg.numLayers}`, hf);
    const head = W(cfg.tieWordEmbeddings ? spec.lmHead.tiedTo : spec.lmHead.weight); // (V, d)
    const headOf = (x: Value): Value => nn.linear(x, head, undefined, 'out_in');
    if (o.logits === 'all' || o.loss === 'labels') {
      const logits = headOf(hf); // (B, T, V)
      if (o.logits === 'all') g.output('logits', logits);
      if (o.loss === 'labels') g.output('loss', nn.crossEntropy(logits, g.input('labels', 'int64', [B, T])));
    }
    if (o.logits === 'last') {
      const len = T;
      if (typeof len !== 'number') g.output('logits_last', ops.squeeze(headOf(ops.slice(hf, [-1], [ops.END], [1])), [1]));
      else g.output('logits_last', ops.squeeze(headOf(ops.slice(hf, [len - 1], [len], [1])), [1]));
    }
    if (o.loss === 'rows') {
      // Only the K target rows reach the LM head: on a 50k vocabulary the head dominates the FLOPs.
      const rows = g.input('rows', 'int64', [o.rowCount ?? 'K']);
      const flat = ops.reshape(hf, [-1, cfg.hiddenSize]); // (B·T, d)
      const logits = headOf(ops.gather(flat, rows, 0)); // (K, V)
      g.output('row_logits', logits);
      const tgt = g.input('row_targets', 'int64', [o.rowCount ?? 'K']);
      const wts = g.input('row_weights', g.floatType, [o.rowCount ?? 'K']);
      const logp = ops.gatherElements(ops.logSoftmax(logits, -1), ops.unsqueeze(tgt, [1]), 1); // (K, 1)
      g.output('loss', ops.reduceSum(ops.mul(ops.neg(ops.reshape(logp, [-1])), wts)));
    }
    return g;
  }
}

function unsupportedAct(cfg: ModelConfig): never {
  throw new WiseError('WISE_UNSUPPORTED_MODEL', `activation ${cfg.activation} is not implemented (gelu_new, silu)`, { field: 'activation' });
}
