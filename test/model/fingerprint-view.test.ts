/**
 * A store records its base model's fingerprint, which hashes the normalized config. The strings below are
 * canonicalJson(config) as the code before the eighteenth session computed it (commit 5477559, run on these
 * folders); a config key added since must not change them, or every store made before would refuse to open.
 */
import { expect, it } from 'vitest';
import { fingerprintView, parseModelConfig } from '../../src/model/config.js';
import { loadModelConfig } from '../../src/model/weights.js';
import { bundledModelDir } from '../../src/config/paths.js';
import { canonicalJson } from '../../src/shards/index.js';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';

const BEFORE: Record<string, string> = {
  'tiny-gpt2': '{"activation":"gelu_new","arch":"gpt2","attentionBias":false,"bosTokenId":0,"eosTokenIds":[0],"headDim":16,"hiddenSize":64,"intermediateSize":256,"maxPositionEmbeddings":128,"mlpBias":false,"modelType":"gpt2","normEps":0.00001,"numHeads":4,"numKvHeads":4,"numLayers":3,"padTokenId":null,"ropeTheta":null,"slidingWindow":null,"tieWordEmbeddings":true,"vocabSize":512}',
  'tiny-llama': '{"activation":"silu","arch":"llama","attentionBias":false,"bosTokenId":0,"eosTokenIds":[0],"headDim":16,"hiddenSize":64,"intermediateSize":176,"maxPositionEmbeddings":128,"mlpBias":false,"modelType":"llama","normEps":0.00001,"numHeads":4,"numKvHeads":2,"numLayers":3,"padTokenId":null,"ropeTheta":10000,"slidingWindow":null,"tieWordEmbeddings":false,"vocabSize":512}',
  'tiny-qwen2': '{"activation":"silu","arch":"qwen2","attentionBias":false,"bosTokenId":0,"eosTokenIds":[0],"headDim":16,"hiddenSize":64,"intermediateSize":176,"maxPositionEmbeddings":128,"mlpBias":false,"modelType":"qwen2","normEps":0.000001,"numHeads":4,"numKvHeads":2,"numLayers":3,"padTokenId":null,"ropeTheta":1000000,"slidingWindow":null,"tieWordEmbeddings":true,"vocabSize":512}',
};
const BUNDLED_BEFORE =
  '{"activation":"silu","arch":"llama","attentionBias":false,"bosTokenId":0,"eosTokenIds":[0],"headDim":32,"hiddenSize":256,"intermediateSize":688,"maxPositionEmbeddings":256,"mlpBias":false,"modelType":"llama","normEps":0.00001,"numHeads":8,"numKvHeads":4,"numLayers":6,"padTokenId":1,"ropeTheta":10000,"slidingWindow":null,"tieWordEmbeddings":false,"vocabSize":4096}';

it("the bundled model's fingerprinted config is what stores made before recorded", async () => {
  expect(canonicalJson(fingerprintView(await loadModelConfig(bundledModelDir())))).toBe(BUNDLED_BEFORE);
});

describeShared('fingerprinted configs of the fixtures', () => {
  for (const [name, want] of Object.entries(BEFORE)) {
    it(`${name}: unchanged by the keys added since`, async () => {
      expect(canonicalJson(fingerprintView(await loadModelConfig(hfFixtureDir(name as 'tiny-gpt2'))))).toBe(want);
    });
  }
  it('a model that uses a later key is fingerprinted differently', async () => {
    const cfg = await loadModelConfig(hfFixtureDir('tiny-llama'));
    const raw = { model_type: 'llama', vocab_size: 512, hidden_size: 64, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, intermediate_size: 176, max_position_embeddings: 128, rms_norm_eps: 1e-5, bos_token_id: 0, eos_token_id: 0 };
    const scaled = parseModelConfig({ ...raw, rope_scaling: { type: 'linear', factor: 2 } });
    expect(canonicalJson(fingerprintView({ ...scaled, ropeScaling: null }))).toBe(canonicalJson(fingerprintView(cfg)));
    expect(canonicalJson(fingerprintView(scaled))).not.toBe(canonicalJson(fingerprintView(cfg)));
  });
}, ['fixtures/hf']);
