/**
 * Qwen2 (HF Qwen2ForCausalLM): Llama's layout plus q/k/v biases (o_proj has none), RoPE (theta
 * usually 1e6), SwiGLU without biases; tie_word_embeddings comes from config.json (HF default
 * false). Reference: transformers/models/qwen2/modeling_qwen2.py.
 */
import type { ArchSpec, BiasRule, LinearSpec } from '../arch.js';
import { LLAMA_SPEC } from './llama.js';

const withBias = (l: LinearSpec, biasRule: BiasRule): LinearSpec => ({ ...l, biasRule });
const att = LLAMA_SPEC.layer.attention;
const mlp = LLAMA_SPEC.layer.mlp;

export const QWEN2_SPEC: ArchSpec = {
  ...LLAMA_SPEC,
  name: 'qwen2',
  modelTypes: ['qwen2'],
  layer: {
    ...LLAMA_SPEC.layer,
    attention:
      att.kind === 'separate'
        ? { kind: 'separate', q: withBias(att.q, 'always'), k: withBias(att.k, 'always'), v: withBias(att.v, 'always'), o: withBias(att.o, 'never') }
        : att,
    mlp: { gate: mlp.gate ? withBias(mlp.gate, 'never') : null, up: withBias(mlp.up, 'never'), down: withBias(mlp.down, 'never') },
  },
  // Qwen2Config: with use_sliding_window, layers i >= max_window_layers (default 28) slide
  config: { ...LLAMA_SPEC.config, defaults: { ...LLAMA_SPEC.config.defaults, maxWindowLayers: 28 } },
};
