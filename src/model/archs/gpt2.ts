/**
 * GPT-2 (HF GPT2LMHeadModel): pre-LN with biased LayerNorm, learned positions (wpe), fused c_attn Conv1D
 * [hidden, 3·hidden] split q|k|v, gelu_new 2-matrix MLP, every linear biased and stored [in, out], tied head.
 * Reference: transformers/models/gpt2/modeling_gpt2.py.
 */
import type { ArchSpec, LinearSpec } from '../arch.js';

const P = 'transformer.';
const conv1d = (base: string): LinearSpec => ({ weight: `${base}.weight`, bias: `${base}.bias`, biasRule: 'always', layout: 'in_out' });

export const GPT2_SPEC: ArchSpec = {
  name: 'gpt2',
  modelTypes: ['gpt2'],
  norm: 'layernorm',
  position: 'learned',
  mlpKind: 'gelu',
  optionalPrefix: P,
  embed: { tokens: `${P}wte.weight`, positions: `${P}wpe.weight` },
  layer: {
    attnNorm: { weight: `${P}h.{i}.ln_1.weight`, bias: `${P}h.{i}.ln_1.bias` },
    mlpNorm: { weight: `${P}h.{i}.ln_2.weight`, bias: `${P}h.{i}.ln_2.bias` },
    attention: { kind: 'fused', qkv: conv1d(`${P}h.{i}.attn.c_attn`), o: conv1d(`${P}h.{i}.attn.c_proj`) },
    mlp: { up: conv1d(`${P}h.{i}.mlp.c_fc`), gate: null, down: conv1d(`${P}h.{i}.mlp.c_proj`) },
  },
  finalNorm: { weight: `${P}ln_f.weight`, bias: `${P}ln_f.bias` },
  lmHead: { weight: 'lm_head.weight', tiedTo: `${P}wte.weight` },
  config: {
    keys: {
      hiddenSize: ['n_embd', 'hidden_size'],
      numLayers: ['n_layer', 'num_hidden_layers'],
      numHeads: ['n_head', 'num_attention_heads'],
      numKvHeads: [],
      intermediateSize: ['n_inner'],
      maxPositionEmbeddings: ['n_positions', 'max_position_embeddings'],
      normEps: ['layer_norm_epsilon'],
      activation: ['activation_function'],
    },
    defaults: { tieWordEmbeddings: true, activation: 'gelu_new', intermediateMultiple: 4, normEps: 1e-5, ropeTheta: 10000, maxWindowLayers: null },
  },
};
