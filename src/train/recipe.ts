/**
 * The bundled model's recipe (models/wise-base): a Llama-architecture model in the exact
 * config layout of Hugging Face's LlamaForCausalLM (the tiny-llama fixture's keys), and the
 * training hyperparameters of `npm run train:base`. A miniature variant serves the tests.
 */
import type { AdamWOptions } from './adamw.js';

export interface Recipe {
  config: Record<string, unknown>;
  batch: number;
  seq: number;
  steps: number;
  peakLr: number;
  warmup: number;
  minLrRatio: number;
  adamw: AdamWOptions;
  clip: number;
  seed: number;
}

/** HF config.json of a Llama model, keys as transformers 5 writes them. */
export function llamaConfigJson(o: { vocab: number; hidden: number; layers: number; heads: number; kvHeads: number; ff: number; ctx: number; eos: number; pad: number | null }): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: o.eos,
    dtype: 'float32',
    eos_token_id: o.eos,
    head_dim: o.hidden / o.heads,
    hidden_act: 'silu',
    hidden_size: o.hidden,
    initializer_range: 0.02,
    intermediate_size: o.ff,
    max_position_embeddings: o.ctx,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: o.heads,
    num_hidden_layers: o.layers,
    num_key_value_heads: o.kvHeads,
    pad_token_id: o.pad,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_parameters: { rope_theta: 10000.0, rope_type: 'default' },
    tie_word_embeddings: false,
    transformers_version: '5.17.0',
    use_cache: true,
    vocab_size: o.vocab,
  };
}

const noDecay = (name: string): boolean => name.endsWith('norm.weight') || name.endsWith('.bias');

/** wise-base: 6.45M parameters (d 256, 6 layers, 8 heads / 4 kv heads, SwiGLU 688, vocab 4096, context 256). */
export const BASE_RECIPE: Recipe = {
  config: llamaConfigJson({ vocab: 4096, hidden: 256, layers: 6, heads: 8, kvHeads: 4, ff: 688, ctx: 256, eos: 0, pad: 1 }),
  batch: 16,
  seq: 64,
  steps: 4000,
  peakLr: 2e-3,
  warmup: 100,
  minLrRatio: 0.05,
  adamw: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, noDecay },
  clip: 1.0,
  seed: 1234,
};

/** A miniature model for CI: trains in seconds. */
export function miniRecipe(vocab: number, steps: number): Recipe {
  return {
    config: llamaConfigJson({ vocab, hidden: 64, layers: 2, heads: 4, kvHeads: 2, ff: 128, ctx: 64, eos: 0, pad: 1 }),
    batch: 8,
    seq: 32,
    steps,
    peakLr: 1e-2,
    warmup: 20,
    minLrRatio: 0.1,
    adamw: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.0, noDecay },
    clip: 1.0,
    seed: 7,
  };
}
