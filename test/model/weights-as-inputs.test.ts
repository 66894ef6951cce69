/** Large models: frozen weights become graph inputs (no 2 GB protobuf, no ORT copy); results are identical. */
import { afterEach, expect, it } from 'vitest';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { CausalLM } from '../../src/model/causal-lm.js';

describeShared('weights as graph inputs above the initializer limit', () => {
  const saved = CausalLM.initializerLimitBytes;
  afterEach(() => {
    CausalLM.initializerLimitBytes = saved;
  });
  it('gives the same logits and greedy ids as initializer graphs', async () => {
    const dir = hfFixtureDir('tiny-llama');
    const small = await CausalLM.load(dir);
    const seq = small.tokenizer.encode('The capital of France is');
    const a = await small.forward([seq]);
    const ga = await small.generate(seq, { maxTokens: 5, stopIds: [] });
    CausalLM.initializerLimitBytes = 0;
    const big = await CausalLM.load(dir);
    const b = await big.forward([seq]);
    const gb = await big.generate(seq, { maxTokens: 5, stopIds: [] });
    const g = big.graph('full:base', { batch: 'B', seq: 'T', logits: 'all' });
    expect(g.inputs.map((v) => v.name)).toContain('model.layers.1.mlp.down_proj.weight');
    expect(g.initializers.size).toBeLessThan(10); // only small constants remain stored
    expect(b.logits).toEqual(a.logits);
    expect(gb.ids).toEqual(ga.ids);
  });
}, ['fixtures/hf/tiny-llama']);
