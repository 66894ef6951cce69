/**
 * Checks shared by the tests of model variants (RoPE scaling, sliding windows): the KV-cache decode and a
 * left-padded batch must agree with plain full forwards.
 */
import { expect } from 'vitest';
import type { CausalLM } from '../../src/model/causal-lm.js';

export const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

/** Greedy KV-cache decoding of `steps` tokens: each step's logits equal the full forward of its prefix (1e-4). */
export async function expectDecodeMatchesForward(lm: CausalLM, prompt: number[], steps: number): Promise<void> {
  const r = await lm.generate(prompt, { maxTokens: steps, stopIds: [] }, true);
  const V = lm.config.vocabSize;
  for (let s = 0; s < r.ids.length; s++) {
    const seq = [...prompt, ...r.ids.slice(0, s)];
    const full = (await lm.forward([seq])).logits;
    expect(maxDiff(r.stepLogits![s]!, full.subarray((seq.length - 1) * V, seq.length * V)), `step ${s}`).toBeLessThanOrEqual(1e-4);
  }
}

/** A left-padded batch of `seqs` (the first the longest) gives each sequence its logits alone (1e-4). */
export async function expectPaddedBatchMatches(lm: CausalLM, seqs: number[][]): Promise<void> {
  const V = lm.config.vocabSize;
  const T = seqs[0]!.length;
  const batch = await lm.forward(seqs);
  for (const [b, s] of seqs.entries()) {
    const alone = (await lm.forward([s])).logits;
    expect(maxDiff(batch.logits.subarray((b * T + (T - s.length)) * V, (b + 1) * T * V), alone), `sequence ${b}`).toBeLessThanOrEqual(1e-4);
  }
}
