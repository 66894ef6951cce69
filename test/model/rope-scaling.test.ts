/**
 * A RoPE-scaled checkpoint end to end: the tiny llama fixture with a YaRN block in config.json
 * (transformers 5's rope_parameters spelling). The scaling must reach every path that builds
 * positions: the full forward, KV-cache decoding and left-padded batches.
 * (The tables themselves are checked in test/graph/rope-scaling.test.ts.)
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeShared } from '../helpers/shared.js';
import { fixtureWithConfig } from '../helpers/variant-fixture.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { hfFixtureDir } from '../helpers/shared.js';

const YARN = { rope_parameters: { rope_type: 'yarn', factor: 4.0, original_max_position_embeddings: 32, rope_theta: 10000.0 } };
const PROMPT = [5, 17, 300, 42, 7, 99, 250, 3, 64, 128];

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

describeShared('a YaRN-scaled tiny llama', () => {
  let dir: string;
  let plain: CausalLM;
  let scaled: CausalLM;
  beforeAll(async () => {
    dir = fixtureWithConfig('tiny-llama', YARN);
    plain = await CausalLM.load(hfFixtureDir('tiny-llama'));
    scaled = await CausalLM.load(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the scaling, and it changes the logits from the second position on', async () => {
    expect(scaled.config.ropeScaling).toMatchObject({ type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 32 });
    const V = scaled.config.vocabSize;
    const a = (await plain.forward([PROMPT])).logits;
    const b = (await scaled.forward([PROMPT])).logits;
    // position 0: angle 0, and a one-key softmax ignores the attention factor, so the row is the same
    expect(maxDiff(a.subarray(0, V), b.subarray(0, V))).toBeLessThan(1e-5);
    expect(maxDiff(a.subarray(V), b.subarray(V))).toBeGreaterThan(1e-3);
  });

  it('KV-cache decoding equals the full forward of each prefix', async () => {
    const r = await scaled.generate(PROMPT, { maxTokens: 6, stopIds: [] }, true);
    const V = scaled.config.vocabSize;
    for (let s = 0; s < r.ids.length; s++) {
      const seq = [...PROMPT, ...r.ids.slice(0, s)];
      const full = (await scaled.forward([seq])).logits;
      expect(maxDiff(r.stepLogits![s]!, full.subarray((seq.length - 1) * V, seq.length * V)), `step ${s}`).toBeLessThanOrEqual(1e-4);
    }
  });

  it('a left-padded batch gives each sequence its logits alone', async () => {
    const seqs = [PROMPT, PROMPT.slice(0, 4)];
    const V = scaled.config.vocabSize;
    const batch = await scaled.forward(seqs);
    const T = PROMPT.length;
    for (const [b, s] of seqs.entries()) {
      const alone = (await scaled.forward([s])).logits;
      const rows = batch.logits.subarray((b * T + (T - s.length)) * V, (b + 1) * T * V);
      expect(maxDiff(rows, alone), `sequence ${b}`).toBeLessThanOrEqual(1e-4);
    }
  });
}, ['fixtures/hf/tiny-llama']);
