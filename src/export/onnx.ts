/**
 * `wise export --format onnx`: one ONNX model that prefills and decodes with the WISE router
 * inside the graph, runnable by a plain onnxruntime session.
 *
 * The graph is the engine's decode graph (buildTransformer with the KV cache, symbolic B, T,
 * P) with router/router.ts's routing hook at the edited layer, unchanged; the hook's memory
 * inputs (mem_deltas, mem_eps) are then moved into the model as initializers, so every
 * memory and its threshold ε ships inside model.onnx and the caller feeds only tokens,
 * masks, positions, the KV cache and the routing controls. The route decided at prefill
 * (output `route`) is fed back as `route_in` at every decode step.
 *
 * Written: model.onnx, wise_export.json (the I/O contract: every input and output, the
 * memories in route order, thresholds, the layer, how to compute masks and positions),
 * config.json and the tokenizer files. See docs/export.md.
 *
 * Size: initializers are stored inline and a protobuf message cannot exceed 2 GiB, so a
 * model whose weights plus memories exceed ONNX_INLINE_LIMIT bytes is refused
 * (WISE_UNSUPPORTED_MODEL) with a pointer to the safetensors export.
 */
import * as path from 'node:path';
import onnxPkg from 'onnx-proto';
import type { onnx as OnnxNs } from 'onnx-proto';
import { WiseError } from '../util/errors.js';
import { ONNX_DTYPE, ropeFrequencies, toModelProto, type DType, type Graph, type RopeScaling, type TensorData } from '../graph/index.js';
import { buildTransformer } from '../model/transformer.js';
import { routerHook } from '../router/router.js';
import { stackDeltas, stackDims } from '../router/stack.js';
import { copyModelFiles, editedWeight, prepareOutDir, writeFileAtomic, type ExportSource } from './source.js';
import { ioDocs, type IoEntry } from './onnx-docs.js';

const { onnx } = onnxPkg;

/** Largest inline initializer payload accepted (bytes): under protobuf's 2 GiB cap, with room for the graph. */
export const ONNX_INLINE_LIMIT = 1.9e9;

export interface OnnxExportOptions {
  /** 'last' (default): logits_last (B, V); 'all': logits (B, T, V) of every new token */
  logits?: 'last' | 'all';
  /** replace the files of a non-empty output folder */
  overwrite?: boolean;
  /** size limit override (tests) */
  inlineLimit?: number;
}

export interface OnnxExportResult {
  dir: string;
  files: string[];
  /** bytes of model.onnx */
  bytes: number;
  contract: ExportContract;
}

/** The content of wise_export.json. */
export interface ExportContract {
  format: 'wise-onnx';
  version: 1;
  model: {
    model_type: string;
    layers: number;
    hidden_size: number;
    vocab_size: number;
    kv_heads: number;
    head_dim: number;
    positions: 'rope' | 'learned';
    rope_theta: number | null;
    /** the RoPE scaling in force (wise-edit's parsed form of HF rope_scaling / rope_parameters), null for plain RoPE */
    rope_scaling: RopeScaling | null;
    /** inv_freq [head_dim / 2] as float32 values, scaling applied; null for learned positions */
    rope_inv_freq: number[] | null;
    /** multiplies rope_cos and rope_sin (1 except for yarn); null for learned positions */
    rope_attention_factor: number | null;
    /** sliding-window attention on every layer (see formulas.attn_mask), null when off */
    sliding_window: number | null;
    /** the ids a text prompt starts with (the tokenizer's BOS for Llama/Mistral; empty for GPT-2, Qwen2): the edits were made on prompts that start so */
    prompt_prefix_ids: number[];
    eos_token_ids: number[];
    pad_token_id: number | null;
  };
  edited: { layer: number; weight: string; layout: string };
  routing: {
    mode: 'merge' | 'retrieve';
    max_mean_tokens: number;
    select: 'score' | 'ratio';
    token_score: string;
    sequence_score: string;
    /** route 0 */
    main: string;
    memories: { route: number; id: string; eps: number; edits: number[] }[];
    rule: string;
  };
  logits: 'last' | 'all';
  inputs: IoEntry[];
  outputs: IoEntry[];
  formulas: Record<string, string>;
  steps: { prefill: string[]; decode: string[] };
}

/** Float32 bytes the model would hold inline: the checkpoint's weights and every memory's delta and ε. */
export function inlineBytes(src: ExportSource): number {
  let n = 0;
  for (const w of src.lm.ckpt.weights.values()) n += w.data.length * 4;
  for (const m of src.memories) n += m.delta.length * 4 + 4;
  return n;
}

/** The routed decode graph (memories still as the hook's inputs). */
export function buildExportGraph(src: ExportSource, logits: 'last' | 'all' = 'last'): Graph {
  const { lm } = src;
  return buildTransformer(lm.spec, lm.config, lm.ckpt.weights, {
    batch: 'B', seq: 'T', cache: true, logits,
    hooks: { down: routerHook(src.memories.length, src.layer, src.select, src.stat, 'float32', false, false) }, // the (ff, M·d) stack of bakedTensors
    name: 'wise-export',
  });
}

/** The feeds baked into the model: each memory's delta and the thresholds. */
export function bakedTensors(src: ExportSource): Record<string, TensorData> {
  const M = src.memories.length;
  if (M === 0) return {};
  const shape = src.lm.ckpt.weights.get(editedWeight(src))!.shape;
  src.memories.forEach((m) => {
    if (m.delta.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new WiseError('WISE_SHAPE_MISMATCH', `memory ${m.id}: ${m.delta.length} values for the edited weight [${shape.join(', ')}]`, { memory: m.id });
    }
  });
  const layout = src.lm.spec.layer.mlp.down.layout;
  const [ff, d] = stackDims(shape, layout);
  return {
    mem_eps: { dtype: 'float32', dims: [M], data: Float32Array.from(src.memories.map((m) => m.eps)) },
    mem_deltas: { dtype: 'float32', dims: [ff, M * d], data: stackDeltas(src.memories.map((m) => m.delta), M, shape, layout).slice() },
  };
}

const DTYPE_NAME: Record<number, DType> = Object.fromEntries(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k as DType]));

function entryOf(v: OnnxNs.IValueInfoProto): { name: string; dtype: DType; shape: (number | string)[] } {
  const t = v.type!.tensorType!;
  const shape = (t.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
  return { name: v.name!, dtype: DTYPE_NAME[t.elemType!]!, shape };
}

/** Moves graph inputs named in `baked` into the model as initializers. */
function bake(proto: OnnxNs.IModelProto, baked: Record<string, TensorData>): void {
  const g = proto.graph!;
  const names = new Set(Object.keys(baked));
  const found = new Set((g.input ?? []).map((i) => i.name!).filter((n) => names.has(n)));
  for (const n of names) if (!found.has(n)) throw new WiseError('WISE_INTERNAL', `export: the routed graph has no input ${n} to bake`, { name: n });
  g.input = (g.input ?? []).filter((i) => !names.has(i.name!));
  for (const [name, t] of Object.entries(baked)) {
    const a = t.data as Float32Array;
    g.initializer!.push({ name, dims: [...t.dims], dataType: ONNX_DTYPE[t.dtype], rawData: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) });
  }
}

/** The contract of an exported model (also embedded in model.onnx's metadata). */
export function exportContract(src: ExportSource, proto: OnnxNs.IModelProto, logits: 'last' | 'all'): ExportContract {
  const { lm } = src;
  const cfg = lm.config;
  const rope = lm.spec.position === 'rope';
  const theta = cfg.ropeTheta ?? 10000;
  const freqs = rope ? ropeFrequencies(cfg.headDim, theta, cfg.ropeScaling) : null;
  const docs = ioDocs({ maxMeanTokens: src.maxMeanTokens, memories: src.memories.length });
  const withDoc = (v: OnnxNs.IValueInfoProto): IoEntry => {
    const e = entryOf(v);
    const doc = docs(e.name);
    v.docString = doc;
    return { ...e, doc };
  };
  return {
    format: 'wise-onnx',
    version: 1,
    model: {
      model_type: cfg.modelType, layers: cfg.numLayers, hidden_size: cfg.hiddenSize, vocab_size: cfg.vocabSize,
      kv_heads: cfg.numKvHeads, head_dim: cfg.headDim, positions: rope ? 'rope' : 'learned',
      rope_theta: rope ? theta : null, rope_scaling: rope ? cfg.ropeScaling : null,
      rope_inv_freq: freqs?.invFreq ?? null, rope_attention_factor: freqs ? Math.fround(freqs.attentionFactor) : null,
      sliding_window: cfg.slidingWindow, prompt_prefix_ids: [...lm.tokenizer.prefixIds], eos_token_ids: lm.eosIds, pad_token_id: lm.padId,
    },
    edited: { layer: src.layer, weight: editedWeight(src), layout: lm.spec.layer.mlp.down.layout },
    routing: {
      mode: src.mode,
      max_mean_tokens: src.maxMeanTokens,
      select: src.select,
      token_score: src.stat.normalize ? '‖delta_k[t]‖₂ / ‖A(x)[t]‖₂' : '‖delta_k[t]‖₂',
      sequence_score: src.stat.topk > 0 ? `mean of the ${src.stat.topk} highest token scores over real tokens (token_mask), or max when use_max` : 'mean over real tokens (token_mask), or max when use_max',
      main: 'route 0: the original weights of the edited layer',
      memories: src.memories.map((m, k) => ({ route: k + 1, id: m.id, eps: m.eps, edits: m.editIds })),
      rule:
        'At the edited layer, for memory k: delta_k = A(x)·Δ_kᵀ (A(x) the down projection input, Δ_k = W′_k − W); ' +
        'token score and sequence score s_k as token_score and sequence_score say. ' +
        `route = 1 + argmax_k ${src.select === 'ratio' ? 's_k / eps_k' : 's_k'} over memories with s_k ≥ eps_k, else 0 (main). Output = W x + delta_route.`,
    },
    logits,
    inputs: (proto.graph!.input ?? []).map(withDoc),
    outputs: (proto.graph!.output ?? []).map(withDoc),
    formulas: {
      key_mask: 'key_mask[b, j] (B, P+T): 1 for a real token (cached or new), 0 for padding. Pad prompts on the LEFT.',
      attn_mask:
        'attn_mask[b, 0, i, j] = (j <= P + i) AND key_mask[b, j]  (causal AND key padding)' +
        (cfg.slidingWindow === null ? '' : ` AND pos[b, P + i] − pos[b, j] < ${cfg.slidingWindow} (model.sliding_window; pos as in positions)`) +
        ', shape (B, 1, T, P+T)',
      positions: 'pos[b, j] = cumsum(key_mask[b, 0..j]) − 1 over cached+new tokens (1 at padding); the new tokens take the last T',
      ...(rope
        ? {
            rope:
              `Hugging Face rotate-half RoPE: inv_freq = model.rope_inv_freq (D/2 = ${cfg.headDim / 2} values; ` +
              (cfg.ropeScaling ? `${cfg.ropeScaling.type} scaling of 1 / theta^(2i / D) as model.rope_scaling says` : `= 1 / theta^(2i / D), theta = ${theta}`) +
              `); angle = pos · inv_freq[i]; rope_cos[b, t, i] = rope_cos[b, t, i + D/2] = cos(angle) · model.rope_attention_factor, rope_sin likewise with sin (float32)`,
          }
        : { position_ids: 'position_ids[b, t] = pos of the new token t' }),
      token_mask: 'prefill: key_mask of the prompt tokens (B, T) as float 1/0; decode: ones',
      use_max: `use_max[b] = (number of real tokens in token_mask[b]) > ${src.maxMeanTokens}`,
    },
    steps: {
      prefill: [
        'input_ids = left-padded prompts (B, T); past_key_i / past_value_i with P = 0 (shape (B, kv_heads, 0, head_dim))',
        'attn_mask, positions from the prompt key_mask; token_mask = key_mask; use_max per row; route_in = −1 (decide)',
        'keep route (B,) — the memory each row uses for the whole generation — and present_* as the cache',
      ],
      decode: [
        'input_ids = the last chosen token per row (B, 1); past_* = the previous call\'s present_*',
        'key_mask grows by one 1 per step; attn_mask (B, 1, 1, P+1) and positions from it',
        'token_mask = ones (B, 1); use_max = false; route_in = the prefill\'s route (unchanged every step)',
      ],
    },
  };
}

/** The model.onnx bytes and contract, without writing anything. */
export function exportOnnxBytes(src: ExportSource, opts: OnnxExportOptions = {}): { bytes: Uint8Array; contract: ExportContract } {
  const logits = opts.logits ?? 'last';
  const need = inlineBytes(src);
  const limit = opts.inlineLimit ?? ONNX_INLINE_LIMIT;
  if (need > limit) {
    throw new WiseError(
      'WISE_UNSUPPORTED_MODEL',
      `the model's weights and memories take ${(need / 1e9).toFixed(2)} GB, over the ${(limit / 1e9).toFixed(2)} GB an ONNX file can hold inline (protobuf's 2 GiB cap); ` +
        'use `wise export --format safetensors --memory ID` for a merged checkpoint instead',
      { bytes: need, limit },
    );
  }
  const proto = toModelProto(buildExportGraph(src, logits));
  bake(proto, bakedTensors(src));
  const contract = exportContract(src, proto, logits);
  proto.docString = 'wise-edit export: a decoder with the WISE router inside (see wise_export.json)';
  proto.metadataProps = [{ key: 'wise_export', value: JSON.stringify({ ...contract, inputs: undefined, outputs: undefined }) }];
  return { bytes: onnx.ModelProto.encode(proto).finish(), contract };
}

/** Writes model.onnx, wise_export.json, config.json and the tokenizer files into `dir`. */
export async function exportOnnx(src: ExportSource, dir: string, opts: OnnxExportOptions = {}): Promise<OnnxExportResult> {
  const { bytes, contract } = exportOnnxBytes(src, opts);
  await prepareOutDir(dir, opts.overwrite);
  await writeFileAtomic(path.join(dir, 'model.onnx'), bytes);
  await writeFileAtomic(path.join(dir, 'wise_export.json'), JSON.stringify(contract, null, 2) + '\n');
  const copied = await copyModelFiles(src, dir);
  return { dir, files: ['model.onnx', 'wise_export.json', ...copied], bytes: bytes.byteLength, contract };
}
