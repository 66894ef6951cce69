/**
 * HF `config.json` → normalized ModelConfig. Which keys hold which value, and the per-family defaults, come from
 * the ArchSpec (arch.ts); this file holds only the family-independent rules (RoPE, token ids, validation).
 * Pure: takes the parsed JSON; weights.ts reads the file.
 */
import type { RopeScaling } from '../graph/rope-scaling.js';
import { WiseError, check } from '../util/errors.js';
import { getArchSpec, type ArchSpec, type ConfigKeys } from './arch.js';

/** Normalized MLP activations: gelu_new = tanh approximation (= gelu_pytorch_tanh), gelu = exact erf. */
export type Activation = 'gelu_new' | 'gelu' | 'silu';
const ACTIVATIONS: Record<string, Activation> = {
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
  gelu: 'gelu',
  silu: 'silu',
  swish: 'silu',
};
/** RoPE variants implemented (`rope_type` of HF rope_parameters / rope_scaling; graph/rope-scaling.ts). */
export const SUPPORTED_ROPE_TYPES: readonly string[] = ['default', 'linear', 'dynamic', 'llama3', 'yarn'];

export interface ModelConfig {
  /** HF model_type as given (e.g. 'mistral'); `arch` is the spec it maps to */
  modelType: string;
  arch: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** = numHeads without GQA */
  numKvHeads: number;
  /** explicit `head_dim` or hiddenSize / numHeads */
  headDim: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
  /** LayerNorm / RMSNorm epsilon */
  normEps: number;
  /** RoPE base; null for learned positions */
  ropeTheta: number | null;
  /** RoPE frequency scaling (HF rope_scaling / rope_parameters); null for default RoPE or learned positions */
  ropeScaling: RopeScaling | null;
  tieWordEmbeddings: boolean;
  activation: Activation;
  /** HF `attention_bias` (llama/mistral): q/k/v/o biases */
  attentionBias: boolean;
  /** HF `mlp_bias` (llama): gate/up/down biases */
  mlpBias: boolean;
  /**
   * attention score scale of layer i = (scaleAttnWeights ? 1/√head_dim : 1) / (scaleAttnByInverseLayerIdx ? i + 1 : 1)
   * (HF GPT-2's `scale_attn_weights`, default true, and `scale_attn_by_inverse_layer_idx`, default false; other
   * families always scale by 1/√head_dim)
   */
  scaleAttnWeights: boolean;
  scaleAttnByInverseLayerIdx: boolean;
  /** sliding-window attention size on every layer (a key is seen while query position − key position < it); null when off */
  slidingWindow: number | null;
  bosTokenId: number | null;
  /** HF allows one id or a list */
  eosTokenIds: number[];
  padTokenId: number | null;
}

type Json = Record<string, unknown>;

function bad(file: string, field: string, message: string, value?: unknown): never {
  throw new WiseError('WISE_BAD_CONFIG', `${file}: ${field}: ${message}`, { file, field, value });
}

function isObj(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** First key of `keys` present (non-null) in `raw`. */
function pick(raw: Json, keys: readonly string[]): { key: string; value: unknown } | null {
  for (const key of keys) if (raw[key] !== undefined && raw[key] !== null) return { key, value: raw[key] };
  return null;
}

function positiveInt(file: string, raw: Json, keys: readonly string[], fallback?: number): number {
  const p = pick(raw, keys);
  if (!p) {
    if (fallback !== undefined) return fallback;
    return bad(file, keys[0] ?? '?', `missing (expected a positive integer${keys.length > 1 ? `; also looked for ${keys.slice(1).join(', ')}` : ''})`);
  }
  if (!Number.isSafeInteger(p.value) || (p.value as number) <= 0) bad(file, p.key, `must be a positive integer, got ${JSON.stringify(p.value)}`, p.value);
  return p.value as number;
}

function tokenId(file: string, raw: Json, key: string): number | null {
  const v = raw[key];
  if (v === undefined || v === null) return null;
  if (!Number.isSafeInteger(v) || (v as number) < 0) bad(file, key, `must be a non-negative integer or null, got ${JSON.stringify(v)}`, v);
  return v as number;
}

interface ParsedRope {
  theta: number | null;
  scaling: RopeScaling | null;
}

/** A number field of a RoPE parameter object (`field` names it in errors); `required` false allows absent/null. */
function ropeNumber(file: string, obj: Json, prefix: string, key: string, required: boolean, min: 'positive' | 'non-negative' = 'positive'): number | null {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) bad(file, `${prefix}.${key}`, 'missing (required by this rope_type)');
    return null;
  }
  const ok = typeof v === 'number' && Number.isFinite(v) && (min === 'positive' ? v > 0 : v >= 0);
  if (!ok) bad(file, `${prefix}.${key}`, `must be a ${min} number, got ${JSON.stringify(v)}`, v);
  return v as number;
}

/** The scaling parameters of a typed RoPE object (`prefix` is rope_parameters or rope_scaling). */
function parseRopeScaling(file: string, type: string, o: Json, prefix: string, maxPositionEmbeddings: number): RopeScaling | null {
  const num = (key: string, required = true): number | null => ropeNumber(file, o, prefix, key, required);
  switch (type) {
    case 'default':
      return null;
    case 'linear':
    case 'dynamic':
      return { type, factor: num('factor')! };
    case 'llama3': {
      const lowFreqFactor = num('low_freq_factor')!;
      const highFreqFactor = num('high_freq_factor')!;
      if (!(highFreqFactor > lowFreqFactor)) bad(file, `${prefix}.high_freq_factor`, `must be above low_freq_factor (${highFreqFactor} vs ${lowFreqFactor})`, highFreqFactor);
      return { type, factor: num('factor')!, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: num('original_max_position_embeddings')! };
    }
    case 'yarn': {
      const original = num('original_max_position_embeddings', false) ?? maxPositionEmbeddings;
      // transformers 5: a null factor means max_position_embeddings / original_max_position_embeddings
      const factor = num('factor', false) ?? maxPositionEmbeddings / original;
      const truncate = o.truncate ?? true;
      if (typeof truncate !== 'boolean') bad(file, `${prefix}.truncate`, `must be a boolean, got ${JSON.stringify(truncate)}`, truncate);
      // HF: `beta_fast or 32`, `beta_slow or 1` (0 also takes the default)
      const nonNeg = (key: string): number | null => ropeNumber(file, o, prefix, key, false, 'non-negative');
      return {
        type,
        factor,
        originalMaxPositionEmbeddings: original,
        betaFast: nonNeg('beta_fast') || 32,
        betaSlow: nonNeg('beta_slow') || 1,
        attentionFactor: num('attention_factor', false),
        mscale: nonNeg('mscale'),
        mscaleAllDim: nonNeg('mscale_all_dim'),
        truncate,
      };
    }
    default:
      throw new WiseError('WISE_UNSUPPORTED_MODEL', `${file}: ${prefix}.rope_type = ${JSON.stringify(type)} is not supported (supported RoPE types: ${SUPPORTED_ROPE_TYPES.join(', ')})`, { file, field: `${prefix}.rope_type`, value: type, supported: SUPPORTED_ROPE_TYPES });
  }
}

function parseRope(file: string, raw: Json, spec: ArchSpec, maxPositionEmbeddings: number): ParsedRope {
  const rp = raw.rope_parameters;
  const rs = raw.rope_scaling;
  for (const [field, v] of [['rope_parameters', rp], ['rope_scaling', rs]] as const) {
    if (v !== undefined && v !== null && !isObj(v)) bad(file, field, 'must be an object or null', v);
  }
  const rpo = isObj(rp) ? rp : {};
  const rso = isObj(rs) ? rs : {};
  // transformers 5 writes rope_parameters (theta included); 4.x writes rope_scaling beside rope_theta
  const fromParams = pick(rpo, ['rope_type', 'type']);
  const fromScaling = pick(rso, ['rope_type', 'type']);
  if (fromParams && fromScaling && fromParams.value !== fromScaling.value) {
    bad(file, 'rope_scaling', `rope_scaling.${fromScaling.key} = ${JSON.stringify(fromScaling.value)} disagrees with rope_parameters.${fromParams.key} = ${JSON.stringify(fromParams.value)}`, { rope_scaling: fromScaling.value, rope_parameters: fromParams.value });
  }
  const typed = fromParams ?? fromScaling;
  const ropeType = typed?.value ?? 'default';
  const prefix = fromParams ? 'rope_parameters' : 'rope_scaling';
  if (typeof ropeType !== 'string' || !SUPPORTED_ROPE_TYPES.includes(ropeType)) {
    const field = `${prefix}.${typed?.key ?? 'rope_type'}`;
    throw new WiseError('WISE_UNSUPPORTED_MODEL', `${file}: ${field} = ${JSON.stringify(ropeType)} is not supported (supported RoPE types: ${SUPPORTED_ROPE_TYPES.join(', ')})`, { file, field, value: ropeType, supported: SUPPORTED_ROPE_TYPES });
  }
  const prf = pick(rpo, ['partial_rotary_factor']) ?? pick(raw, ['partial_rotary_factor']);
  if (prf && prf.value !== 1) {
    throw new WiseError('WISE_UNSUPPORTED_MODEL', `${file}: partial_rotary_factor = ${JSON.stringify(prf.value)} is not supported (only 1)`, { file, field: 'partial_rotary_factor', value: prf.value });
  }
  const nested = rpo.rope_theta;
  const top = raw.rope_theta;
  for (const [field, v] of [['rope_parameters.rope_theta', nested], ['rope_theta', top]] as const) {
    if (v !== undefined && v !== null && (typeof v !== 'number' || !(v > 0))) bad(file, field, `must be a positive number, got ${JSON.stringify(v)}`, v);
  }
  if (typeof nested === 'number' && typeof top === 'number' && nested !== top) {
    bad(file, 'rope_theta', `disagrees with rope_parameters.rope_theta (${top} vs ${nested})`, { rope_theta: top, 'rope_parameters.rope_theta': nested });
  }
  if (spec.position !== 'rope') return { theta: null, scaling: null };
  const scaling = parseRopeScaling(file, ropeType, fromParams ? rpo : rso, prefix, maxPositionEmbeddings);
  const theta = (typeof nested === 'number' ? nested : typeof top === 'number' ? top : null) ?? spec.config.defaults.ropeTheta;
  return { theta, scaling };
}

/**
 * The sliding-window size if every layer uses it, null if none does (HF: `sliding_window` null/absent, or
 * `use_sliding_window: false`). Which layers slide: `layer_types` (transformers 5), else layers
 * i ≥ `max_window_layers` (Qwen2), else all (Mistral). A mix of sliding and full layers is refused: the graphs
 * share one attention mask across layers.
 */
function parseSlidingWindow(file: string, raw: Json, spec: ArchSpec, numLayers: number): number | null {
  if (raw.sliding_window === undefined || raw.sliding_window === null) return null;
  const window = positiveInt(file, raw, ['sliding_window']);
  let sliding: boolean[];
  let field: string;
  if (raw.layer_types !== undefined && raw.layer_types !== null) {
    const lt = raw.layer_types;
    field = 'layer_types';
    if (!Array.isArray(lt) || lt.length !== numLayers || !lt.every((t) => t === 'sliding_attention' || t === 'full_attention')) {
      bad(file, 'layer_types', `must list "sliding_attention" or "full_attention" for each of the ${numLayers} layers`, lt);
    }
    sliding = (lt as string[]).map((t) => t === 'sliding_attention');
  } else {
    const fromFile = raw.max_window_layers;
    if (fromFile !== undefined && fromFile !== null && (!Number.isSafeInteger(fromFile) || (fromFile as number) < 0)) {
      bad(file, 'max_window_layers', `must be a non-negative integer, got ${JSON.stringify(fromFile)}`, fromFile);
    }
    const from = (fromFile as number | null | undefined) ?? spec.config.defaults.maxWindowLayers ?? 0;
    field = 'max_window_layers';
    sliding = Array.from({ length: numLayers }, (_, i) => i >= from);
  }
  if (sliding.every((x) => !x)) return null;
  if (!sliding.every((x) => x)) {
    const n = sliding.filter((x) => x).length;
    throw new WiseError('WISE_UNSUPPORTED_MODEL', `${file}: ${field}: ${n} of ${numLayers} layers use sliding-window attention (window ${window}) and the others full attention; wise-edit supports the window on all layers or none`, { file, field, window, slidingLayers: n, numLayers });
  }
  return window;
}

/**
 * The config as a store's fingerprint hashes it (shards/fingerprint.ts, via the editor). Keys added to
 * ModelConfig after stores began recording fingerprints appear only when they differ from the value that
 * reproduces the earlier behaviour, so a store made before them still opens on the same model, while a model
 * that uses them (a RoPE-scaled one, say) gets its own fingerprint.
 */
const ADDED_LATER: { [K in keyof ModelConfig]?: ModelConfig[K] } = { ropeScaling: null, scaleAttnWeights: true, scaleAttnByInverseLayerIdx: false };
export function fingerprintView(cfg: ModelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...cfg };
  for (const [k, neutral] of Object.entries(ADDED_LATER)) if (out[k] === neutral) delete out[k];
  return out;
}

/**
 * `eos_token_id` of a config.json or generation_config.json body: one id, a list, or none (null/absent),
 * each below `vocabSize`.
 */
export function parseEosIds(json: unknown, file: string, vocabSize: number): number[] {
  if (!isObj(json)) return bad(file, '(root)', 'must be a JSON object');
  const eos = json.eos_token_id;
  let ids: number[] = [];
  if (Array.isArray(eos)) {
    if (!eos.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) bad(file, 'eos_token_id', `must be a non-negative integer or a list of them, got ${JSON.stringify(eos)}`, eos);
    ids = eos as number[];
  } else {
    const id = tokenId(file, json, 'eos_token_id');
    if (id !== null) ids = [id];
  }
  for (const id of ids) check(id < vocabSize, 'WISE_BAD_CONFIG', `${file}: eos_token_id: ${id} is not below vocab_size ${vocabSize}`, { file, field: 'eos_token_id', value: id, vocabSize });
  return ids;
}

/** The ids generation stops on: config.json's eos ids, then generation_config.json's, then the tokenizer's eos. */
export function stopIdsOf(configEos: readonly number[], generationEos: readonly number[], tokenizerEos: number | null | undefined): number[] {
  return [...new Set([...configEos, ...generationEos, ...(tokenizerEos === null || tokenizerEos === undefined ? [] : [tokenizerEos])])];
}

/** Parses a config.json body. `file` is used in error messages only. */
export function parseModelConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (!isObj(json)) return bad(file, '(root)', 'must be a JSON object');
  const raw = json;
  const mt = raw.model_type;
  if (typeof mt !== 'string' || mt.length === 0) bad(file, 'model_type', `missing or not a string (got ${JSON.stringify(mt)})`, mt);
  const spec = getArchSpec(mt);
  const keys: ConfigKeys = spec.config.keys;
  const defaults = spec.config.defaults;

  const vocabSize = positiveInt(file, raw, ['vocab_size']);
  const hiddenSize = positiveInt(file, raw, keys.hiddenSize);
  const numLayers = positiveInt(file, raw, keys.numLayers);
  const numHeads = positiveInt(file, raw, keys.numHeads);
  const numKvHeads = positiveInt(file, raw, keys.numKvHeads, numHeads);
  const headsKey = keys.numHeads[0] ?? 'num_attention_heads';
  if (numHeads % numKvHeads !== 0) bad(file, keys.numKvHeads[0] ?? 'num_key_value_heads', `${numKvHeads} does not divide ${headsKey} = ${numHeads}`, numKvHeads);
  if (spec.layer.attention.kind === 'fused' && numKvHeads !== numHeads) bad(file, 'num_key_value_heads', 'grouped-query attention is not possible with a fused qkv projection', numKvHeads);
  let headDim: number;
  if (raw.head_dim !== undefined && raw.head_dim !== null) {
    headDim = positiveInt(file, raw, ['head_dim']);
  } else {
    if (hiddenSize % numHeads !== 0) bad(file, headsKey, `${numHeads} does not divide the hidden size ${hiddenSize} (and no head_dim is given)`, numHeads);
    headDim = hiddenSize / numHeads;
  }
  const inter = defaults.intermediateMultiple;
  const intermediateSize = positiveInt(file, raw, keys.intermediateSize, inter === null ? undefined : inter * hiddenSize);
  const maxPositionEmbeddings = positiveInt(file, raw, keys.maxPositionEmbeddings);
  const { theta: ropeTheta, scaling: ropeScaling } = parseRope(file, raw, spec, maxPositionEmbeddings);
  if (spec.position === 'rope' && headDim % 2 !== 0) bad(file, 'head_dim', `RoPE needs an even head dimension, got ${headDim}`, headDim);

  const epsP = pick(raw, keys.normEps);
  if (epsP && (typeof epsP.value !== 'number' || !(epsP.value > 0))) bad(file, epsP.key, `must be a positive number, got ${JSON.stringify(epsP.value)}`, epsP.value);
  const normEps = epsP ? (epsP.value as number) : defaults.normEps;

  const actP = pick(raw, keys.activation);
  const actName = actP ? actP.value : defaults.activation;
  const activation = typeof actName === 'string' ? ACTIVATIONS[actName] : undefined;
  if (activation === undefined) {
    bad(file, actP?.key ?? keys.activation[0] ?? 'hidden_act', `unsupported activation ${JSON.stringify(actName)} (supported: ${Object.keys(ACTIVATIONS).join(', ')})`, actName);
  }

  const bool = (key: string, fallback: boolean): boolean => {
    const v = raw[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') bad(file, key, `must be a boolean, got ${JSON.stringify(v)}`, v);
    return v;
  };
  const tieWordEmbeddings = bool('tie_word_embeddings', defaults.tieWordEmbeddings);
  const attentionBias = bool('attention_bias', false);
  const mlpBias = bool('mlp_bias', false);
  // GPT-2 only in transformers; absent elsewhere, so the defaults keep every other family at 1/√head_dim
  const scaleAttnWeights = bool('scale_attn_weights', true);
  const scaleAttnByInverseLayerIdx = bool('scale_attn_by_inverse_layer_idx', false);

  const slidingWindow = bool('use_sliding_window', true) ? parseSlidingWindow(file, raw, spec, numLayers) : null;

  const eosTokenIds = parseEosIds(raw, file, vocabSize);
  const bosTokenId = tokenId(file, raw, 'bos_token_id');
  const padTokenId = tokenId(file, raw, 'pad_token_id');
  for (const [field, id] of [['bos_token_id', bosTokenId], ['pad_token_id', padTokenId]] as const) {
    check(id === null || id < vocabSize, 'WISE_BAD_CONFIG', `${file}: ${field}: ${id} is not below vocab_size ${vocabSize}`, { file, field, value: id, vocabSize });
  }

  return {
    modelType: mt,
    arch: spec.name,
    vocabSize,
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize,
    maxPositionEmbeddings,
    normEps,
    ropeTheta,
    ropeScaling,
    tieWordEmbeddings,
    activation,
    attentionBias,
    mlpBias,
    scaleAttnWeights,
    scaleAttnByInverseLayerIdx,
    slidingWindow,
    bosTokenId,
    eosTokenIds,
    padTokenId,
  };
}
