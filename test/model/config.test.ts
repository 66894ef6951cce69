import { describe, expect, it } from 'vitest';
import { isWiseError, type ErrorCode } from '../../src/util/errors.js';
import { parseModelConfig } from '../../src/model/config.js';
import { ARCH_REGISTRY, SUPPORTED_MODEL_TYPES, editWeightName, expectedShapes, getArchSpec, headWeightName } from '../../src/model/arch.js';
import { HF_FIXTURES, describeShared, readSharedJson } from '../helpers/shared.js';

function expectThrowCode(fn: () => unknown, code: ErrorCode, mentions?: string): void {
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(isWiseError(err), `expected WiseError ${code}, got ${String(err)}`).toBe(true);
  if (isWiseError(err)) {
    expect(err.code).toBe(code);
    if (mentions !== undefined) expect(err.message + JSON.stringify(err.details)).toContain(mentions);
  }
}

const LLAMA = {
  model_type: 'llama',
  vocab_size: 100,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 48,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
  hidden_act: 'silu',
};
const GPT2 = { model_type: 'gpt2', vocab_size: 100, n_embd: 32, n_layer: 2, n_head: 4, n_positions: 64, n_inner: null, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new' };

describe('parseModelConfig', () => {
  it('normalizes gpt2 keys and defaults', () => {
    const c = parseModelConfig(GPT2);
    expect(c).toMatchObject({ arch: 'gpt2', hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 4, headDim: 8, intermediateSize: 128, maxPositionEmbeddings: 64, normEps: 1e-5, ropeTheta: null, tieWordEmbeddings: true, activation: 'gelu_new' });
    expect(parseModelConfig({ ...GPT2, n_inner: 100, tie_word_embeddings: false }).intermediateSize).toBe(100);
    expect(parseModelConfig(GPT2)).toMatchObject({ scaleAttnWeights: true, scaleAttnByInverseLayerIdx: false });
    expect(parseModelConfig({ ...GPT2, scale_attn_weights: false, scale_attn_by_inverse_layer_idx: true })).toMatchObject({ scaleAttnWeights: false, scaleAttnByInverseLayerIdx: true });
    expectThrowCode(() => parseModelConfig({ ...GPT2, scale_attn_by_inverse_layer_idx: 'yes' }), 'WISE_BAD_CONFIG', 'scale_attn_by_inverse_layer_idx');
  });

  it('normalizes llama keys; rope theta from rope_theta or rope_parameters', () => {
    const c = parseModelConfig(LLAMA);
    expect(c).toMatchObject({ arch: 'llama', numKvHeads: 2, headDim: 8, intermediateSize: 48, tieWordEmbeddings: false, activation: 'silu', ropeTheta: 10000, attentionBias: false });
    expect(parseModelConfig({ ...LLAMA, rope_theta: 500000 }).ropeTheta).toBe(500000);
    expect(parseModelConfig({ ...LLAMA, rope_parameters: { rope_theta: 1e6, rope_type: 'default' } }).ropeTheta).toBe(1e6);
    expect(parseModelConfig({ ...LLAMA, rope_theta: 1e6, rope_parameters: { rope_theta: 1e6 } }).ropeTheta).toBe(1e6);
    expect(parseModelConfig({ ...LLAMA, head_dim: 16 }).headDim).toBe(16);
    expect(parseModelConfig({ ...LLAMA, eos_token_id: [1, 2], bos_token_id: 0 })).toMatchObject({ eosTokenIds: [1, 2], bosTokenId: 0, padTokenId: null });
  });

  it('maps mistral to the llama spec', () => {
    const c = parseModelConfig({ ...LLAMA, model_type: 'mistral', sliding_window: 4096 });
    expect(c.modelType).toBe('mistral');
    expect(c.arch).toBe('llama');
    expect(c.slidingWindow).toBe(4096);
    expect(getArchSpec('mistral')).toBe(getArchSpec('llama'));
    expect(parseModelConfig({ ...LLAMA, model_type: 'qwen2', sliding_window: 4096, use_sliding_window: false }).slidingWindow).toBeNull();
  });

  it('sliding window: which layers slide, as transformers decides; a mix of sliding and full layers is refused', () => {
    expect(parseModelConfig({ ...LLAMA, model_type: 'mistral', sliding_window: null }).slidingWindow).toBeNull();
    // Qwen2: with use_sliding_window, layers i >= max_window_layers (default 28) slide, so a 2-layer model with the default has none
    const QWEN = { ...LLAMA, model_type: 'qwen2', sliding_window: 64, use_sliding_window: true };
    expect(parseModelConfig(QWEN).slidingWindow).toBeNull();
    expect(parseModelConfig({ ...QWEN, max_window_layers: 0 }).slidingWindow).toBe(64);
    expect(parseModelConfig({ ...QWEN, max_window_layers: 2 }).slidingWindow).toBeNull();
    expectThrowCode(() => parseModelConfig({ ...QWEN, max_window_layers: 1 }), 'WISE_UNSUPPORTED_MODEL', 'max_window_layers: 1 of 2 layers use sliding-window attention');
    // transformers 5's layer_types
    expect(parseModelConfig({ ...QWEN, layer_types: ['sliding_attention', 'sliding_attention'] }).slidingWindow).toBe(64);
    expect(parseModelConfig({ ...QWEN, layer_types: ['full_attention', 'full_attention'], max_window_layers: 0 }).slidingWindow).toBeNull();
    expectThrowCode(() => parseModelConfig({ ...QWEN, layer_types: ['full_attention', 'sliding_attention'] }), 'WISE_UNSUPPORTED_MODEL', 'layer_types');
    expectThrowCode(() => parseModelConfig({ ...QWEN, layer_types: ['full_attention'] }), 'WISE_BAD_CONFIG', 'layer_types');
    expectThrowCode(() => parseModelConfig({ ...QWEN, max_window_layers: -1 }), 'WISE_BAD_CONFIG', 'max_window_layers');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, model_type: 'mistral', sliding_window: 0 }), 'WISE_BAD_CONFIG', 'sliding_window');
  });

  it('reads RoPE scaling from rope_scaling (transformers 4) or rope_parameters (transformers 5)', () => {
    // Llama-3.1-8B's block, both spellings
    const l31 = { factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192, rope_type: 'llama3' };
    const want = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };
    expect(parseModelConfig({ ...LLAMA, rope_theta: 5e5, rope_scaling: l31 })).toMatchObject({ ropeTheta: 5e5, ropeScaling: want });
    expect(parseModelConfig({ ...LLAMA, rope_parameters: { ...l31, rope_theta: 5e5 } })).toMatchObject({ ropeTheta: 5e5, ropeScaling: want });
    expect(parseModelConfig({ ...LLAMA, rope_scaling: { type: 'linear', factor: 2 } }).ropeScaling).toEqual({ type: 'linear', factor: 2 });
    expect(parseModelConfig({ ...LLAMA, rope_scaling: { type: 'dynamic', factor: 2 } }).ropeScaling).toEqual({ type: 'dynamic', factor: 2 });
    expect(parseModelConfig(LLAMA).ropeScaling).toBeNull();
    expect(parseModelConfig({ ...LLAMA, rope_parameters: { rope_type: 'default', rope_theta: 1e4 } }).ropeScaling).toBeNull();
    // Qwen2.5's YaRN block; beta and truncation defaults as in transformers; original length defaults to max_position_embeddings
    expect(parseModelConfig({ ...LLAMA, model_type: 'qwen2', rope_scaling: { factor: 4.0, original_max_position_embeddings: 32768, type: 'yarn' } }).ropeScaling).toEqual({
      type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 32768, betaFast: 32, betaSlow: 1, attentionFactor: null, mscale: null, mscaleAllDim: null, truncate: true,
    });
    expect(parseModelConfig({ ...LLAMA, rope_scaling: { rope_type: 'yarn', factor: 2, truncate: false } }).ropeScaling).toMatchObject({ originalMaxPositionEmbeddings: 64, truncate: false });
    // transformers 5: a null factor is max_position_embeddings / original_max_position_embeddings
    expect(parseModelConfig({ ...LLAMA, rope_parameters: { rope_type: 'yarn', factor: null, original_max_position_embeddings: 16, rope_theta: 1e4 } }).ropeScaling).toMatchObject({ factor: 4 });
    // learned positions ignore it
    expect(parseModelConfig({ ...GPT2, rope_scaling: { type: 'linear', factor: 2 } }).ropeScaling).toBeNull();
  });

  it('rejects unsupported or malformed rope scaling, naming the field', () => {
    expectThrowCode(() => parseModelConfig({ ...LLAMA, rope_scaling: { type: 'longrope', long_factor: [1], short_factor: [1] } }), 'WISE_UNSUPPORTED_MODEL', 'rope_scaling.type');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, rope_parameters: { rope_type: 'su', rope_theta: 5e5 } }), 'WISE_UNSUPPORTED_MODEL', 'default, linear, dynamic, llama3, yarn');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, rope_parameters: { rope_type: 'llama3', rope_theta: 5e5, factor: 8, high_freq_factor: 4, original_max_position_embeddings: 8192 } }), 'WISE_BAD_CONFIG', 'rope_parameters.low_freq_factor: missing');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, rope_scaling: { type: 'linear' } }), 'WISE_BAD_CONFIG', 'rope_scaling.factor');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, rope_scaling: { type: 'linear', factor: '2' } }), 'WISE_BAD_CONFIG', 'rope_scaling.factor: must be a positive number, got "2"');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 4, high_freq_factor: 1, original_max_position_embeddings: 8192 } }), 'WISE_BAD_CONFIG', 'high_freq_factor');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, rope_scaling: { rope_type: 'yarn', factor: 2, truncate: 'yes' } }), 'WISE_BAD_CONFIG', 'rope_scaling.truncate');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, rope_scaling: 'linear' }), 'WISE_BAD_CONFIG', 'rope_scaling');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, rope_parameters: { rope_type: 'default', rope_theta: 1e4 }, rope_scaling: { type: 'linear', factor: 2 } }), 'WISE_BAD_CONFIG', 'rope_scaling.type = "linear" disagrees with rope_parameters.rope_type = "default"');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, rope_theta: 1e4, rope_parameters: { rope_theta: 1e6 } }), 'WISE_BAD_CONFIG', 'rope_theta');
  });

  it('unknown model_type → WISE_UNSUPPORTED_MODEL naming it and the supported list', () => {
    expectThrowCode(() => parseModelConfig({ ...LLAMA, model_type: 'falcon' }), 'WISE_UNSUPPORTED_MODEL', 'falcon');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, model_type: 'falcon' }), 'WISE_UNSUPPORTED_MODEL', 'gpt2, llama, mistral, qwen2');
  });

  it('validation errors → WISE_BAD_CONFIG naming the field', () => {
    const { hidden_size: _h, ...noHidden } = LLAMA;
    expectThrowCode(() => parseModelConfig(noHidden), 'WISE_BAD_CONFIG', 'hidden_size');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, vocab_size: 0 }), 'WISE_BAD_CONFIG', 'vocab_size');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, num_key_value_heads: 3 }), 'WISE_BAD_CONFIG', 'num_key_value_heads');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, hidden_act: 'tanh' }), 'WISE_BAD_CONFIG', 'hidden_act');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, rms_norm_eps: '1e-5' }), 'WISE_BAD_CONFIG', 'rms_norm_eps');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, tie_word_embeddings: 'yes' }), 'WISE_BAD_CONFIG', 'tie_word_embeddings');
    expectThrowCode(() => parseModelConfig({ ...LLAMA, eos_token_id: 100 }), 'WISE_BAD_CONFIG', 'eos_token_id');
    expectThrowCode(() => parseModelConfig({ ...GPT2, n_head: 5 }), 'WISE_BAD_CONFIG', 'n_head');
    expectThrowCode(() => parseModelConfig({ vocab_size: 3 }), 'WISE_BAD_CONFIG', 'model_type');
    expectThrowCode(() => parseModelConfig([]), 'WISE_BAD_CONFIG');
  });
});

describe('ArchSpec', () => {
  it('registry covers the supported model types', () => {
    expect([...SUPPORTED_MODEL_TYPES].sort()).toEqual(['gpt2', 'llama', 'mistral', 'qwen2']);
    for (const [t, spec] of ARCH_REGISTRY) expect(spec.modelTypes).toContain(t);
  });

  it('expectedShapes follows storage layout and bias rules', () => {
    const g = expectedShapes(getArchSpec('gpt2'), parseModelConfig(GPT2));
    expect(g.get('transformer.h.1.attn.c_attn.weight')).toEqual([32, 96]); // Conv1D [in, out]
    expect(g.get('transformer.h.1.mlp.c_proj.weight')).toEqual([128, 32]);
    expect(g.get('transformer.wpe.weight')).toEqual([64, 32]);
    expect(g.has('lm_head.weight')).toBe(false); // tied
    const cfg = parseModelConfig({ ...LLAMA, attention_bias: true, mlp_bias: true });
    const l = expectedShapes(getArchSpec('llama'), cfg);
    expect(l.get('model.layers.0.self_attn.k_proj.weight')).toEqual([16, 32]); // nn.Linear [out, in], 2 kv heads × 8
    expect(l.get('model.layers.0.self_attn.o_proj.bias')).toEqual([32]);
    expect(l.get('model.layers.1.mlp.down_proj.bias')).toEqual([32]);
    expect(l.get('lm_head.weight')).toEqual([100, 32]);
    const q = expectedShapes(getArchSpec('qwen2'), parseModelConfig({ ...LLAMA, model_type: 'qwen2' }));
    expect(q.get('model.layers.0.self_attn.q_proj.bias')).toEqual([32]);
    expect(q.has('model.layers.0.self_attn.o_proj.bias')).toBe(false);
    expect(editWeightName(getArchSpec('qwen2'), 1)).toBe('model.layers.1.mlp.down_proj.weight');
    expect(headWeightName(getArchSpec('gpt2'), parseModelConfig(GPT2))).toBe('transformer.wte.weight');
    expect(headWeightName(getArchSpec('llama'), cfg)).toBe('lm_head.weight');
  });
});

describeShared('fixture configs', () => {
  it.each(HF_FIXTURES)('%s parses with the README values', (name) => {
    const c = parseModelConfig(readSharedJson(`fixtures/hf/${name}/config.json`));
    expect(c).toMatchObject({ vocabSize: 512, hiddenSize: 64, numLayers: 3, numHeads: 4, headDim: 16, maxPositionEmbeddings: 128, eosTokenIds: [0], bosTokenId: 0 });
    const ref = readSharedJson<{ edit_layer: number; edit_weight: string }>(`fixtures/hf/${name}/reference.json`);
    expect(editWeightName(getArchSpec(c.modelType), ref.edit_layer)).toBe(ref.edit_weight);
    const expect1 = {
      'tiny-gpt2': { numKvHeads: 4, intermediateSize: 256, tieWordEmbeddings: true, activation: 'gelu_new', ropeTheta: null, normEps: 1e-5 },
      'tiny-llama': { numKvHeads: 2, intermediateSize: 176, tieWordEmbeddings: false, activation: 'silu', ropeTheta: 1e4, normEps: 1e-5 },
      'tiny-qwen2': { numKvHeads: 2, intermediateSize: 176, tieWordEmbeddings: true, activation: 'silu', ropeTheta: 1e6, normEps: 1e-6 },
    }[name];
    expect(c).toMatchObject(expect1);
  });
}, ['fixtures/hf']);
