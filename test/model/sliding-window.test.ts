/**
 * Sliding-window attention (Mistral's `sliding_window`; Qwen2's with `use_sliding_window`): the mask, and the
 * tiny llama fixture loaded as a Mistral with a window of 3 end to end. The window is checked by a property
 * that does not use the mask code: with RoPE, attention inside a window depends on relative positions only,
 * so the logits at position t equal the last logits of its receptive field (L·(W − 1) + 1 tokens) run alone.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionMaskData } from '../../src/graph/index.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { fixtureWithConfig } from '../helpers/variant-fixture.js';
import { expectDecodeMatchesForward, expectPaddedBatchMatches, maxDiff } from '../helpers/model-checks.js';

const W = 3;
const PROMPT = [5, 17, 300, 42, 7, 99, 250, 3, 64, 128, 11, 480];

describe('attentionMaskData with a sliding window', () => {
  it('keeps the last `window` real tokens up to the query; padding does not count', () => {
    // one row, left-padded by 2: key mask 0 0 1 1 1 1; all 6 as queries
    const m = Array.from(attentionMaskData([0, 0, 1, 1, 1, 1], 1, 6, 6, 2).data as Uint8Array);
    const rows = Array.from({ length: 6 }, (_, i) => m.slice(i * 6, i * 6 + 6).join(''));
    expect(rows.slice(2)).toEqual(['001000', '001100', '000110', '000011']);
    // decode: one new query after 5 cached tokens, window 3
    expect(Array.from(attentionMaskData([1, 1, 1, 1, 1, 1], 1, 1, 6, 3).data as Uint8Array).join('')).toBe('000111');
    // no window: causal AND padding only
    expect(Array.from(attentionMaskData([1, 1, 1], 1, 1, 3).data as Uint8Array).join('')).toBe('111');
  });
});

describeShared('the tiny llama as a Mistral with sliding_window 3', () => {
  let dir: string;
  let plain: CausalLM;
  let mistral: CausalLM;
  beforeAll(async () => {
    dir = fixtureWithConfig('tiny-llama', { model_type: 'mistral', sliding_window: W });
    plain = await CausalLM.load(hfFixtureDir('tiny-llama'));
    mistral = await CausalLM.load(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('position t sees exactly the last L·(W − 1) + 1 tokens: its logits equal those of that span alone', async () => {
    expect(mistral.config.slidingWindow).toBe(W);
    const V = mistral.config.vocabSize;
    // each layer reaches W − 1 tokens further back, so after L layers the receptive field is L·(W − 1) + 1
    const R = mistral.config.numLayers * (W - 1) + 1;
    expect(R).toBe(7);
    const full = (await mistral.forward([PROMPT])).logits;
    const unwindowed = (await plain.forward([PROMPT])).logits;
    const last = async (span: number[]): Promise<Float32Array> => (await mistral.forward([span])).logits.subarray((span.length - 1) * V);
    for (let t = 0; t < PROMPT.length; t++) {
      const row = full.subarray(t * V, (t + 1) * V);
      const plainRow = unwindowed.subarray(t * V, (t + 1) * V);
      if (t < W) {
        expect(maxDiff(row, plainRow), `t=${t}: the window does not bind yet`).toBeLessThanOrEqual(1e-5);
        continue;
      }
      expect(maxDiff(row, plainRow), `t=${t}: the window binds`).toBeGreaterThan(1e-3);
      if (t < R - 1) continue;
      expect(maxDiff(row, await last(PROMPT.slice(t - R + 1, t + 1))), `t=${t}`).toBeLessThanOrEqual(1e-4);
      expect(maxDiff(row, await last(PROMPT.slice(t - R + 2, t + 1))), `t=${t}: one token fewer`).toBeGreaterThan(1e-3);
    }
  });

  it('KV-cache decoding equals the full forward of each prefix', async () => {
    await expectDecodeMatchesForward(mistral, PROMPT, 5);
  });

  it('a left-padded batch gives each sequence its logits alone', async () => {
    await expectPaddedBatchMatches(mistral, [PROMPT, PROMPT.slice(0, 6)]);
  });
}, ['fixtures/hf/tiny-llama']);
