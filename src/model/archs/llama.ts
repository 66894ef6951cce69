/**
 * Llama (HF LlamaForCausalLM; Mistral uses the same layout): pre-norm RMSNorm, RoPE, separate q/k/v/o
 * nn.Linear [out, in] (biases only when `attention_bias`), SwiGLU MLP gate/up/down (biases when `mlp_bias`),
 * untied head by default. Reference: transformers/models/llama/modeling_llama.py.
 */
import type { ArchSpec, BiasRule, LinearSpec } from '../arch.js';

const linear = (base: string, biasRule: BiasRule): LinearSpec => ({ weight: `${base}.weight`, bias: `${base}.bias`, biasRule, layout: 'out_in' });
const L = 'model.layers.{i}';

export const LLAMA_SPEC: ArchSpec = {
  name: 'llama',
  modelTypes: ['llama', 'mistral'],
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
      q: linear(`${L}.self_attn.q_proj`, 'attentionBias'),
      k: linear(`${L}.self_attn.k_proj`, 'attentionBias'),
      v: linear(`${L}.self_attn.v_proj`, 'attentionBias'),
      o: linear(`${L}.self_attn.o_proj`, 'attentionBias'),
    },
    mlp: {
      gate: linear(`${L}.mlp.gate_proj`, 'mlpBias'),
      up: linear(`${L}.mlp.up_proj`, 'mlpBias'),
      down: linear(`${L}.mlp.down_proj`, 'mlpBias'),
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
    defaults: { tieWordEmbeddings: false, activation: 'silu', intermediateMultiple: null, normEps: 1e-6, ropeTheta: 10000, maxWindowLayers: null },
  },
};
