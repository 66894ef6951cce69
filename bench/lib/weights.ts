/**
 * Random models for benchmarks: an HF-style config.json object → (spec, config, weights)
 * with every tensor `expectedShapes` lists, filled from a seeded Rng. Rank-1 `*weight`
 * tensors (norm gains) are 1, other rank-1 tensors (biases, norm shifts) are 0, matrices
 * are uniform with the given std (one u32 draw per entry: 124M entries take ~1 s, where
 * Box–Muller normals would take several).
 */
import { Rng } from '../../src/util/rng.js';
import { expectedShapes, getArchSpec, type ArchSpec } from '../../src/model/arch.js';
import { parseModelConfig, type ModelConfig } from '../../src/model/config.js';
import type { Weight } from '../../src/model/weights.js';

export interface RandomModel {
  spec: ArchSpec;
  cfg: ModelConfig;
  weights: Map<string, Weight>;
  /** total parameter count */
  params: number;
}

/** Fills `out` with uniform values of standard deviation `std` (mean 0). */
export function uniformFill(out: Float32Array, std: number, rng: Rng): Float32Array {
  const a = std * Math.sqrt(3) * 2;
  for (let i = 0; i < out.length; i++) out[i] = ((rng.nextU32() >>> 8) / 16777216 - 0.5) * a;
  return out;
}

export function randomModel(hfConfig: Record<string, unknown>, opts: { seed?: number; std?: number } = {}): RandomModel {
  const cfg = parseModelConfig(hfConfig, 'bench config');
  const spec = getArchSpec(cfg.modelType);
  const rng = new Rng(opts.seed ?? 0);
  const std = opts.std ?? 0.02;
  const weights = new Map<string, Weight>();
  let params = 0;
  for (const [name, shape] of expectedShapes(spec, cfg)) {
    const n = shape.reduce((p, d) => p * d, 1);
    const data = new Float32Array(n);
    if (shape.length === 1) data.fill(name.endsWith('weight') ? 1 : 0);
    else uniformFill(data, std, rng);
    weights.set(name, { data, shape: [...shape] });
    params += n;
  }
  return { spec, cfg, weights, params };
}

/** HF config.json of GPT-2 small (124M parameters). */
export const GPT2_SMALL = {
  model_type: 'gpt2',
  vocab_size: 50257,
  n_positions: 1024,
  n_embd: 768,
  n_layer: 12,
  n_head: 12,
  layer_norm_epsilon: 1e-5,
  activation_function: 'gelu_new',
  bos_token_id: 50256,
  eos_token_id: 50256,
} as const;

/** A llama-family config of about 3.9M parameters (GQA 8/4 heads, SwiGLU, untied head). */
export const LLAMA_4M = {
  model_type: 'llama',
  vocab_size: 3072,
  hidden_size: 256,
  intermediate_size: 512,
  num_hidden_layers: 4,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  max_position_embeddings: 512,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  hidden_act: 'silu',
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2,
} as const;
