/**
 * Composites built from primitives (so their gradients come from the primitive rules):
 * linear, LayerNorm, RMSNorm, GELU (tanh), SiLU, softmax, multi-head / grouped-query
 * attention with causal + padding masks, RoPE (Hugging Face rotate-half), cross-entropy
 * with ignore index. Shapes in comments: B batch, T / Tq / Tk lengths, H query heads,
 * Hkv key/value heads, D head dim, V vocabulary.
 *
 * The patterns follow what ORT's optimizer fuses in forward graphs (LayerNorm as
 * Pow(xc, 2) -> ReduceMean -> Add -> Sqrt -> Div; GELU with Pow(x, 3)).
 */
import { check } from '../util/errors.js';
import type { Graph, Value } from './graph.js';
import * as op from './ops.js';
import { isStatic, tensorData, type Dim } from './types.js';

/** 'out_in': weight [out, in] (HF nn.Linear); 'in_out': weight [in, out] (GPT-2 Conv1D). */
export type WeightLayout = 'out_in' | 'in_out';

/**
 * y = x Wᵀ + b (out_in) or x W + b (in_out). x [..., in] -> [..., out].
 * Static shapes use one Gemm on rows [N, in] (transB for out_in), so neither the forward
 * nor the backward pass (dW = gyᵀ x via Gemm transA) needs a Transpose of W. Symbolic
 * shapes use MatMul (+ Transpose, which ORT folds into FusedMatMul).
 */
export function linear(x: Value, w: Value, b?: Value, layout: WeightLayout = 'out_in'): Value {
  const outDim = w.shape[layout === 'out_in' ? 0 : 1]!;
  if (isStatic(x.shape) && x.rank >= 2) {
    const rows = op.reshape(x, [-1, x.shape[x.rank - 1]!]); // [N, in]
    const y = op.gemm(rows, w, b, { transB: layout === 'out_in' }); // [N, out]
    return op.reshape(y, [...x.shape.slice(0, -1), outDim]);
  }
  const y = op.matmul(x, layout === 'out_in' ? op.transpose(w, [1, 0]) : w);
  return b ? op.add(y, b) : y;
}

/** LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * w + b; w, b [d]. */
export function layerNorm(x: Value, w: Value, b: Value | undefined, eps = 1e-5): Value {
  const xc = op.sub(x, op.reduceMean(x, [-1], true));
  const y = op.div(xc, op.sqrt(op.add(op.reduceMean(op.pow(xc, 2), [-1], true), eps)));
  return b ? op.add(op.mul(y, w), b) : op.mul(y, w);
}

/**
 * RMSNorm, HF llama convention: x / sqrt(mean(x²) + eps) * w (no mean subtraction, no bias).
 * HF upcasts to float32 first; graphs here are already float32 or float64.
 */
export function rmsNorm(x: Value, w: Value, eps = 1e-6): Value {
  return op.mul(op.div(x, op.sqrt(op.add(op.reduceMean(op.pow(x, 2), [-1], true), eps))), w);
}

/** GELU, tanh approximation (HF "gelu_new" / "gelu_pytorch_tanh"). */
export function geluTanh(x: Value): Value {
  const inner = op.mul(op.add(x, op.mul(op.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return op.mul(op.mul(x, 0.5), op.add(op.tanh(inner), 1));
}

/** SiLU / swish: x * sigmoid(x). */
export const silu = (x: Value): Value => op.mul(x, op.sigmoid(x));

export const softmax = op.softmax;

/** [B, T, H*D] -> [B, H, T, D]. */
export function splitHeads(x: Value, nHeads: number): Value {
  const [b, t, hd] = x.shape as [Dim, Dim, number];
  check(typeof hd === 'number' && hd % nHeads === 0, 'WISE_SHAPE_MISMATCH', `splitHeads: ${x} last dim not divisible by ${nHeads}`);
  return op.transpose(op.reshape(x, [b, t, nHeads, hd / nHeads]), [0, 2, 1, 3]);
}

/** [B, H, T, D] -> [B, T, H*D]. */
export function mergeHeads(x: Value): Value {
  const [b, h, t, d] = x.shape as [Dim, number, Dim, number];
  return op.reshape(op.transpose(x, [0, 2, 1, 3]), [b, t, h * d]);
}

/**
 * Rotary embedding, HF rotate-half: x * cos + rotate_half(x) * sin, with
 * rotate_half(x) = [-x2, x1] for the halves x1, x2 of the last axis.
 * x [B, H, T, D]; cos, sin [B, T, D] (rope.ts ropeTables), fed as constants or inputs.
 */
export function rope(x: Value, cos: Value, sin: Value): Value {
  const d = x.shape[3] as number;
  const x1 = op.slice(x, [0], [d / 2], [3]);
  const x2 = op.slice(x, [d / 2], [d], [3]);
  const rot = op.concat([op.neg(x2), x1], 3);
  return op.add(op.mul(x, op.unsqueeze(cos, [1])), op.mul(rot, op.unsqueeze(sin, [1])));
}

/** Constant bool [Tq, Tk]: query i (at absolute position Tk - Tq + i) sees keys j <= that position. */
export function causalMask(g: Graph, tq: number, tk: number): Value {
  const m = new Array<number>(tq * tk);
  for (let i = 0; i < tq; i++) for (let j = 0; j < tk; j++) m[i * tk + j] = j <= tk - tq + i ? 1 : 0;
  return g.constant(tensorData('bool', [tq, tk], m));
}

export interface AttentionOpts {
  /** Causal masking (needs static Tq, Tk; for symbolic lengths pass `mask`). */
  causal?: boolean;
  /** Padding mask [B, Tk]: 1/true = real token, 0/false = padding (any dtype). */
  keyMask?: Value;
  /** Extra bool mask, true = attend: [Tq, Tk] or [B|1, 1, Tq, Tk]. */
  mask?: Value;
  /** Score scale, default 1/sqrt(D). */
  scale?: number;
}

/**
 * Scaled dot-product attention with grouped-query heads.
 * q [B, H, Tq, D]; k, v [B, Hkv, Tk, D] with H % Hkv == 0 -> [B, H, Tq, D].
 * Query head h uses kv head floor(h / (H/Hkv)), as HF repeat_kv; instead of copying k/v,
 * q is viewed as [B, Hkv, rep, Tq, D] and k/v broadcast over rep.
 * Masked scores are replaced (Where) by -1e9, giving exact zero gradients and no NaN even
 * for fully masked rows (those become uniform; their outputs are ignored by the caller).
 */
export function attention(q: Value, k: Value, v: Value, o: AttentionOpts = {}): Value {
  const g = q.graph;
  const [b, h, tq, d] = q.shape as [Dim, number, Dim, number];
  const hkv = k.shape[1] as number;
  const tk = k.shape[2]!;
  check(typeof h === 'number' && typeof hkv === 'number' && h % hkv === 0, 'WISE_SHAPE_MISMATCH', `attention: ${h} heads vs ${hkv} kv heads`);
  const rep = h / hkv;
  const q5 = rep > 1 ? op.reshape(q, [b, hkv, rep, tq, d]) : q; // [B, Hkv, rep, Tq, D]
  const k5 = rep > 1 ? op.unsqueeze(k, [2]) : k; // [B, Hkv, 1, Tk, D]
  const v5 = rep > 1 ? op.unsqueeze(v, [2]) : v;
  let s = op.mul(op.matmul(q5, op.transposeLast2(k5)), o.scale ?? 1 / Math.sqrt(d)); // [B, Hkv, rep, Tq, Tk]
  const masks: Value[] = [];
  if (o.causal) {
    check(isStatic([tq, tk]), 'WISE_GRAPH', 'attention: causal needs static Tq/Tk; pass `mask` for symbolic lengths');
    masks.push(causalMask(g, tq as number, tk as number));
  }
  if (o.keyMask) {
    const km = o.keyMask.dtype === 'bool' ? o.keyMask : op.not(op.equal(o.keyMask, 0)); // [B, Tk]
    masks.push(op.unsqueeze(km, rep > 1 ? [1, 2, 3] : [1, 2])); // [B, 1, (1,) 1, Tk]
  }
  if (o.mask) masks.push(o.mask.rank === 4 && rep > 1 ? op.unsqueeze(o.mask, [2]) : o.mask);
  if (masks.length) s = op.where(masks.reduce((a, m) => op.and(a, m)), s, -1e9);
  const out = op.matmul(op.softmax(s, -1), v5); // [B, Hkv, rep, Tq, D]
  return rep > 1 ? op.reshape(out, [b, h, tq, d]) : out;
}

/**
 * Cross-entropy with ignore index: mean over targets != ignoreIndex of -log softmax(logits)[target].
 * logits [..., V], targets [...] (int64). Returns a scalar (0 when every target is ignored).
 */
export function crossEntropy(logits: Value, targets: Value, ignoreIndex = -100): Value {
  const vocab = logits.shape[logits.rank - 1]!;
  const l2 = op.reshape(logits, [-1, vocab]); // [N, V]
  const t = op.reshape(op.cast(targets, 'int64'), [-1]); // [N]
  const valid = op.not(op.equal(t, ignoreIndex)); // [N] bool
  const safe = op.where(valid, t, 0); // ignored rows pick class 0, then get weight 0
  const picked = op.gatherElements(op.logSoftmax(l2, -1), op.unsqueeze(safe, [1]), 1); // [N, 1]
  const w = op.cast(valid, logits.dtype); // [N]
  const total = op.reduceSum(op.mul(op.neg(op.reshape(picked, [-1])), w));
  return op.div(total, op.max(op.reduceSum(w), 1));
}
