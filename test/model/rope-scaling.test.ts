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
import { expectDecodeMatchesForward, expectPaddedBatchMatches, maxDiff } from '../helpers/model-checks.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { hfFixtureDir } from '../helpers/shared.js';

const YARN = { rope_parameters: { rope_type: 'yarn', factor: 4.0, original_max_position_embeddings: 32, rope_theta: 10000.0 } };
const PROMPT = [5, 17, 300, 42, 7, 99, 250, 3, 64, 128];

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
    await expectDecodeMatchesForward(scaled, PROMPT, 6);
  });

  it('a left-padded batch gives each sequence its logits alone', async () => {
    await expectPaddedBatchMatches(scaled, [PROMPT, PROMPT.slice(0, 4)]);
  });
}, ['fixtures/hf/tiny-llama']);
