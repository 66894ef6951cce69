/**
 * Qwen2 (HF Qwen2ForCausalLM): Llama layout plus q/k/v biases (o_proj has none), RoPE (theta usually 1e6),
 * SwiGLU without biases; tie_word_embeddings comes from config.json (HF default false).
 * Reference: transformers/models/qwen2/modeling_qwen2.py.
 */
import type { ArchSpec, BiasRule, LinearSpec } from '../arch.js';

const linear = (base: string, biasRule: BiasRule): LinearSpec => ({ weight: `${base}.weight`, bias: `${base}.bias`, biasRule, layout: 'out_in' });
const L = 'model.layers.{i}';

export const QWEN2_SPEC: ArchSpec = {
  name: 'qwen2',
  modelTypes: ['qwen2'],
  norm: 'rmsnorm',
  position: 'rope',
  mlpKind: 'swiglu',
  optionalPrefix: null,
  embed: { tokens: 'model.embed_tokens.weight', positions: null },
  layer: {
    attnNorm: { weight: `${L}.input_layernorm.weight`, bias: null },
    mlpNorm: { weight: `${L}.post_attention_layernorm.weight`, bias: null },
    attention: {
      kind: 'separate',
      q: linear(`${L}.self_attn.q_proj`, 'always'),
      k: linear(`${L}.self_attn.k_proj`, 'always'),
      v: linear(`${L}.self_attn.v_proj`, 'always'),
      o: linear(`${L}.self_attn.o_proj`, 'never'),
    },
    mlp: {
      gate: linear(`${L}.mlp.gate_proj`, 'never'),
      up: linear(`${L}.mlp.up_proj`, 'never'),
      down: linear(`${L}.mlp.down_proj`, 'never'),
    },
  },
  finalNorm: { weight: 'model.norm.weight', bias: null },
  lmHead: { weight: 'lm_head.weight', tiedTo: 'model.embed_tokens.weight' },
  config: {
    keys: {
      hiddenSize: ['hidden_size'],
      numLayers: ['num_hidden_layers'],
      numHeads: ['num_attention_heads'],
      numKvHeads: ['num_key_value_heads'],
      intermediateSize: ['intermediate_size'],
      maxPositionEmbeddings: ['max_position_embeddings'],
      normEps: ['rms_norm_eps'],
      activation: ['hidden_act'],
    },
    defaults: { tieWordEmbeddings: false, activation: 'silu', intermediateMultiple: null, normEps: 1e-6, ropeTheta: 10000 },
  },
};
