/**
 * ArchSpec: how a decoder-only transformer family differs, as data (no branching on a model's name elsewhere).
 * Each family lives in archs/<name>.ts; REGISTRY below maps HF `model_type` → spec (mistral → llama's spec).
 * Weight names are templates where `{i}` is the layer index. Shapes follow the checkpoint's storage layout:
 * Conv1D (GPT-2) stores [in, out], nn.Linear stores [out, in].
 * Reference: HF transformers modeling_gpt2.py / modeling_llama.py / modeling_qwen2.py.
 */
import { WiseError } from '../util/errors.js';
import type { ModelConfig } from './config.js';
import { GPT2_SPEC } from './archs/gpt2.js';
import { LLAMA_SPEC } from './archs/llama.js';
import { QWEN2_SPEC } from './archs/qwen2.js';

export type NormKind = 'layernorm' | 'rmsnorm';
export type PositionKind = 'learned' | 'rope';
/** gelu: up → act → down (2 matrices); swiglu: down(act(gate(x)) * up(x)) */
export type MlpKind = 'gelu' | 'swiglu';
/** in_out: Conv1D [in, out] (y = x·W); out_in: nn.Linear [out, in] (y = x·Wᵀ) */
export type LinearLayout = 'in_out' | 'out_in';
/**
 * Whether a linear has a bias: always, never, or per the normalized config flag
 * (`attentionBias` ← HF `attention_bias`, `mlpBias` ← HF `mlp_bias`).
 */
export type BiasRule = 'always' | 'never' | 'attentionBias' | 'mlpBias';

export interface LinearSpec {
  /** weight name template, e.g. `model.layers.{i}.mlp.down_proj.weight` */
  weight: string;
  /** bias name template (used when `biasRule` says the bias exists) */
  bias: string;
  biasRule: BiasRule;
  layout: LinearLayout;
}

export interface NormSpec {
  weight: string;
  /** null for RMSNorm (no bias) */
  bias: string | null;
}

/** fused: one [hidden, q+k+v] projection split in order q, k, v (GPT-2 c_attn); separate: q/k/v/o linears. */
export type AttentionSpec =
  | { kind: 'fused'; qkv: LinearSpec; o: LinearSpec }
  | { kind: 'separate'; q: LinearSpec; k: LinearSpec; v: LinearSpec; o: LinearSpec };

/** gate is present iff mlp kind is swiglu. `down` is the WISE edit weight. */
export interface MlpSpec {
  up: LinearSpec;
  gate: LinearSpec | null;
  down: LinearSpec;
}

/** Normalized config field → HF config.json keys, first present wins. */
export interface ConfigKeys {
  hiddenSize: readonly string[];
  numLayers: readonly string[];
  numHeads: readonly string[];
  /** empty or absent in the file → numHeads */
  numKvHeads: readonly string[];
  intermediateSize: readonly string[];
  maxPositionEmbeddings: readonly string[];
  normEps: readonly string[];
  activation: readonly string[];
}

export interface ConfigDefaults {
  tieWordEmbeddings: boolean;
  activation: string;
  /** intermediate_size when the file gives null/absent: multiple × hidden (GPT-2: 4); null → required */
  intermediateMultiple: number | null;
  normEps: number;
  /** RoPE base when neither rope_theta nor rope_parameters.rope_theta is given (rope models only) */
  ropeTheta: number;
  /**
   * HF `max_window_layers` default when sliding-window attention is on and the file names neither it nor
   * `layer_types`: layers i ≥ it slide (Qwen2: 28); null = every layer slides (Mistral)
   */
  maxWindowLayers: number | null;
}

export interface ArchSpec {
  /** spec id */
  name: string;
  /** HF `model_type` values that use this spec */
  modelTypes: readonly string[];
  norm: NormKind;
  position: PositionKind;
  mlpKind: MlpKind;
  /**
   * A prefix that some checkpoints omit (GPT-2 saved as GPT2Model has no `transformer.`). Templates include it;
   * the loader accepts names without it and canonicalizes to the prefixed name.
   */
  optionalPrefix: string | null;
  embed: {
    /** token embedding [vocab, hidden] */
    tokens: string;
    /** learned positions [max_positions, hidden], null for RoPE */
    positions: string | null;
  };
  layer: {
    /** norm before attention (pre-LN) */
    attnNorm: NormSpec;
    /** norm before the MLP */
    mlpNorm: NormSpec;
    attention: AttentionSpec;
    mlp: MlpSpec;
  };
  finalNorm: NormSpec;
  /** output head [vocab, hidden] (nn.Linear); when tied, `tiedTo` is used instead and `weight` may be absent */
  lmHead: { weight: string; tiedTo: string };
  config: { keys: ConfigKeys; defaults: ConfigDefaults };
}

/** HF model_type → spec. Adding a family = one file in archs/ + one line here. */
const SPECS: readonly ArchSpec[] = [GPT2_SPEC, LLAMA_SPEC, QWEN2_SPEC];
export const ARCH_REGISTRY: ReadonlyMap<string, ArchSpec> = new Map(SPECS.flatMap((s) => s.modelTypes.map((t) => [t, s] as const)));
export const SUPPORTED_MODEL_TYPES: readonly string[] = [...ARCH_REGISTRY.keys()];

export function getArchSpec(modelType: string): ArchSpec {
  const spec = ARCH_REGISTRY.get(modelType);
  if (!spec) {
    throw new WiseError('WISE_UNSUPPORTED_MODEL', `unsupported model_type '${modelType}' (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`, { field: 'model_type', modelType, supported: SUPPORTED_MODEL_TYPES });
  }
  return spec;
}

/** Fills `{i}` in a weight-name template. */
export function layerName(template: string, i: number): string {
  return template.replaceAll('{i}', String(i));
}

/** Name of the MLP down projection of `layer` (the weight WISE edits). */
export function editWeightName(spec: ArchSpec, layer: number): string {
  return layerName(spec.layer.mlp.down.weight, layer);
}

/** Name of the tensor the output head reads (the token embedding when tied). */
export function headWeightName(spec: ArchSpec, cfg: ModelConfig): string {
  return cfg.tieWordEmbeddings ? spec.lmHead.tiedTo : spec.lmHead.weight;
}

export function hasBias(rule: BiasRule, cfg: ModelConfig): boolean {
  return rule === 'always' ? true : rule === 'never' ? false : cfg[rule];
}

/** Stored shape of a linear mapping `inDim` → `outDim`. */
export function linearShape(l: LinearSpec, inDim: number, outDim: number): number[] {
  return l.layout === 'in_out' ? [inDim, outDim] : [outDim, inDim];
}

/** Every tensor the model needs, with its stored shape, in a stable order (embeddings, layers, final norm, head). */
export function expectedShapes(spec: ArchSpec, cfg: ModelConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const h = cfg.hiddenSize;
  const qDim = cfg.numHeads * cfg.headDim;
  const kvDim = cfg.numKvHeads * cfg.headDim;
  const addLinear = (l: LinearSpec, i: number, inDim: number, outDim: number): void => {
    out.set(layerName(l.weight, i), linearShape(l, inDim, outDim));
    if (hasBias(l.biasRule, cfg)) out.set(layerName(l.bias, i), [outDim]);
  };
  const addNorm = (n: NormSpec, i: number): void => {
    out.set(layerName(n.weight, i), [h]);
    if (n.bias !== null) out.set(layerName(n.bias, i), [h]);
  };

  out.set(spec.embed.tokens, [cfg.vocabSize, h]);
  if (spec.embed.positions !== null) out.set(spec.embed.positions, [cfg.maxPositionEmbeddings, h]);
  for (let i = 0; i < cfg.numLayers; i++) {
    const { attnNorm, mlpNorm, attention, mlp } = spec.layer;
    addNorm(attnNorm, i);
    if (attention.kind === 'fused') {
      addLinear(attention.qkv, i, h, qDim + 2 * kvDim);
    } else {
      addLinear(attention.q, i, h, qDim);
      addLinear(attention.k, i, h, kvDim);
      addLinear(attention.v, i, h, kvDim);
    }
    addLinear(attention.o, i, qDim, h);
    addNorm(mlpNorm, i);
    if (mlp.gate !== null) addLinear(mlp.gate, i, h, cfg.intermediateSize);
    addLinear(mlp.up, i, h, cfg.intermediateSize);
    addLinear(mlp.down, i, cfg.intermediateSize, h);
  }
  addNorm(spec.finalNorm, 0);
  if (!cfg.tieWordEmbeddings) out.set(spec.lmHead.weight, [cfg.vocabSize, h]);
  return out;
}
